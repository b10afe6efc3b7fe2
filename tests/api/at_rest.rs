//! What is stored: sealed values that fail closed when altered, moved or opened with the wrong key.

use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::json;
use tipoff::crypto::{CryptoError, Keyring};
use tipoff::entities::report;
use tipoff::services::ServiceError;
use tipoff::services::access::{OpenedReport, open_report};

use crate::helpers::reports::submit;
use crate::helpers::{TestApp, sqlite_app};
use crate::on_both_backends;

on_both_backends!(
    a_sealed_value_that_was_altered_fails_to_open,
    a_sealed_value_copied_into_another_report_fails_to_open,
    the_wrong_keyring_fails_closed,
    an_anonymous_report_keeps_its_date_but_not_its_time,
);

/// Stores a report saying `description`, anonymous or with the reporter's name and phone.
async fn stored(app: &TestApp, description: &str, anonymous: bool) -> report::Model {
    let mut body = json!({"category": "favor", "description": description, "anonymous": anonymous});
    if !anonymous {
        body["reporter"] = json!({"name": "钱七", "phone": "13912345678"});
    }
    submit(app, body).await.report
}

/// Writes `altered` over its report's row, then opens that report again.
async fn reopen(
    app: &TestApp,
    altered: report::ActiveModel,
) -> Result<Option<OpenedReport>, ServiceError> {
    let id = altered.id.clone().unwrap();
    altered.update(app.db()).await.unwrap();
    open_report(app.db(), &app.state.keyring, id).await
}

async fn a_sealed_value_that_was_altered_fails_to_open(app: TestApp) {
    let row = stored(&app, "第一份举报的内容", true).await;
    let opened = open_report(app.db(), &app.state.keyring, row.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.description.as_str(), "第一份举报的内容");

    let mut altered = row.description.clone();
    let last = altered.len() - 1;
    altered[last] ^= 0x01;
    let mut active: report::ActiveModel = row.clone().into();
    active.description = Set(altered);

    let result = reopen(&app, active).await;
    assert!(
        matches!(result, Err(ServiceError::Crypto(CryptoError::Open))),
        "altered value must not open"
    );
}

async fn a_sealed_value_copied_into_another_report_fails_to_open(app: TestApp) {
    let first = stored(&app, "第一份举报的内容", true).await;
    let second = stored(&app, "第二份举报的内容", true).await;
    assert_ne!(first.id, second.id);

    // The other report's description, moved into this row: same table, same field.
    let mut active: report::ActiveModel = second.clone().into();
    active.description = Set(first.description.clone());
    let result = reopen(&app, active).await;
    assert!(matches!(
        result,
        Err(ServiceError::Crypto(CryptoError::Open))
    ));

    // And the other report's whole envelope (its wrapped DEK too) is bound to that report.
    let mut active: report::ActiveModel = second.clone().into();
    active.description = Set(first.description.clone());
    active.dek_id = Set(first.dek_id);
    active.dek_kek_id = Set(first.dek_kek_id.clone());
    active.dek_wrapped = Set(first.dek_wrapped.clone());
    let result = reopen(&app, active).await;
    assert!(matches!(
        result,
        Err(ServiceError::Crypto(CryptoError::Open))
    ));

    // A field moved to another column of the same row fails as well.
    let third = stored(&app, "第三份举报的内容", false).await;
    let mut active: report::ActiveModel = third.clone().into();
    active.description = third.reporter_name.clone().map(Set).unwrap();
    assert!(reopen(&app, active).await.is_err());
}

async fn the_wrong_keyring_fails_closed(app: TestApp) {
    let row = stored(&app, "用正确的钥匙才能打开", true).await;
    let stranger = Keyring::generate();
    let result = open_report(app.db(), &stranger, row.id).await;
    match result {
        Err(ServiceError::Crypto(CryptoError::UnknownKey(id))) => {
            assert_eq!(id, row.dek_kek_id, "the error names the missing key")
        }
        Err(other) => panic!("expected an unknown-key error, got {other}"),
        Ok(_) => panic!("a stranger's keyring opened the report"),
    }
    let message = format!("{}", ServiceError::Crypto(CryptoError::Open));
    assert!(message.contains("failed to open"), "{message}");
}

async fn an_anonymous_report_keeps_its_date_but_not_its_time(app: TestApp) {
    // The row has no field for a time of day (tests/api/time_of_day.rs reads every value).
    let anonymous = stored(&app, "匿名举报只留日期", true).await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    assert!((anonymous.received_on - today).num_days().abs() <= 1);
    assert_eq!(anonymous.id.get_version_num(), 4, "random report ids");

    // Nor does a real-name one: its time would bracket the anonymous ones beside it.
    let real_name = stored(&app, "实名举报也只留日期", false).await;
    assert_eq!(real_name.received_on, anonymous.received_on);
    assert_ne!(anonymous.case_number, real_name.case_number);
}

#[tokio::test]
async fn sqlite_runs_durable_and_shredding() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = sqlite_app().await;
    let db = app.db();
    for (pragma, expected) in [
        ("journal_mode", "wal"),
        ("synchronous", "2"),
        ("secure_delete", "1"),
    ] {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("PRAGMA {pragma}"),
            ))
            .await
            .unwrap()
            .unwrap();
        let value: String = row
            .try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
            .unwrap();
        assert_eq!(value.to_lowercase(), expected, "PRAGMA {pragma}");
    }
}
