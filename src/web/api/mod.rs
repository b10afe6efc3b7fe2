//! The JSON API for integrations: submit a report, track it, and the OpenAPI description.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::domain::attachment::Upload;
use crate::domain::{Channel, RawReport, ReportDraft};
use crate::error::{AppError, ErrorBody, ErrorKind, Surface};
use crate::services::intake::{Origin, Submission};
use crate::services::tracking::{Lookup, Replied};
use crate::web::lookup::{TrackAnswer, look_up, reply};
use crate::web::middleware::rate_limit::RouteClass;
use crate::web::middleware::{Counted, counted};
use crate::web::pages::no_store;
use crate::web::{AppState, Visit, api, lang_of, multipart, upload};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tipoff",
        description = "Tip-off intake for favoritism in social assistance. Every error is \
                       {\"error\": {\"code\", \"message\", \"fields\"?}}; messages follow \
                       ?lang=zh|en or Accept-Language."
    ),
    paths(submit_report, track_report, reply_report, version),
    components(schemas(
        ReportBody,
        ReporterBody,
        ReportUpload,
        SubmitAnswer,
        AttachmentAnswer,
        TrackBody,
        crate::web::lookup::TrackAnswer,
        crate::web::lookup::TrackMessage,
        crate::web::lookup::MergedCase,
        VersionAnswer,
        ErrorBody,
        crate::error::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// A report as an integration sends it. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// favor | connection | policy | wrongful_inclusion | wrongful_exclusion | taper_period |
    /// extreme_poverty | bribery | nepotism | other
    #[schema(required = true, value_type = String, example = "connection")]
    category: Option<String>,
    /// An id from the configured village list.
    #[schema(example = "dalu-community")]
    village: Option<String>,
    /// Who is reported and their position, at most 500 characters.
    subject: Option<String>,
    /// village_cadre | caseworker | civil_affairs_staff | grid_worker | other
    subject_role: Option<String>,
    /// What happened: 5 to 5,000 characters after trimming.
    #[schema(required = true, value_type = String)]
    description: Option<String>,
    /// Roughly when, free text, at most 100 characters.
    occurred: Option<String>,
    #[schema(required = true, value_type = bool)]
    anonymous: Option<bool>,
    /// Required when `anonymous` is false.
    reporter: Option<ReporterBody>,
    /// A posting-site token.
    site: Option<String>,
    /// With files (multipart only): keep their details (time, place, device, names) as
    /// evidence. Honoured for real-name reports only; anonymous files are always stripped.
    keep_metadata: Option<bool>,
}

/// A report with evidence files, as `multipart/form-data`: one `report` part holding the same
/// JSON as the application/json body, and up to 5 `file` parts (10 MB each, 25 MB in all by
/// default). Files are accepted by their content, never their name or declared type: JPEG,
/// PNG, WebP, PDF, M4A/AAC, MP3, AMR. An anonymous report's files lose their metadata (photo
/// EXIF/GPS/XMP/IPTC, PDF document info and XMP, audio tags) and their names before they are
/// sealed; a PDF that cannot be cleaned (encrypted) is refused on an anonymous report.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportUpload {
    #[schema(content_media_type = "application/json")]
    report: ReportBody,
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterBody {
    name: Option<String>,
    /// Mainland mobile (1[3-9] + 9 digits) or landline with area code; +86 accepted.
    phone: Option<String>,
}

impl From<ReportBody> for RawReport {
    fn from(body: ReportBody) -> RawReport {
        let (reporter_name, reporter_phone) =
            body.reporter.map_or((None, None), |r| (r.name, r.phone));
        RawReport {
            category: body.category,
            village: body.village,
            subject: body.subject,
            subject_role: body.subject_role,
            description: body.description,
            occurred: body.occurred,
            anonymous: body.anonymous,
            reporter_name,
            reporter_phone,
            site: body.site,
        }
    }
}

/// A stored evidence file, as the submit answer lists it.
#[derive(Serialize, ToSchema)]
pub struct AttachmentAnswer {
    /// `附件1.jpg`, or the sender's own name when its details were kept.
    name: String,
    /// The sniffed kind: jpeg | png | webp | pdf | m4a | aac | mp3 | amr.
    kind: &'static str,
    /// Stored size in bytes (after stripping).
    size: usize,
    /// Whether metadata and the original name were removed.
    stripped: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SubmitAnswer {
    /// Shown once: 16 digits grouped by four.
    #[schema(example = "1234 5678 9012 3452")]
    tracking_code: String,
    #[schema(example = "received")]
    status: &'static str,
    /// The evidence files stored with the report; absent when none were sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<AttachmentAnswer>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackBody {
    /// 16 digits; spaces and hyphens are ignored.
    #[schema(
        example = "1234 5678 9012 3452",
        pattern = "^[ \u{3000}-]*([0-9\u{FF10}-\u{FF19}][ \u{3000}-]*){16}$"
    )]
    tracking_code: String,
}

#[derive(Serialize, ToSchema)]
pub struct VersionAnswer {
    name: &'static str,
    version: &'static str,
}

