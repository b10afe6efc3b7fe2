//! One web error type and one mapping to HTTP status, as an HTML page or a JSON error body.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

use crate::domain::FieldError;
use crate::i18n::{Catalog, Lang};
use crate::media::FileProblem;
use crate::services::ServiceError;
use crate::web::{report_form, upload};

/// Whether the error is answered as a page (public HTML) or as JSON (the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Page(Lang),
    Api(Lang),
}

#[derive(Debug)]
pub enum ErrorKind {
    NotFound,
    /// The body could not be read at all (not JSON, wrong encoding…).
    Malformed,
    /// The body was read but a field is wrong; `detail` is the deserializer's own words.
    Invalid {
        fields: Vec<FieldError>,
        detail: Option<String>,
    },
    /// A tracking code whose check digit is wrong.
    CheckCode,
    /// The request is understood but not possible now (e.g. a reply before any question).
    NotAllowed,
    TooLarge,
    /// Refused with reasons already worded in the request's language, per field or per file
    /// (`file[2]`): 413 when an upload passed a limit, 422 otherwise.
    Refused {
        too_large: bool,
        fields: BTreeMap<String, String>,
    },
    RateLimited(Duration),
    /// A method the route does not answer; the methods it does, for the `Allow` header.
    MethodNotAllowed(&'static str),
    /// A staff page without a live session: go and sign in.
    SignIn,
    /// Signed in, but the account's roles do not allow this.
    Forbidden,
    /// A state-changing staff request without the session's CSRF token.
    CsrfRejected,
    /// A service refused the input: the catalog key of the reason (422).
    Rejected(&'static str),
    /// Evidence files refused, each with its reason (422).
    Files(Vec<FileProblem>),
    /// Anything else: the cause goes to the log only.
    Internal(String),
}

/// An error answered as a page or as JSON. Built without a surface (from a service error with
/// `?`), it takes the one its scope decides: `web::middleware::surface_errors` fills it in
/// from the request, once for every route.
#[derive(Debug)]
pub struct AppError {
    pub kind: ErrorKind,
    pub surface: Option<Surface>,
}

impl AppError {
    pub fn new(kind: ErrorKind, surface: Surface) -> AppError {
        AppError {
            kind,
            surface: Some(surface),
        }
    }

    /// An error whose surface the request's scope decides.
    pub fn bare(kind: ErrorKind) -> AppError {
        AppError {
            kind,
            surface: None,
        }
    }

    /// The same error answered on `surface`, whatever its scope would choose.
    pub fn on(self, surface: Surface) -> AppError {
        AppError {
            surface: Some(surface),
            ..self
        }
    }

    pub fn internal(cause: impl std::fmt::Display, surface: Surface) -> AppError {
        AppError::new(ErrorKind::Internal(cause.to_string()), surface)
    }

    fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Malformed => "malformed_body",
            ErrorKind::Invalid { .. } => "validation_failed",
            ErrorKind::CheckCode => "check_code",
            ErrorKind::NotAllowed => "not_allowed",
            ErrorKind::TooLarge
            | ErrorKind::Refused {
                too_large: true, ..
            } => "too_large",
            ErrorKind::Refused { .. } => "validation_failed",
            ErrorKind::RateLimited(_) => "rate_limited",
            ErrorKind::MethodNotAllowed(_) => "method_not_allowed",
            ErrorKind::SignIn => "sign_in",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::CsrfRejected => "csrf",
            ErrorKind::Rejected(_) | ErrorKind::Files(_) => "validation_failed",
            ErrorKind::Internal(_) => "internal",
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> AppError {
        AppError::bare(match e {
            ServiceError::NotFound => ErrorKind::NotFound,
            ServiceError::Forbidden => ErrorKind::Forbidden,
            ServiceError::IllegalTransition { .. } => ErrorKind::NotAllowed,
            ServiceError::Invalid(key) => ErrorKind::Rejected(key),
            ServiceError::Files(problems) => ErrorKind::Files(problems),
            ServiceError::Busy(wait) => ErrorKind::RateLimited(wait),
            other @ (ServiceError::Db(_)
            | ServiceError::Crypto(_)
            | ServiceError::Mail(_)
            | ServiceError::Corrupt(_)) => ErrorKind::Internal(other.to_string()),
        })
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: not_found, malformed_body, validation_failed,
    /// check_code, not_allowed, too_large, rate_limited, method_not_allowed, internal.
    pub code: String,
    /// Human-readable, in the request's language.
    pub message: String,
    /// Per-field reasons, for validation_failed and check_code; for a refused upload, per
    /// file (`file[2]`) or for the files together (`files`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

#[derive(Template)]
#[template(path = "public/error.html")]
struct ErrorPage<'a> {
    t: &'static Catalog,
    lang: Lang,
    title: &'a str,
    message: String,
}

fn minutes(wait: Duration) -> u64 {
    wait.as_secs().div_ceil(60).max(1)
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Malformed => StatusCode::BAD_REQUEST,
            ErrorKind::Invalid { .. } | ErrorKind::CheckCode => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooLarge
            | ErrorKind::Refused {
                too_large: true, ..
            } => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotAllowed => StatusCode::CONFLICT,
            ErrorKind::Rejected(_) | ErrorKind::Files(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::SignIn => StatusCode::SEE_OTHER,
            ErrorKind::Forbidden | ErrorKind::CsrfRejected => StatusCode::FORBIDDEN,
            ErrorKind::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // Without a surface this answer is a bare stand-in that `surface_errors` replaces
        // (and logs): rendering or logging here too would do that work twice.
        match self.surface {
            Some(surface) => {
                self.log();
                self.respond(surface)
            }
            None => HttpResponse::build(self.status_code()).finish(),
        }
    }
}

impl AppError {
    /// Logs the cause of an internal error; nothing a person sent is in it.
    pub fn log(&self) {
        if let ErrorKind::Internal(cause) = &self.kind {
            tracing::error!(cause = %cause, "request failed");
        }
    }

    /// The answer on this surface.
    pub fn respond(&self, surface: Surface) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        builder.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let ErrorKind::SignIn = self.kind {
            let lang = match surface {
                Surface::Page(lang) | Surface::Api(lang) => lang,
            };
            return builder
                .insert_header((
                    header::LOCATION,
                    format!("/staff/login?lang={}", lang.code()),
                ))
                .finish();
        }
        if let ErrorKind::RateLimited(wait) = self.kind {
            builder.insert_header((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
        }
        if let ErrorKind::MethodNotAllowed(allow) = self.kind {
            builder.insert_header((header::ALLOW, allow));
        }
        match surface {
            Surface::Api(lang) => builder.json(self.body(lang.catalog())),
            Surface::Page(lang) => {
                let t = lang.catalog();
                let (title, message) = match &self.kind {
                    ErrorKind::NotFound => (
                        t.t("page.not_found_title"),
                        t.t("page.not_found").to_string(),
                    ),
                    ErrorKind::TooLarge
                    | ErrorKind::Refused {
                        too_large: true, ..
                    } => (
                        t.t("page.bad_request_title"),
                        t.t("page.too_large").to_string(),
                    ),
                    ErrorKind::Rejected(key) => {
                        (t.t("page.bad_request_title"), t.t(key).to_string())
                    }
                    ErrorKind::Files(problems) => (
                        t.t("page.bad_request_title"),
                        problems
                            .iter()
                            .map(|p| upload::problem_text(t, p))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    ErrorKind::Malformed
                    | ErrorKind::Invalid { .. }
                    | ErrorKind::Refused { .. }
                    | ErrorKind::CheckCode
                    | ErrorKind::NotAllowed
                    | ErrorKind::MethodNotAllowed(_) => (
                        t.t("page.bad_request_title"),
                        t.t("page.bad_request").to_string(),
                    ),
                    ErrorKind::RateLimited(wait) => (
                        t.t("page.rate_limited_title"),
                        t.t("page.rate_limited")
                            .replace("{minutes}", &minutes(*wait).to_string()),
                    ),
                    ErrorKind::Internal(_) => {
                        (t.t("page.internal_title"), t.t("page.internal").to_string())
                    }
                    ErrorKind::SignIn | ErrorKind::Forbidden => (
                        t.t("page.forbidden_title"),
                        t.t("page.forbidden").to_string(),
                    ),
                    ErrorKind::CsrfRejected => {
                        (t.t("page.forbidden_title"), t.t("page.csrf").to_string())
                    }
                };
                let page = ErrorPage {
                    t,
                    lang,
                    title,
                    message,
                };
                match page.render() {
                    Ok(html) => builder.content_type("text/html; charset=utf-8").body(html),
                    Err(_) => builder
                        .content_type("text/plain; charset=utf-8")
                        .body(self.code()),
                }
            }
        }
    }
}

impl AppError {
    fn body(&self, t: &Catalog) -> ErrorBody {
        let message_key = format!("api.{}", self.code());
        let fields = match &self.kind {
            ErrorKind::Invalid { fields, detail } => {
                let mut map: BTreeMap<String, String> = fields
                    .iter()
                    .map(|f| {
                        let name = t.label("error.field", f.field);
                        (
                            f.field.to_string(),
                            report_form::reason_text(t, f.field, name, f.reason),
                        )
                    })
                    .collect();
                if let Some(detail) = detail {
                    map.insert("body".into(), detail.clone());
                }
                Some(map)
            }
            ErrorKind::Refused { fields, .. } => Some(fields.clone()),
            ErrorKind::Files(problems) => Some(
                problems
                    .iter()
                    .map(|p| (format!("file[{}]", p.index), upload::problem_text(t, p)))
                    .collect(),
            ),
            ErrorKind::CheckCode => Some(BTreeMap::from([(
                "tracking_code".to_string(),
                t.t("track.check_code").to_string(),
            )])),
            _ => None,
        };
        let message = match self.kind {
            ErrorKind::Rejected(key) => t.t(key).to_string(),
            _ => t.t(&message_key).to_string(),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message,
                fields,
            },
        }
    }
}
