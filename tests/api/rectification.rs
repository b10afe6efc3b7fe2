//! Rectification (整改) of a substantiated case: measures with who is responsible and by
//! when, results on the day they happened (support stopped, money recovered, people dealt
//! with), an overdue measure in the daily digest and the ledger, and every text sealed.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use sea_orm::EntityTrait;
use tipoff::domain::Role;
use tipoff::entities::{outbox, rectification_measure, rectification_result};
use tipoff::services::digest::{self as digests, DigestRun, KIND_DIGEST};

use crate::helpers::mail::POST;
use crate::helpers::reports::report_on_the_secretary;
use crate::helpers::storage::{audit_entries, rows_where};
use crate::helpers::{Staff, TestApp};
use crate::on_both_backends;

on_both_backends!(a_substantiated_case_is_rectified_and_an_overdue_measure_is_chased);

/// Posts a rectification form and expects it refused with `reason`, the page shown again.
async fn refused(
    inspector: &Staff<'_>,
    path: &str,
    fields: &[(&str, &str)],
    reason: &str,
) -> String {
    let answer = inspector.post(path, fields).await;
    assert_eq!(answer.status(), 422, "{fields:?}");
    let page = answer.text().await.unwrap();
    assert!(page.contains(reason), "{reason} for {fields:?} in {page}");
    page
}

