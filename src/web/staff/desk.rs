//! What every staff handler starts from: the signed-in account's request, and the frame each
//! staff page is drawn in (language, catalog, header).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::FailedMail;
use crate::domain::Role;
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::ServiceError;
use crate::services::access::{Caller, Viewer};
use crate::services::staff::SessionUser;
use crate::web::pages::render;
use crate::web::{AppState, lang_of};

/// A request the staff guard let through: who signed in, in which language, and the
/// application's state. Extracted in place of the request, the state and the session user.
pub struct Desk {
    req: HttpRequest,
    pub state: web::Data<AppState>,
    pub user: SessionUser,
    viewer: Viewer,
    pub lang: Lang,
    failed_mail: u64,
}

impl FromRequest for Desk {
    type Error = AppError;
    type Future = Ready<Result<Desk, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let user = req.extensions().get::<SessionUser>().cloned();
        ready(match (state, user) {
            (Some(state), Some(user)) => Ok(Desk {
                failed_mail: req.extensions().get::<FailedMail>().map_or(0, |f| f.0),
                lang: lang_of(req),
                req: req.clone(),
                state,
                viewer: Viewer {
                    user_id: user.user_id,
                    roles: user.roles.clone(),
                },
                user,
            }),
            // Only a route outside the guard could get here.
            _ => Err(AppError::bare(ErrorKind::Internal(
                "staff handler without a session".into(),
            ))),
        })
    }
}

impl Desk {
    pub fn req(&self) -> &HttpRequest {
        &self.req
    }

    pub fn t(&self) -> &'static Catalog {
        self.lang.catalog()
    }

    pub fn surface(&self) -> Surface {
        Surface::Page(self.lang)
    }

    /// The account as the services see it.
    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    /// This request's call into the services, as its account, at the service's time.
    pub fn caller(&self) -> Caller<'_> {
        Caller {
            db: &self.state.db,
            keyring: &self.state.keyring,
            viewer: &self.viewer,
            now: self.state.now(),
        }
    }

    /// The frame of a page for this account.
    pub fn page(&self) -> StaffPage {
        let t = self.t();
        StaffPage {
            t,
            lang: self.lang,
            nav: Nav::new(&self.user, &self.state, self.failed_mail, t),
        }
    }

    /// A staff page with `status`; a template that fails is a generic 500 page.
    pub fn render(
        &self,
        page: &impl Template,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        render(page, status, self.surface())
    }

    /// A page with a form, shown plainly (200) or again with why its form was refused.
    pub fn render_form(
        &self,
        page: &impl Template,
        refused: Option<Refused>,
    ) -> Result<HttpResponse, AppError> {
        self.render(page, refused.map_or(StatusCode::OK, |r| r.status))
    }
}

/// Why a form was refused, for its page shown again: the catalog key of the reason, and the
/// status the page is sent with.
#[derive(Debug, Clone, Copy)]
pub struct Refused {
    pub reason: &'static str,
    pub status: StatusCode,
}

impl Refused {
    /// Input that does not do (422).
    pub fn invalid(reason: &'static str) -> Refused {
        Refused {
            reason,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// Language, catalog and header of a staff page: the fields every staff template has.
pub struct StaffPage {
    pub t: &'static Catalog,
    pub lang: Lang,
    pub nav: Nav,
}

/// Lets the named templates, each holding a `frame: StaffPage`, read `t`, `lang` and `nav` as
/// their own fields (askama reads `self.t`, which goes through `Deref`).
macro_rules! staff_template {
    ($($template:ident),+ $(,)?) => {$(
        impl std::ops::Deref for $template {
            type Target = $crate::web::staff::desk::StaffPage;
            fn deref(&self) -> &Self::Target {
                &self.frame
            }
        }
    )+};
}
pub(crate) use staff_template;

/// What every staff page's header needs.
pub struct Nav {
    pub display_name: String,
    pub csrf: String,
    pub inspector: bool,
    pub operator: bool,
    pub admin: bool,
    /// The district bureau or a civil-affairs verifier, who read the cases sent to them.
    pub office: bool,
    /// Notifications that gave up, shown to admins and inspectors as a banner (0 to others).
    pub failed_mail: u64,
    /// The banner's text, empty when nothing failed.
    pub mail_alarm: String,
}

impl Nav {
    pub fn new(user: &SessionUser, state: &AppState, failed_mail: u64, t: &Catalog) -> Nav {
        Nav {
            display_name: user.display_name.clone(),
            csrf: state.keyring.csrf_token(&user.session_id),
            inspector: user.has(Role::Inspector),
            operator: user.has(Role::Operator),
            admin: user.has(Role::Admin),
            office: user.has(Role::Bureau) || user.has(Role::Verifier),
            failed_mail,
            mail_alarm: if failed_mail > 0 {
                t.t("staff.mail.alarm")
                    .replace("{n}", &failed_mail.to_string())
            } else {
                String::new()
            },
        }
    }
}

/// The id in a staff path: one that does not parse names nothing, as a missing row does.
pub fn path_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::bare(ErrorKind::NotFound))
}

/// A refusal a person can act on, as the catalog key to show on the form again; anything
/// else is answered as the error it is.
pub fn refusal(e: ServiceError) -> Result<&'static str, AppError> {
    match e {
        ServiceError::Invalid(key) => Ok(key),
        other => Err(other.into()),
    }
}
