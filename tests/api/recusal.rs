//! Recusal: staff named in a report, or whose filed close relatives are, are kept away from it.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tipoff::domain::Role;
use tipoff::entities::{recusal, relative_filing, report, report_name, staff_name};
use tipoff::services::ServiceError;
use tipoff::services::access::not_recused_condition;
use tipoff::services::recusal::{
    file_relative, is_recused, list_relatives, recusal_reason, recuse_manually, recused_report_ids,
    recused_users, remove_relative,
};
use uuid::Uuid;

use crate::helpers::reports::submit;
use crate::helpers::storage::{contains_bytes, rows_where, stored_bytes};
use crate::helpers::{TestApp, logs};
use crate::on_both_backends;

on_both_backends!(
    a_staff_member_known_as_wang_shuji_is_recused_however_the_name_is_spaced,
    a_cadre_named_only_in_the_description_is_recused,
    staff_not_named_are_not_recused,
    a_relative_filed_after_the_report_recuses_the_staff_member,
    an_inspector_is_recused_by_hand_only_with_a_reason,
    case_queries_leave_out_exactly_the_recused_reports,
    reports_naming_one_cadre_share_blind_indexes_and_nothing_in_clear,
);

/// An inspector known also by `aliases`.
async fn inspector(app: &TestApp, username: &str, display_name: &str, aliases: &[&str]) -> Uuid {
    app.create_staff(username, display_name, &[Role::Inspector], aliases)
        .await
}

/// A report from Qingshan naming `subject` (if any) and saying `description`.
async fn report_about(app: &TestApp, subject: Option<&str>, description: &str) -> report::Model {
    report_in(app, "qingshan-village", subject, description).await
}

async fn report_in(
    app: &TestApp,
    village: &str,
    subject: Option<&str>,
    description: &str,
) -> report::Model {
    let mut body = json!({
        "category": "nepotism",
        "village": village,
        "description": description,
        "anonymous": true
    });
    if let Some(subject) = subject {
        body["subject"] = Value::from(subject);
    }
    submit(app, body).await.report
}

/// Files `name` as a close relative of `staff`, as `admin` enters it.
async fn file(
    app: &TestApp,
    staff: Uuid,
    name: &str,
    relation: Option<&str>,
    admin: Uuid,
) -> Result<Uuid, ServiceError> {
    file_relative(
        app.db(),
        &app.state.keyring,
        staff,
        name,
        relation,
        admin,
        Utc::now(),
    )
    .await
}

async fn recused(app: &TestApp, report_id: Uuid, user_id: Uuid) -> bool {
    is_recused(app.db(), report_id, user_id).await.unwrap()
}

async fn source_of(app: &TestApp, report_id: Uuid, user_id: Uuid) -> String {
    recusal::Entity::find_by_id((report_id, user_id))
        .one(app.db())
        .await
        .unwrap()
        .expect("a recusal")
        .source
}

async fn a_staff_member_known_as_wang_shuji_is_recused_however_the_name_is_spaced(app: TestApp) {
    let wang = inspector(&app, "wang", "王建国", &["王书记"]).await;
    let li = inspector(&app, "li", "李华", &[]).await;
    let description = "他把低保名额给了自己家亲戚";

    for subject in [
        "王 书记",
        "王书记，村支书",
        "王　书记",
        "“王书记”（村支书）",
    ] {
        let report = report_about(&app, Some(subject), description).await;
        assert!(recused(&app, report.id, wang).await, "{subject}");
        assert_eq!(source_of(&app, report.id, wang).await, "name");
        assert!(!recused(&app, report.id, li).await, "{subject}");
        assert_eq!(
            recused_users(app.db(), report.id).await.unwrap(),
            vec![wang]
        );
    }

    // Someone joining the office later, known by the same name, is recused from the old
    // reports through the blind index alone: the reports stay sealed.
    let reports = report::Entity::find().all(app.db()).await.unwrap();
    let later = inspector(&app, "wang2", "王立新", &["王 书记"]).await;
    for report in &reports {
        assert!(recused(&app, report.id, later).await);
    }
}

async fn a_cadre_named_only_in_the_description_is_recused(app: TestApp) {
    let zhao = inspector(&app, "zhao", "赵德柱", &[]).await;
    let nickname = inspector(&app, "sun", "孙红", &["孙 会计"]).await;
    // A bare title as an alias must not recuse its holder from every report saying "书记".
    let titled = inspector(&app, "qian", "钱芳", &["书记"]).await;
    let other = inspector(&app, "zhou", "周敏", &[]).await;

    let report = report_about(
        &app,
        Some("村干部"),
        "村里书记赵 德柱把低保给了他小舅子，孙会计也知道",
    )
    .await;
    assert!(recused(&app, report.id, zhao).await);
    assert!(recused(&app, report.id, nickname).await);
    assert!(!recused(&app, report.id, titled).await);
    assert!(!recused(&app, report.id, other).await);
    assert_eq!(source_of(&app, report.id, zhao).await, "name");
}