async fn a_substantiated_case_is_rectified_and_an_overdue_measure_is_chased(app: TestApp) {
    app.set_clock("2024-09-20 10:00");
    let li = app
        .inspector_with_mail("li.jc", "李监察", "li.jc@example.org")
        .await;
    let case = report_on_the_secretary(&app, "书记的弟弟开着小车还在吃低保", None)
        .await
        .report;
    let inspector = app.sign_in("li.jc").await;
    let path = |what: &str| format!("/staff/cases/{}/{what}", case.id);
    let page_path = format!("/staff/cases/{}?lang=zh", case.id);
    let measure = path("rectification");
    let result = path("rectification/results");
    let done = path("rectification/done");
    let first = [
        ("measure", "停发刘某某弟弟家庭低保并追回违规资金"),
        ("responsible", "大路街道民政事务岗"),
        ("due", "2024-09-27"),
    ];

    // Nothing to rectify before a finding of fact.
    inspector
        .work_case(case.id, &[("status", &[("transition", "accept")])])
        .await;
    assert!(
        !inspector
            .page(&page_path)
            .await
            .contains("id=\"add-measure\"")
    );
    refused(
        &inspector,
        &measure,
        &first,
        "核查结论为属实或部分属实的线索才能登记整改",
    )
    .await;
    let concluded = [
        ("transition", "conclude"),
        ("outcome", "substantiated"),
        ("text", "其弟名下有车辆，不符合低保条件"),
    ];
    inspector
        .work_case(
            case.id,
            &[
                ("status", &[("transition", "start_verifying")]),
                ("status", &concluded),
            ],
        )
        .await;
    inspector
        .post_for(
            &path("assign"),
            &[("assignee", &li.user_id.to_string())],
            303,
        )
        .await;
    assert!(
        inspector
            .page(&page_path)
            .await
            .contains("id=\"add-measure\"")
    );

    // A measure needs what, who and by when; what was typed comes back.
    let page = refused(
        &inspector,
        &measure,
        &[
            ("measure", "对村民政专干诫勉谈话"),
            ("responsible", " "),
            ("due", "2024-10-15"),
        ],
        "请填写：责任单位或责任人",
    )
    .await;
    assert!(page.contains("对村民政专干诫勉谈话</textarea>"), "{page}");
    refused(
        &inspector,
        &measure,
        &[
            ("measure", "x"),
            ("responsible", "y"),
            ("due", "2024-09-01"),
        ],
        "日期不能早于收到举报的日期",
    )
    .await;
    for fields in [
        &first[..],
        &[
            ("measure", "对村民政专干诫勉谈话"),
            ("responsible", "青山村党支部"),
            ("due", "2024-10-15"),
        ],
    ] {
        assert_eq!(inspector.post(&measure, fields).await.status(), 303);
    }

    // Results, each on the day it happened.
    app.set_clock("2024-09-26 10:00");
    let inspector = app.sign_in("li.jc").await;
    let recovered = [
        ("measure", "1"),
        ("kind", "funds_recovered"),
        ("on", "2024-09-25"),
        ("amount", "3,600"),
    ];
    refused(&inspector, &result, &recovered[..3], "请填写：金额（元）").await;
    refused(
        &inspector,
        &result,
        &[
            ("measure", "1"),
            ("kind", "funds_recovered"),
            ("on", "2024-09-25"),
            ("amount", "三千"),
        ],
        "金额请填写大于 0 的数字",
    )
    .await;
    refused(
        &inspector,
        &result,
        &[
            ("measure", "1"),
            ("kind", "support_stopped"),
            ("on", "2024-09-27"),
        ],
        "日期不能晚于今天",
    )
    .await;
    refused(
        &inspector,
        &result,
        &[
            ("measure", "9"),
            ("kind", "support_stopped"),
            ("on", "2024-09-25"),
        ],
        "请选择整改措施",
    )
    .await;
    for fields in [
        &recovered[..],
        &[
            ("measure", "1"),
            ("kind", "support_stopped"),
            ("on", "2024-09-25"),
            ("count", "1"),
        ],
        &[
            ("measure", "2"),
            ("kind", "admonition"),
            ("on", "2024-09-26"),
            ("detail", "对村民政专干张某某诫勉谈话"),
        ],
    ] {
        assert_eq!(
            inspector.post(&result, fields).await.status(),
            303,
            "{fields:?}"
        );
    }
    let finished = [("measure", "2"), ("on", "2024-09-26")];
    assert_eq!(inspector.post(&done, &finished).await.status(), 303);
    refused(&inspector, &done, &finished, "这项整改措施已经登记完成").await;

    // After the National Day week, measure 1 is late: the case page, the digest and the
    // ledger say so; measure 2 is done.
    app.set_clock("2024-10-09 08:05");
    let inspector = app.sign_in("li.jc").await;
    let page = inspector.page(&page_path).await;
    for expected in [
        "停发刘某某弟弟家庭低保并追回违规资金",
        "大路街道民政事务岗",
        "2024-09-25 追回资金，3,600.00 元",
        "2024-09-25 停发救助 1 户",
        "2024-09-26 诫勉谈话 1 人：对村民政专干张某某诫勉谈话",
        "已逾期",
        "2024-09-26 完成",
        "记录整改结果",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }

    assert!(matches!(
        digests::enqueue_digests(
            app.db(),
            &app.state.routing,
            &app.state.deadlines,
            8,
            app.now()
        )
        .await
        .unwrap(),
        DigestRun::Written(_)
    ));
    let digests: Vec<outbox::Model> = rows_where(&app, outbox::Column::Kind, KIND_DIGEST).await;
    for address in [POST, "li.jc@example.org"] {
        let mail = digests
            .iter()
            .find(|m| m.recipient == address)
            .unwrap_or_else(|| panic!("a digest to {address}"));
        assert!(mail.subject.contains("整改逾期 1 项"), "{}", mail.subject);
        for body in [&mail.body_text, &mail.body_html] {
            assert!(
                body.contains(&case.case_number)
                    && body.contains("整改措施 1")
                    && body.contains("2024-09-27"),
                "{body}"
            );
            assert!(!body.contains("整改措施 2"), "a done measure is not chased");
            assert!(
                !body.contains("刘某某") && !body.contains("停发"),
                "no content"
            );
        }
    }

    let xlsx = inspector.get("/staff/cases/ledger.xlsx").await;
    let mut book = Xlsx::new(Cursor::new(xlsx.bytes().await.unwrap().to_vec())).unwrap();
    let rows: Vec<Vec<Data>> = book
        .worksheet_range("台账")
        .unwrap()
        .rows()
        .map(<[Data]>::to_vec)
        .collect();
    let at = |header: &str| rows[1].iter().position(|h| *h == header).unwrap();
    let line = &rows[2];
    assert_eq!(
        line[at("整改情况")].to_string(),
        "整改中（已完成 1/2 项），逾期 1 项"
    );
    assert_eq!(line[at("追回资金（元）")], Data::Float(3600.0));
    let csv = inspector.get("/staff/cases/ledger.csv?content=none").await;
    let csv = csv.text().await.unwrap();
    assert!(
        csv.contains("整改中（已完成 1/2 项），逾期 1 项") && csv.contains("3600.00"),
        "{csv}"
    );

    // Sealed at rest; the audit log names the case, never the content.
    let measures = rectification_measure::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(measures.len(), 2);
    let results = rectification_result::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    let stored: Vec<u8> = measures
        .iter()
        .flat_map(|m| [m.measure.clone(), m.responsible.clone()])
        .chain(results.iter().map(|r| r.detail.clone()))
        .flatten()
        .flatten()
        .collect();
    for clear in ["停发刘某某", "民政事务岗", "青山村党支部", "张某某"] {
        assert!(
            !stored.windows(clear.len()).any(|w| w == clear.as_bytes()),
            "{clear} stored in clear"
        );
    }
    let audited = audit_entries(&app, "rectification").await;
    assert_eq!(audited.len(), 2 + 3 + 1, "every write is audited");
    assert!(audited.iter().all(|e| e.detail.contains(&case.case_number)));
    assert!(
        audited
            .iter()
            .all(|e| !e.detail.contains("刘某某") && !e.detail.contains("张某某"))
    );

    // Others may read the measures on a case sent to them, never record them.
    let operator = app.signed_in("hua", "话务员小华", Role::Operator).await;
    assert_eq!(operator.post(&measure, &first).await.status(), 403);
}
