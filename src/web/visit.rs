//! What a public page or API handler starts from: the request, the application's state and
//! the language the request asked for. The staff side has its own, `staff::Desk`.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::{AppState, client_addr, lang_of, source_of};
use crate::domain::ClientKey;
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};

/// A request with the state and language every handler outside the staff guard reads.
/// Extracted in place of the request and the state.
pub struct Visit {
    pub req: HttpRequest,
    pub state: web::Data<AppState>,
    pub lang: Lang,
}

impl FromRequest for Visit {
    type Error = AppError;
    type Future = Ready<Result<Visit, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<AppState>>() {
            Some(state) => Ok(Visit {
                lang: lang_of(req),
                state: state.clone(),
                req: req.clone(),
            }),
            // Only an application built without its state could get here.
            None => Err(AppError::bare(ErrorKind::Internal(
                "handler without application state".into(),
            ))),
        })
    }
}

impl Visit {
    pub fn t(&self) -> &'static Catalog {
        self.lang.catalog()
    }

    /// Errors answered as an HTML page in this request's language.
    pub fn page(&self) -> Surface {
        Surface::Page(self.lang)
    }

    /// Errors answered as a JSON body in this request's language.
    pub fn api(&self) -> Surface {
        Surface::Api(self.lang)
    }

    /// The client's address, for in-memory limits only (see `client_addr`).
    pub fn client(&self) -> Option<IpAddr> {
        client_addr(&self.req, &self.state.settings.server.trusted_proxies)
    }

    /// The client as the flood shares count it (see `ClientKey`).
    pub fn source(&self) -> ClientKey {
        source_of(&self.req, &self.state)
    }
}
