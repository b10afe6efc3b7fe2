//! The JSON API for integrations: submit a report, track it, and the OpenAPI description.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::domain::{Channel, RawReport, ReportDraft};
use crate::error::{AppError, ErrorBody, ErrorKind, Surface};
use crate::i18n::Catalog;
use crate::services;
use crate::services::reports::Progress;
use crate::web::middleware::rate_limit::RouteClass;
use crate::web::public::{Admission, Lookup, Replied, admit, look_up, reply};
use crate::web::{AppState, api, client_addr, lang_of};

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
        SubmitAnswer,
        TrackBody,
        TrackAnswer,
        TrackMessage,
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
    #[schema(required = true, example = "connection")]
    category: Option<String>,
    /// An id from the configured village list.
    #[schema(example = "dalu-community")]
    village: Option<String>,
    /// Who is reported and their position, at most 500 characters.
    subject: Option<String>,
    /// village_cadre | caseworker | civil_affairs_staff | grid_worker | other
    subject_role: Option<String>,
    /// What happened: 5 to 5,000 characters after trimming.
    #[schema(required = true)]
    description: Option<String>,
    /// Roughly when, free text, at most 100 characters.
    occurred: Option<String>,
    #[schema(required = true)]
    anonymous: Option<bool>,
    /// Required when `anonymous` is false.
    reporter: Option<ReporterBody>,
    /// A posting-site token.
    site: Option<String>,
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

#[derive(Serialize, ToSchema)]
pub struct SubmitAnswer {
    /// Shown once: 16 digits grouped by four.
    #[schema(example = "1234 5678 9012 3452")]
    tracking_code: String,
    #[schema(example = "received")]
    status: &'static str,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackBody {
    /// Spaces and hyphens are ignored.
    #[schema(example = "1234 5678 9012 3452")]
    tracking_code: String,
}

#[derive(Serialize, ToSchema)]
pub struct TrackAnswer {
    /// received | accepted | not_accepted | verifying | concluded | closed | merged
    status: &'static str,
    /// The status in the request's language.
    status_text: &'static str,
    /// The date of the last change (Asia/Shanghai), YYYY-MM-DD.
    updated_at: String,
    messages: Vec<TrackMessage>,
    can_reply: bool,
    /// Once the case is closed: what the inspectors tell the reporter about its outcome.
    /// Null until then.
    feedback: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TrackMessage {
    /// inspector | reporter
    from: &'static str,
    text: String,
    at: String,
}

#[derive(Serialize, ToSchema)]
pub struct VersionAnswer {
    name: &'static str,
    version: &'static str,
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Submit a report.
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    request_body = ReportBody,
    responses(
        (status = 201, description = "Stored durably; the tracking code is shown only now", body = SubmitAnswer),
        (status = 400, description = "Body is not JSON", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid; reasons per field in error.fields", body = ErrorBody),
        (status = 429, description = "Too many submissions from this client; see Retry-After", body = ErrorBody),
        (status = 500, description = "Server failure; nothing was stored", body = ErrorBody),
    )
)]
pub async fn submit_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ReportBody>,
) -> Result<HttpResponse, AppError> {
    let surface = api(&req);
    state
        .limiters
        .check(
            RouteClass::Submit,
            client_addr(&req, &state.settings.server.trusted_proxies),
        )
        .map_err(|wait| AppError::new(ErrorKind::RateLimited(wait), surface))?;
    let draft =
        ReportDraft::parse(body.into_inner().into(), &state.villages).map_err(|fields| {
            AppError::new(
                ErrorKind::Invalid {
                    fields,
                    detail: None,
                },
                surface,
            )
        })?;
    let quarantined = match admit(&state, surface).await? {
        Admission::Open => false,
        Admission::Quarantine => true,
        Admission::Busy(wait) => {
            return Err(AppError::new(ErrorKind::RateLimited(wait), surface));
        }
    };
    let origin = services::reports::Origin {
        quarantined,
        ..services::reports::Origin::public(Channel::Api)
    };
    let receipt = services::reports::submit(
        &state.db,
        &state.keyring,
        &state.routing,
        &state.deadlines,
        draft,
        origin,
        state.now(),
    )
    .await
    .map_err(|e| AppError::internal(e, surface))?;
    Ok(no_store(HttpResponse::Created().json(SubmitAnswer {
        tracking_code: receipt.tracking_code.grouped(),
        status: "received",
    })))
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
        (status = 422, description = "Check digit wrong: please check the code", body = ErrorBody),
        (status = 429, description = "Too many lookups from this client; see Retry-After", body = ErrorBody),
    )
)]
pub async fn track_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<TrackBody>,
) -> Result<HttpResponse, AppError> {
    let surface = api(&req);
    let t = lang_of(&req).catalog();
    match look_up(&req, &state, &body.tracking_code, surface).await? {
        Lookup::Found(progress) => Ok(no_store(HttpResponse::Ok().json(track_answer(progress, t)))),
        Lookup::NotFound => Err(AppError::new(ErrorKind::NotFound, surface)),
        Lookup::CheckDigit => Err(AppError::new(ErrorKind::CheckCode, surface)),
    }
}

fn track_answer(progress: Progress, t: &'static Catalog) -> TrackAnswer {
    TrackAnswer {
        status: progress.status.code(),
        status_text: t.label("status", progress.status.code()),
        updated_at: progress.updated_on.to_string(),
        messages: progress
            .messages
            .into_iter()
            .map(|m| TrackMessage {
                from: if m.from_inspector {
                    "inspector"
                } else {
                    "reporter"
                },
                text: m.text,
                at: m.at.to_string(),
            })
            .collect(),
        can_reply: progress.can_reply,
        feedback: progress.feedback,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    #[schema(example = "1234 5678 9012 3452")]
    tracking_code: String,
    /// The answer: 1 to 5,000 characters.
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
        (status = 422, description = "Check digit wrong, or the text empty or too long", body = ErrorBody),
        (status = 429, description = "Too many attempts from this client; see Retry-After", body = ErrorBody),
    )
)]
pub async fn reply_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ReplyBody>,
) -> Result<HttpResponse, AppError> {
    let surface = api(&req);
    let t = lang_of(&req).catalog();
    let body = body.into_inner();
    match reply(&req, &state, &body.tracking_code, &body.text, surface).await? {
        Replied::Stored(progress) => {
            Ok(no_store(HttpResponse::Ok().json(track_answer(progress, t))))
        }
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