/// Submit a report, as JSON or (with evidence files) as multipart/form-data.
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    request_body(
        description = "The report as JSON; or, with files, multipart/form-data with a `report` \
                       part (the same JSON) and up to 5 `file` parts",
        content(
            (ReportBody = "application/json"),
            (ReportUpload = "multipart/form-data"),
        )
    ),
    responses(
        (status = 201, description = "Stored durably with its files; the tracking code is shown only now", body = SubmitAnswer),
        (status = 400, description = "Body is not JSON, or not readable multipart", body = ErrorBody),
        (status = 413, description = "Body too large; or an upload passed a limit — more than 5 files, a file over 10 MB, over 25 MB in all (configurable): reading stopped there, nothing was stored, and error.fields names the file (`file[2]`) or `files` with the reason", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid, or a file was refused (not an accepted kind by its content, damaged, a video, or an anonymous report's file whose metadata cannot be removed); reasons per field and per file (`file[2]`) in error.fields; nothing was stored", body = ErrorBody),
        (status = 429, description = "Too many submissions from this client, or too many held for review just now; see Retry-After", body = ErrorBody),
        (status = 500, description = "Server failure; nothing was stored", body = ErrorBody),
    )
)]
pub async fn submit_report(
    visit: Visit,
    // Before the body: a client past its budget is refused without a byte of it read.
    _budget: SubmitBudget,
    body: web::Json<ReportBody>,
) -> Result<HttpResponse, AppError> {
    let surface = visit.api();
    let draft = parse_draft(&visit.state, body.into_inner(), surface)?;
    submit(&visit, draft, Vec::new(), false).await
}

fn parse_draft(
    state: &AppState,
    body: ReportBody,
    surface: Surface,
) -> Result<ReportDraft, AppError> {
    ReportDraft::parse(body.into(), &state.villages).map_err(|fields| {
        AppError::new(
            ErrorKind::Invalid {
                fields,
                detail: None,
            },
            surface,
        )
    })
}

/// Multipart submission: the `report` part and the `file` parts, streamed under the
/// attachment limits (documented on `submit_report`).
pub async fn submit_report_with_files(
    visit: Visit,
    _budget: SubmitBudget,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (surface, t, state) = (visit.api(), visit.t(), &visit.state);
    let limits = multipart::Limits::new(&state.settings);
    let received = match multipart::read(&visit.req, payload.into_inner(), &limits, true).await {
        Ok(received) => received,
        Err(refused) if refused.cutoff.is_too_large() => {
            let reason = upload::cutoff_text(t, &refused.cutoff, &limits);
            let field = match refused.cutoff {
                multipart::Cutoff::FileTooLarge { index, .. } => format!("file[{index}]"),
                multipart::Cutoff::TextTooLarge => "report".to_string(),
                _ => "files".to_string(),
            };
            return Err(AppError::new(
                ErrorKind::Refused {
                    too_large: true,
                    fields: BTreeMap::from([(field, reason)]),
                },
                surface,
            ));
        }
        Err(_) => return Err(AppError::new(ErrorKind::Malformed, surface)),
    };
    let invalid = |detail: String| {
        AppError::new(
            ErrorKind::Invalid {
                fields: Vec::new(),
                detail: Some(detail),
            },
            surface,
        )
    };
    let mut report = None;
    for (name, value) in received.fields {
        match name.as_str() {
            "report" if report.is_none() => report = Some(value),
            "report" => return Err(invalid("more than one report part".into())),
            other => return Err(invalid(format!("unknown part `{other}`"))),
        }
    }
    let report = report.ok_or_else(|| invalid("the report part is missing".into()))?;
    let body: ReportBody = serde_json::from_str(&report).map_err(|e| {
        if e.is_data() {
            invalid(e.to_string())
        } else {
            AppError::new(ErrorKind::Malformed, surface)
        }
    })?;
    let keep_metadata = body.keep_metadata == Some(true);
    let draft = parse_draft(state, body, surface)?;
    submit(&visit, draft, received.files, keep_metadata).await
}

/// The intake pipeline, then the 201 answer with the tracking code and the stored files.
async fn submit(
    visit: &Visit,
    draft: ReportDraft,
    files: Vec<Upload>,
    keep_metadata: bool,
) -> Result<HttpResponse, AppError> {
    let submission = Submission {
        draft,
        files,
        keep_metadata,
        origin: Origin {
            source: Some(visit.source()),
            ..Origin::public(Channel::Api)
        },
    };
    let state = &visit.state;
    let receipt = state.intake().submit(submission, state.now()).await?;
    let answer = SubmitAnswer {
        tracking_code: receipt.tracking_code.grouped(),
        status: "received",
        attachments: receipt
            .files
            .into_iter()
            .map(|f| AttachmentAnswer {
                name: f.name,
                kind: f.kind.code(),
                size: f.size,
                stripped: f.stripped,
            })
            .collect(),
    };
    Ok(counted(
        no_store(HttpResponse::Created().json(answer), visit.api()),
        Counted::Submission,
    ))
}