async fn staff_not_named_are_not_recused(app: TestApp) {
    let chen = inspector(&app, "chen", "陈静", &["陈主任"]).await;
    let report = report_about(&app, Some("王某，村委会主任"), "王某把低保给了他的亲戚").await;
    assert!(!recused(&app, report.id, chen).await);
    assert!(recused_users(app.db(), report.id).await.unwrap().is_empty());
    assert!(recused_report_ids(app.db(), chen).await.unwrap().is_empty());
    let report = report_about(&app, None, "有人把低保给了自己亲戚").await;
    assert!(recused_users(app.db(), report.id).await.unwrap().is_empty());
}

async fn a_relative_filed_after_the_report_recuses_the_staff_member(app: TestApp) {
    let admin = inspector(&app, "admin", "管理员", &[]).await;
    let zhou = inspector(&app, "zhou", "周明", &[]).await;
    let wu = inspector(&app, "wu", "吴刚", &[]).await;
    let relative = "欧阳晓岚";

    let before = report_about(&app, Some("欧阳 晓岚，网格员"), "她家条件很好还在领低保").await;
    assert!(!recused(&app, before.id, zhou).await);

    let filing = file(&app, zhou, "欧阳　晓岚", Some("配偶"), admin)
        .await
        .unwrap();
    assert!(
        recused(&app, before.id, zhou).await,
        "a later filing still recuses"
    );
    assert_eq!(source_of(&app, before.id, zhou).await, "relative");
    assert!(!recused(&app, before.id, wu).await);

    // Reports after the filing: named in the subject, or only in the description.
    let named = report_about(&app, Some("欧阳晓岚"), "她家条件很好还在领低保").await;
    assert!(recused(&app, named.id, zhou).await);
    let described = report_about(&app, None, "网格员欧阳晓岚家条件很好还在领低保").await;
    assert!(recused(&app, described.id, zhou).await);
    assert_eq!(source_of(&app, described.id, zhou).await, "relative");

    let listed = list_relatives(app.db(), &app.state.keyring, zhou)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, filing);
    assert_eq!(listed[0].1.as_str(), "欧阳　晓岚");
    assert_eq!(listed[0].2.as_deref().map(String::as_str), Some("配偶"));

    // Not in clear anywhere: not in the filing, not in the blind index, not in the logs.
    let needles: Vec<&[u8]> = vec![
        relative.as_bytes(),
        "欧阳".as_bytes(),
        "晓岚".as_bytes(),
        "配偶".as_bytes(),
    ];
    for row in relative_filing::Entity::find().all(app.db()).await.unwrap() {
        for field in [&row.name, row.relation.as_ref().unwrap(), &row.dek_wrapped] {
            for needle in &needles {
                assert!(!contains_bytes(field, needle));
            }
        }
    }
    let indexes = rows_where(&app, staff_name::Column::FilingId, filing).await;
    assert_eq!(indexes.len(), 1);
    for row in &indexes {
        assert_eq!(row.user_id, zhou);
        assert_eq!(row.source, "relative");
        for needle in &needles {
            assert!(!contains_bytes(&row.name_index, needle));
            assert!(!contains_bytes(row.index_key_id.as_bytes(), needle));
        }
    }
    // And nowhere else: every stored byte (the SQLite files, or every PostgreSQL row as text).
    let stored = stored_bytes(&app).await;
    for needle in &needles {
        assert!(!contains_bytes(&stored, needle));
    }
    assert!(!logs().contents().contains(relative));

    // Withdrawing the filing keeps the recusals it caused, and matches nothing new.
    assert!(
        remove_relative(app.db(), &app.state.keyring, filing, admin, Utc::now())
            .await
            .unwrap()
    );
    assert!(
        list_relatives(app.db(), &app.state.keyring, zhou)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        rows_where(&app, staff_name::Column::FilingId, filing)
            .await
            .is_empty()
    );
    assert!(recused(&app, before.id, zhou).await);
    let after = report_about(&app, Some("欧阳晓岚"), "她家条件很好还在领低保").await;
    assert!(!recused(&app, after.id, zhou).await);

    // A filing too short to ever match is refused rather than silently useless.
    let refused = file(&app, zhou, " 王 ", None, admin).await;
    assert!(matches!(refused, Err(ServiceError::Invalid(_))));
}

