//! The step before an action that cannot be undone: a page that says what will happen and
//! asks again, carrying the form's own fields over. The server asks, so it works without
//! JavaScript; the action runs only when the second form comes back with `confirmed=yes`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use serde::Deserialize;

use super::{Desk, StaffPage, staff_template};
use crate::error::AppError;

staff_template!(ConfirmPage);

/// The field the confirmation page adds; read it with `#[serde(flatten)]` beside the
/// action's own fields.
#[derive(Debug, Default, Deserialize)]
pub struct Confirmation {
    confirmed: Option<String>,
}

impl Confirmation {
    pub fn given(&self) -> bool {
        self.confirmed.as_deref() == Some("yes")
    }
}

/// What to ask: the question, what follows if the answer is yes, where the form goes, the
/// fields it carries (name, value) and where "cancel" leads.
pub struct Ask {
    pub question: String,
    pub consequence: String,
    pub action: String,
    pub fields: Vec<(&'static str, String)>,
    pub button: String,
    pub back: String,
}

#[derive(Template)]
#[template(path = "staff/confirm.html")]
struct ConfirmPage {
    frame: StaffPage,
    ask: Ask,
}

/// The confirmation page for `ask`.
pub fn ask(desk: &Desk, ask: Ask) -> Result<HttpResponse, AppError> {
    let page = ConfirmPage {
        frame: desk.page(),
        ask,
    };
    desk.render(&page, StatusCode::OK)
}