/// See a report's status and messages.
#[utoipa::path(
    post,
    path = "/api/v1/track",
    request_body = TrackBody,
    responses(
        (status = 200, description = "The report's progress", body = TrackAnswer),
        (status = 400, description = "Body is not JSON", body = ErrorBody),
        (status = 404, description = "Unknown code, or not 16 digits (the same answer)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Check digit wrong: please check the code; or JSON of the wrong shape (a missing or unknown field, a wrong type)", body = ErrorBody),
        (status = 429, description = "Too many lookups from this client; see Retry-After", body = ErrorBody),
    )
)]
pub async fn track_report(
    visit: Visit,
    body: web::Json<TrackBody>,
) -> Result<HttpResponse, AppError> {
    let (surface, t) = (visit.api(), visit.t());
    match look_up(&visit, &body.tracking_code).await? {
        Lookup::Found(progress) => Ok(no_store(
            HttpResponse::Ok().json(TrackAnswer::new(progress, t)),
            surface,
        )),
        Lookup::NotFound => Err(AppError::new(ErrorKind::NotFound, surface)),
        Lookup::CheckDigit => Err(AppError::new(ErrorKind::CheckCode, surface)),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// 16 digits; spaces and hyphens are ignored.
    #[schema(
        example = "1234 5678 9012 3452",
        pattern = "^[ \u{3000}-]*([0-9\u{FF10}-\u{FF19}][ \u{3000}-]*){16}$"
    )]
    tracking_code: String,
    /// The answer: 1 to 5,000 characters.
    #[schema(min_length = 1, max_length = 5000)]
    text: String,
}

/// Answer the inspectors' question (possible once they have asked, until the case closes).
#[utoipa::path(
    post,
    path = "/api/v1/track/reply",
    request_body = ReplyBody,
    responses(
        (status = 200, description = "Stored; the report's progress including the answer", body = TrackAnswer),
        (status = 400, description = "Body is not JSON", body = ErrorBody),
        (status = 404, description = "Unknown code, or not 16 digits (the same answer)", body = ErrorBody),
        (status = 409, description = "No question was asked yet, or the case is closed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Check digit wrong, or the text empty or too long; or JSON of the wrong shape (a missing or unknown field, a wrong type)", body = ErrorBody),
        (status = 429, description = "Too many attempts from this client; see Retry-After", body = ErrorBody),
    )
)]
pub async fn reply_report(
    visit: Visit,
    body: web::Json<ReplyBody>,
) -> Result<HttpResponse, AppError> {
    let (surface, t) = (visit.api(), visit.t());
    let body = body.into_inner();
    match reply(&visit, &body.tracking_code, &body.text).await? {
        Replied::Stored(progress) => Ok(counted(
            no_store(
                HttpResponse::Ok().json(TrackAnswer::new(progress, t)),
                surface,
            ),
            Counted::Reply,
        )),
        Replied::NotFound => Err(AppError::new(ErrorKind::NotFound, surface)),
        Replied::CheckDigit => Err(AppError::new(ErrorKind::CheckCode, surface)),
        Replied::NotAllowed(_) => Err(AppError::new(ErrorKind::NotAllowed, surface)),
        Replied::Invalid(key, _) => Err(AppError::new(
            ErrorKind::Invalid {
                fields: vec![crate::domain::FieldError {
                    field: "text",
                    reason: key.strip_prefix("error.").unwrap_or(key),
                }],
                detail: None,
            },
            surface,
        )),
    }
}

/// The service's name and version: a cheap liveness probe for integrations.
#[utoipa::path(get, path = "/api/v1/version", responses((status = 200, body = VersionAnswer)))]
pub async fn version() -> HttpResponse {
    HttpResponse::Ok().json(VersionAnswer {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
    })
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// The client's submission budget, checked as the request's first extractor: a client
/// past it is answered 429 before its body is read or parsed, and before any key or
/// database work — a flood costs the server a header's worth of work.
pub struct SubmitBudget;

impl actix_web::FromRequest for SubmitBudget {
    type Error = AppError;
    type Future = std::future::Ready<Result<SubmitBudget, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let checked = Visit::from_request(req, payload)
            .into_inner()
            .and_then(|visit| {
                (visit.state.limiters)
                    .check(RouteClass::Submit, visit.client())
                    .map(|()| SubmitBudget)
                    .map_err(|wait| AppError::new(ErrorKind::RateLimited(wait), visit.api()))
            });
        std::future::ready(checked)
    }
}

/// An API path whose undeclared methods are answered 405 with `Allow: {allow}` (a bare
/// route would fall through to the 404 page).
pub fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(AppError::new(ErrorKind::MethodNotAllowed(allow), api(&req)))
    }))
}

/// A JSON body the server could not take becomes an error body: 400 when it is not JSON at
/// all, 422 when it is JSON of the wrong shape (unknown field, wrong type), 413 when too big.
pub fn json_error(err: actix_web::error::JsonPayloadError, req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    let kind = match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ErrorKind::TooLarge
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => ErrorKind::Invalid {
            fields: Vec::new(),
            detail: Some(e.to_string()),
        },
        _ => ErrorKind::Malformed,
    };
    AppError::new(kind, Surface::Api(lang_of(req))).into()
}