async fn an_inspector_is_recused_by_hand_only_with_a_reason(app: TestApp) {
    let head = inspector(&app, "head", "郑主任", &[]).await;
    let feng = inspector(&app, "feng", "冯涛", &[]).await;
    let report = report_about(&app, Some("王某"), "王某把低保给了他的亲戚").await;
    assert!(!recused(&app, report.id, feng).await);

    for blank in ["", "   ", "\u{3000}"] {
        let refused = recuse_manually(
            app.db(),
            &app.state.keyring,
            report.id,
            feng,
            head,
            blank,
            Utc::now(),
        )
        .await;
        assert!(
            matches!(refused, Err(ServiceError::Invalid(_))),
            "{blank:?}"
        );
        assert!(!recused(&app, report.id, feng).await);
    }

    let reason = "冯涛与被举报人是邻居";
    let made = recuse_manually(
        app.db(),
        &app.state.keyring,
        report.id,
        feng,
        head,
        reason,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(made);
    assert!(recused(&app, report.id, feng).await);
    let row = recusal::Entity::find_by_id((report.id, feng))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.source, "manual");
    assert_eq!(row.by_user, Some(head));
    let sealed = row.reason.expect("a sealed reason");
    assert!(!contains_bytes(&sealed, "邻居".as_bytes()));
    assert!(!contains_bytes(
        &stored_bytes(&app).await,
        "邻居".as_bytes()
    ));
    let opened = recusal_reason(app.db(), &app.state.keyring, report.id, feng)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.as_str(), reason);

    // Asking again changes nothing.
    let again = recuse_manually(
        app.db(),
        &app.state.keyring,
        report.id,
        feng,
        head,
        "另一个理由",
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(!again);
    assert_eq!(
        recusal_reason(app.db(), &app.state.keyring, report.id, feng)
            .await
            .unwrap()
            .unwrap()
            .as_str(),
        reason
    );
}

async fn case_queries_leave_out_exactly_the_recused_reports(app: TestApp) {
    let admin = inspector(&app, "admin", "管理员", &[]).await;
    let jiang = inspector(&app, "jiang", "蒋勇", &["蒋书记"]).await;
    let han = inspector(&app, "han", "韩梅", &[]).await;

    let named = report_about(&app, Some("蒋书记"), "把低保给了亲戚").await;
    let by_hand = report_about(&app, Some("王某"), "把低保给了亲戚").await;
    let clear = report_about(&app, Some("王某"), "把低保给了别人家的亲戚").await;
    recuse_manually(
        app.db(),
        &app.state.keyring,
        by_hand.id,
        jiang,
        admin,
        "回避：近亲属",
        Utc::now(),
    )
    .await
    .unwrap();

    let mut expected = vec![named.id, by_hand.id];
    expected.sort();
    assert_eq!(recused_report_ids(app.db(), jiang).await.unwrap(), expected);

    let visible = visible_to(&app, jiang).await;
    assert_eq!(visible, vec![clear.id]);

    let mut everything = visible_to(&app, han).await;
    everything.sort();
    let mut all = vec![named.id, by_hand.id, clear.id];
    all.sort();
    assert_eq!(everything, all);
}

/// The reports a query with the recusal condition for `user` finds.
async fn visible_to(app: &TestApp, user: Uuid) -> Vec<Uuid> {
    report::Entity::find()
        .filter(not_recused_condition(user))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

async fn names_of(app: &TestApp, report_id: Uuid) -> Vec<report_name::Model> {
    rows_where(app, report_name::Column::ReportId, report_id).await
}

async fn reports_naming_one_cadre_share_blind_indexes_and_nothing_in_clear(app: TestApp) {
    let wang = inspector(&app, "wang", "王建国", &["王书记"]).await;
    let first = report_in(
        &app,
        "qingshan-village",
        Some("王 书记，村支书"),
        "低保给了亲戚",
    )
    .await;
    let again = report_in(&app, "qingshan-village", Some("王书记"), "又把低保给了亲戚").await;
    let elsewhere = report_in(&app, "xinmin-village", Some("王书记"), "低保给了亲戚").await;
    let two = report_in(
        &app,
        "xinmin-village",
        Some("王书记、李会计"),
        "低保给了亲戚",
    )
    .await;

    let (first, again, elsewhere, two) = (
        names_of(&app, first.id).await,
        names_of(&app, again.id).await,
        names_of(&app, elsewhere.id).await,
        names_of(&app, two.id).await,
    );
    let [first, again, elsewhere] = [first, again, elsewhere].map(|names| {
        assert_eq!(names.len(), 1, "村支书 alone names nobody");
        names.into_iter().next().unwrap()
    });
    assert_eq!(two.len(), 2);

    // The name alone matches across villages; name and village only within one.
    assert_eq!(first.name_index, again.name_index);
    assert_eq!(first.name_index, elsewhere.name_index);
    assert_eq!(first.place_index, again.place_index);
    assert_ne!(first.place_index, elsewhere.place_index);
    assert_ne!(first.name_index, first.place_index);
    assert!(two.iter().any(|n| n.place_index == elsewhere.place_index));

    // The staff member's alias has the very same blind index: that is what recusal joins on.
    let alias_index = staff_name::Entity::find()
        .filter(staff_name::Column::UserId.eq(wang))
        .filter(staff_name::Column::Source.eq("alias"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .name_index;
    assert_eq!(alias_index, first.name_index);

    for row in [&first, &again, &elsewhere] {
        for needle in ["王".as_bytes(), "书记".as_bytes()] {
            assert!(!contains_bytes(&row.name_index, needle));
            assert!(!contains_bytes(&row.place_index, needle));
        }
    }
}
