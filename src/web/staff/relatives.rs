//! The admins' close-relative filings (近亲属备案): file one for a staff account (who is then
//! recused from reports naming the relative) or for a cadre without an account (name, post,
//! village; recuses no one), and withdraw one after a confirmation page.

use actix_web::HttpResponse;
use actix_web::web;
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::confirm::{self, Ask, Confirmation};
use super::register::{ShownFiling, read_register};
use super::{Desk, Refused, StaffPage, path_id, refusal, staff_template};
use crate::domain::SupportKind;
use crate::error::{AppError, ErrorKind};
use crate::services::register::{Reading, Which};
use crate::services::{recusal, staff};
use crate::web::pages::{Choice, village_choices};

staff_template!(RelativesPage);

#[derive(Template)]
#[template(path = "staff/relatives.html")]
struct RelativesPage {
    frame: StaffPage,
    filings: Vec<ShownFiling>,
    staff: Vec<Choice>,
    villages: Vec<Choice>,
    cadre_villages: Vec<Choice>,
    supports: Vec<Choice>,
    typed: FilingForm,
    problem: Option<&'static str>,
}

async fn relatives_page(
    desk: &Desk,
    typed: FilingForm,
    refused: Option<Refused>,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let filings = read_register(desk, Which::All, Reading::Page).await?;
    let accounts = staff::list_users(&state.db).await?;
    let lang = desk.lang;
    let page = RelativesPage {
        frame: desk.page(),
        filings,
        staff: accounts
            .iter()
            .filter(|a| !a.disabled)
            .map(|a| Choice::new(&a.id.to_string(), &a.display_name, typed.staff.as_deref()))
            .collect(),
        villages: village_choices(&state.villages, lang, typed.village.as_deref()),
        cadre_villages: village_choices(&state.villages, lang, typed.cadre_village.as_deref()),
        supports: Choice::labelled(
            t,
            "support",
            SupportKind::ALL.iter().map(|s| s.code()),
            typed.support.as_deref(),
        ),
        typed,
        problem: refused.map(|r| t.t(r.reason)),
    };
    desk.render_form(&page, refused)
}

/// Close-relative filings (近亲属备案): who among the cadres and staff has relatives receiving
/// support.
pub async fn list_relatives(desk: Desk) -> Result<HttpResponse, AppError> {
    relatives_page(&desk, FilingForm::default(), None).await
}

/// The filing form as typed: a staff account, or a cadre's name, post and village; then the
/// relative.
#[derive(Debug, Default, Deserialize)]
pub struct FilingForm {
    staff: Option<String>,
    cadre_name: Option<String>,
    cadre_post: Option<String>,
    cadre_village: Option<String>,
    name: Option<String>,
    relation: Option<String>,
    village: Option<String>,
    support: Option<String>,
}

fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl FilingForm {
    fn value<'a>(&'a self, field: &'a Option<String>) -> &'a str {
        field.as_deref().unwrap_or("")
    }

    /// Whose relative this is: an account chosen, or a cadre typed in (not both).
    fn cadre(&self) -> Result<recusal::Cadre<'_>, &'static str> {
        let typed = given(&self.cadre_name).is_some() || given(&self.cadre_post).is_some();
        match given(&self.staff) {
            Some(_) if typed => Err("staff.relatives.cadre_both"),
            Some(id) => Uuid::parse_str(id)
                .map(recusal::Cadre::Account)
                .map_err(|_| "staff.relatives.staff_required"),
            None if !typed => Err("staff.relatives.staff_required"),
            None => Ok(recusal::Cadre::Person {
                name: self.value(&self.cadre_name),
                post: self.value(&self.cadre_post),
                village: given(&self.cadre_village),
            }),
        }
    }
}

pub async fn file_relative(
    desk: Desk,
    form: web::Form<FilingForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let refused = |why| Some(Refused::invalid(why));
    let cadre = match form.cadre() {
        Ok(cadre) => cadre,
        Err(why) => return relatives_page(&desk, form, refused(why)).await,
    };
    let support = match given(&form.support) {
        None => None,
        Some(code) => match SupportKind::parse(code) {
            Some(kind) => Some(kind),
            None => {
                let why = "staff.relatives.support_required";
                return relatives_page(&desk, form, refused(why)).await;
            }
        },
    };
    let filing = recusal::NewFiling {
        cadre,
        relative: form.value(&form.name),
        relation: given(&form.relation),
        village: given(&form.village),
        support,
    };
    let state = &desk.state;
    let filed = recusal::file(
        &state.db,
        &state.keyring,
        &state.villages,
        &filing,
        desk.user.user_id,
        state.now(),
    )
    .await;
    match filed {
        Ok(_) => relatives_page(&desk, FilingForm::default(), None).await,
        Err(e) => {
            let why = refusal(e)?;
            relatives_page(&desk, form, refused(why)).await
        }
    }
}

/// Revokes a close-relative filing, after a confirmation page.
pub async fn remove_relative(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<Confirmation>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    if !form.given() {
        let (t, lang) = (desk.t(), desk.lang.code());
        let ask = Ask {
            question: t.t("staff.relatives.remove_ask").to_string(),
            consequence: t.t("staff.relatives.remove_consequence").to_string(),
            action: format!("/staff/admin/relatives/{id}/remove?lang={lang}"),
            fields: Vec::new(),
            button: t.t("staff.relatives.remove").to_string(),
            back: format!("/staff/admin/relatives?lang={lang}"),
        };
        return confirm::ask(&desk, ask);
    }
    let state = &desk.state;
    let by = desk.user.user_id;
    if !recusal::remove_relative(&state.db, &state.keyring, id, by, state.now()).await? {
        return Err(AppError::bare(ErrorKind::NotFound));
    }
    relatives_page(&desk, FilingForm::default(), None).await
}
