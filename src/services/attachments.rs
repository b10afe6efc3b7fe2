//! Evidence files: sealed with the report's DEK inside the intake transaction, listed on the
//! case page, and opened (audited, one entry per opening) by inspectors who may see the case.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::access::{Caller, Sealer, readable, report_dek, visible_report};
use super::audit::AuditAction;
use crate::crypto::Dek;
use crate::domain::attachment::{Attachment, Kind};
use crate::entities::attachment;

const TABLE: &str = "attachments";

fn sealer(dek: &Dek, file: Uuid) -> Sealer<'_> {
    Sealer::new(dek, TABLE, file)
}

/// Seals and inserts a new report's files. Called inside the intake transaction
/// with the report's DEK, so a report and its files are stored together or not at all.
pub(crate) async fn store<C: ConnectionTrait>(
    txn: &C,
    dek: &Dek,
    report_id: Uuid,
    files: &[Attachment],
) -> Result<(), ServiceError> {
    for (index, file) in files.iter().enumerate() {
        let id = Uuid::new_v4();
        let seq = i32::try_from(index + 1).map_err(|_| ServiceError::Invalid("attach.too_many"))?;
        let size = i64::try_from(file.content.len())
            .map_err(|_| ServiceError::Invalid("attach.total_too_large"))?;
        attachment::Entity::insert(attachment::ActiveModel {
            id: Set(id),
            report_id: Set(report_id),
            seq: Set(seq),
            kind: Set(file.kind.code().to_string()),
            size: Set(size),
            name: Set(sealer(dek, id).seal("name", &file.name)?),
            content: Set(sealer(dek, id).seal_bytes("content", &file.content)?),
            stripped: Set(file.stripped),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// What the case page lists about a file; its content is not loaded.
#[derive(Debug, Clone)]
pub struct AttachmentSummary {
    pub seq: i32,
    pub kind: Kind,
    pub size: i64,
    pub stripped: bool,
    pub name: Zeroizing<String>,
}

/// What a file's summary reads of it: everything but its content.
#[derive(DerivePartialModel)]
#[sea_orm(entity = "attachment::Entity")]
struct Listed {
    id: Uuid,
    seq: i32,
    kind: String,
    size: i64,
    stripped: bool,
    name: Vec<u8>,
}

/// The files of a report, in order, with their names opened. Reads no content.
pub(crate) async fn summaries<C: ConnectionTrait>(
    db: &C,
    dek: &Dek,
    report_id: Uuid,
) -> Result<Vec<AttachmentSummary>, ServiceError> {
    let rows = attachment::Entity::find()
        .filter(attachment::Column::ReportId.eq(report_id))
        .order_by_asc(attachment::Column::Seq)
        .into_partial_model::<Listed>()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(AttachmentSummary {
                seq: row.seq,
                kind: Kind::parse(&row.kind).ok_or(ServiceError::Corrupt("attachment kind"))?,
                size: row.size,
                stripped: row.stripped,
                name: sealer(dek, row.id).open("name", &row.name)?,
            })
        })
        .collect()
}

/// Why an inspector opens a file: to download it, or to look at a re-encoded preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Download,
    Preview,
}

/// A file opened for an inspector.
pub struct OpenedAttachment {
    pub seq: i32,
    pub kind: Kind,
    pub stripped: bool,
    pub name: Zeroizing<String>,
    pub content: Zeroizing<Vec<u8>>,
}

/// Opens the `seq`th file of a case for an inspector (for a preview: only an image), and
/// records the opening in the audit log in the same transaction. Anyone who may not see the case (not an inspector, recused)
/// gets `None`, as for a file that does not exist.
pub async fn open_attachment(
    caller: Caller<'_>,
    report_id: Uuid,
    seq: i32,
    opening: Opening,
) -> Result<Option<OpenedAttachment>, ServiceError> {
    let Some(before) = readable(caller.db, caller.viewer, report_id).await? else {
        return Ok(None);
    };
    let kind = attachment::Entity::find()
        .select_only()
        .column(attachment::Column::Kind)
        .filter(attachment::Column::ReportId.eq(report_id))
        .filter(attachment::Column::Seq.eq(seq))
        .into_tuple::<String>()
        .one(caller.db)
        .await?;
    let previewable = kind
        .as_deref()
        .and_then(Kind::parse)
        .is_some_and(Kind::is_image);
    // Only images have a preview; nothing else is opened (or audited) for one.
    if kind.is_none() || (opening == Opening::Preview && !previewable) {
        return Ok(None);
    }
    let txn = caller.db.begin().await?;
    let verb = match opening {
        Opening::Download => "downloaded",
        Opening::Preview => "previewed",
    };
    let detail = format!("{verb} attachment {seq} of case {}", before.case_number);
    caller
        .append_audit(&txn, AuditAction::OpenAttachment, Some(report_id), &detail)
        .await?;
    // Recused in the meantime: dropping the transaction takes the audit entry back too.
    let Some(found) = visible_report(&txn, caller.viewer, report_id).await? else {
        return Ok(None);
    };
    let Some(file) = attachment::Entity::find()
        .filter(attachment::Column::ReportId.eq(report_id))
        .filter(attachment::Column::Seq.eq(seq))
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    let dek = report_dek(caller.keyring, &found)?;
    let opened = OpenedAttachment {
        seq: file.seq,
        kind: Kind::parse(&file.kind).ok_or(ServiceError::Corrupt("attachment kind"))?,
        stripped: file.stripped,
        name: sealer(&dek, file.id).open("name", &file.name)?,
        content: sealer(&dek, file.id).open_bytes("content", &file.content)?,
    };
    txn.commit().await?;
    Ok(Some(opened))
}
