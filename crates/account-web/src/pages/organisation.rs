//! Account settings, Customer Info tab (admins): contact person, address, company name and
//! purchase order number, saved with the version they were read at (a stale save shows what
//! changed); the organisation number read-only, with how to change it.

use std::sync::Arc;

use account_core::domain::organisation::Organisation;
use account_core::error::ValidationErrors;
use account_core::services::organisation::{CustomerInfoInput, SaveCustomerInfoError};
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, Section, html, html_status, see_other};
use crate::pages::OrFail;
use crate::pages::profile::Change;
use crate::session::{Admin, Viewer};

/// The customer info form.
#[derive(Debug, Clone)]
struct InfoForm {
    contact_person: String,
    postal_address: String,
    company_name: String,
    purchase_order_number: String,
    version: u64,
}

fn text<T: std::fmt::Display>(v: Option<&T>) -> String {
    v.map(ToString::to_string).unwrap_or_default()
}

impl InfoForm {
    fn of(org: &Organisation) -> Self {
        let c = &org.customer_info;
        Self {
            contact_person: text(c.contact_person.as_ref()),
            postal_address: text(c.postal_address.as_ref()),
            company_name: text(c.company_name.as_ref()),
            purchase_order_number: text(c.purchase_order_number.as_ref()),
            version: org.customer_info_version,
        }
    }

    fn submitted(form: &FormData) -> Self {
        Self {
            contact_person: form.text("contact_person"),
            postal_address: form.text("postal_address").replace("\r\n", "\n"),
            company_name: form.text("company_name"),
            purchase_order_number: form.text("purchase_order_number"),
            version: form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }

    fn input(&self) -> CustomerInfoInput {
        let opt = |s: &String| Some(s.clone()).filter(|v| !v.trim().is_empty());
        CustomerInfoInput {
            contact_person: opt(&self.contact_person),
            // The text area's lines are the address's lines.
            postal_address: self.postal_address.lines().map(str::to_owned).collect(),
            company_name: opt(&self.company_name),
            purchase_order_number: opt(&self.purchase_order_number),
        }
    }

    fn changes(saved: &Self, typed: &Self) -> Vec<Change> {
        [
            ("Contact person", &saved.contact_person, &typed.contact_person),
            ("Address", &saved.postal_address, &typed.postal_address),
            ("Company name", &saved.company_name, &typed.company_name),
            ("Purchase order number", &saved.purchase_order_number, &typed.purchase_order_number),
        ]
        .into_iter()
        .filter(|(_, s, t)| s.trim() != t.trim())
        .map(|(label, s, t)| Change { label, saved: s.clone(), yours: t.clone() })
        .collect()
    }
}

/// The domain's errors for the form: a line of the address (`postal_address[2]`) is named by
/// its line number on the address's one text area.
fn address_errors(v: &ValidationErrors) -> FieldErrors {
    let mut lines = ValidationErrors::new();
    let mut others = ValidationErrors::new();
    for e in v.fields() {
        let line = e
            .field
            .strip_prefix("postal_address[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok());
        match line {
            Some(i) => lines.push("postal_address", format!("line {}: {}", i + 1, e.message)),
            None => others.push(&e.field, &e.message),
        }
    }
    let mut errors = FieldErrors::from_domain(&others, &[]);
    for e in lines.fields() {
        if errors.get("postal_address").is_none() {
            errors.push("postal_address", format!("Address, {}.", e.message));
        }
    }
    errors
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct OrganisationPage {
    chrome: Chrome,
    name: String,
    registration_number: String,
    /// `Professional: 3 licences, Basic: 2 licences`.
    plans: String,
    form: InfoForm,
    errors: FieldErrors,
    stale: Vec<Change>,
}

fn page(web: &Web, req: &Request, viewer: &Viewer, org: &Organisation) -> OrganisationPage {
    OrganisationPage {
        chrome: Chrome::new(web, req, viewer, Section::Organisation, "Account settings"),
        name: org.name.to_string(),
        registration_number: org.registration_number.as_str().to_owned(),
        plans: org
            .seats
            .plans()
            .iter()
            .map(|p| format!("{}: {} licence{}", p.plan, p.licences, plural(p.licences)))
            .collect::<Vec<_>>()
            .join(", "),
        form: InfoForm::of(org),
        errors: FieldErrors::none(),
        stale: Vec::new(),
    }
}

/// `GET /organisation`: the Customer Info tab.
#[handler]
pub(crate) async fn show(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
) -> poem::Result<Response> {
    let org = web.accounts.organisation().get(&viewer.actor()).await.or_fail()?;
    Ok(html(&page(&web, req, &viewer, &org)))
}

/// `POST /organisation`: Update.
#[handler]
pub(crate) async fn save(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    form: FormData,
) -> poem::Result<Response> {
    let typed = InfoForm::submitted(&form);
    let actor = viewer.actor();
    match web
        .accounts
        .organisation()
        .save_customer_info(&actor, &typed.input(), typed.version)
        .await
    {
        Ok(_) => Ok(see_other("/organisation?notice=customer-info-saved")),
        Err(SaveCustomerInfoError::Validation(v)) => {
            let org = web.accounts.organisation().get(&actor).await.or_fail()?;
            let mut page = page(&web, req, &viewer, &org);
            page.errors = address_errors(&v);
            page.form = typed;
            Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(SaveCustomerInfoError::StaleVersion { .. }) => {
            let org = web.accounts.organisation().get(&actor).await.or_fail()?;
            let mut page = page(&web, req, &viewer, &org);
            let saved = InfoForm::of(&org);
            page.stale = InfoForm::changes(&saved, &typed);
            page.form = InfoForm { version: saved.version, ..typed };
            Ok(html_status(&page, StatusCode::CONFLICT))
        }
        Err(e) => Err(e).or_fail(),
    }
}
