//! Account settings, Contact tab (rule 15): the organisation's contact addresses and their
//! Billing / Tech / DPO roles. Create new Email sends a code; the code dialog verifies it;
//! then the roles dialog (also Modify). Trash asks "Yes, Delete" first. A change that would
//! leave a role without a verified address is refused with the role named.

use std::sync::Arc;

use account_core::domain::contact::{ContactAddress, ContactRole};
use account_core::ids::ContactId;
use account_core::services::contacts::ContactError;
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, Section, html, html_status, see_other};
use crate::pages::{OrFail, id};
use crate::session::{Admin, Viewer};
use crate::text::{capitalised, local};

/// One address in the table.
#[derive(Debug, Clone)]
struct ContactLine {
    id: String,
    email: String,
    verified: bool,
    billing: bool,
    tech: bool,
    dpo: bool,
    /// "Billing, Tech and DPO", or "no role".
    roles_text: String,
}

impl ContactLine {
    fn of(c: &ContactAddress) -> Self {
        Self {
            id: c.id.to_string(),
            email: c.email.as_str().to_owned(),
            verified: c.is_verified(),
            billing: c.roles.billing,
            tech: c.roles.tech,
            dpo: c.roles.dpo,
            roles_text: roles_text(&c.roles.roles()),
        }
    }
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    chrome: Chrome,
    contacts: Vec<ContactLine>,
    problem: Option<String>,
}

async fn list_page(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    problem: Option<String>,
) -> poem::Result<ContactsPage> {
    let contacts = web.accounts.contacts().list(&viewer.actor()).await.or_fail()?;
    Ok(ContactsPage {
        chrome: Chrome::new(web, req, viewer, Section::Organisation, "Contact addresses"),
        contacts: contacts.iter().map(ContactLine::of).collect(),
        problem,
    })
}

async fn contact(web: &Web, viewer: &Viewer, raw: &str) -> poem::Result<ContactAddress> {
    let wanted: ContactId = id(raw)?;
    let contacts = web.accounts.contacts().list(&viewer.actor()).await.or_fail()?;
    contacts
        .into_iter()
        .find(|c| c.id == wanted)
        .ok_or_else(|| crate::errors::Failure::NotFound.into())
}

/// The message of a refusal, for the page to show.
fn refusal(e: ContactError) -> poem::Result<String> {
    match e {
        e @ (ContactError::Denied(_) | ContactError::Internal(_)) => Err(e).or_fail(),
        ContactError::RolesUnheld { roles } => Ok(format!(
            "Not saved: no other verified address holds the {} role. Give it to another \
             verified address first.",
            roles_text(&roles)
        )),
        other => Ok(capitalised(&other.to_string())),
    }
}

/// Roles in words: "Billing", "Billing and Tech", "Billing, Tech and DPO", "no role".
fn roles_text(roles: &[ContactRole]) -> String {
    let names: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
    match names.split_last() {
        None => "no role".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn role_name(role: ContactRole) -> &'static str {
    match role {
        ContactRole::Billing => "Billing",
        ContactRole::Tech => "Tech",
        ContactRole::Dpo => "DPO",
    }
}

/// `GET /organisation/contacts`: the Contact tab.
#[handler]
pub(crate) async fn show(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
) -> poem::Result<Response> {
    Ok(html(&list_page(&web, req, &viewer, None).await?))
}

#[derive(Template)]
#[template(path = "contact_new.html")]
struct NewPage {
    chrome: Chrome,
    email: String,
    errors: FieldErrors,
}

/// `GET /organisation/contacts/new`: Create new Email.
#[handler]
pub(crate) fn new_form(req: &Request, web: Data<&Arc<Web>>, Admin(viewer): Admin) -> Response {
    html(&NewPage {
        chrome: Chrome::new(&web, req, &viewer, Section::Organisation, "Add an email address"),
        email: String::new(),
        errors: FieldErrors::none(),
    })
}

/// `POST /organisation/contacts/new`: Create; a code goes to the address.
#[handler]
pub(crate) async fn add(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    form: FormData,
) -> poem::Result<Response> {
    let email = form.text("email");
    let errors = match web.accounts.contacts().add(&viewer.actor(), &email).await {
        Ok(c) => {
            return Ok(see_other(format!(
                "/organisation/contacts/{}/verify?notice=contact-added",
                c.id
            )));
        }
        Err(ContactError::Validation(v)) => FieldErrors::from_domain(&v, &[]),
        Err(e) => FieldErrors::one("email", refusal(e)?),
    };
    let page = NewPage {
        chrome: Chrome::new(&web, req, &viewer, Section::Organisation, "Add an email address"),
        email,
        errors,
    };
    Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
}

#[derive(Template)]
#[template(path = "contact_verify.html")]
struct VerifyPage {
    chrome: Chrome,
    id: String,
    email: String,
    code_hint: String,
    errors: FieldErrors,
    problem: Option<String>,
}

async fn verify_page(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    raw: &str,
    errors: FieldErrors,
    problem: Option<String>,
) -> poem::Result<Response> {
    let c = contact(web, viewer, raw).await?;
    if c.is_verified() {
        return Ok(see_other(format!("/organisation/contacts/{}/roles", c.id)));
    }
    let status = if errors.any() || problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = VerifyPage {
        chrome: Chrome::new(web, req, viewer, Section::Organisation, "Verify the address"),
        id: c.id.to_string(),
        email: c.email.as_str().to_owned(),
        code_hint: c.pending.as_ref().map_or_else(String::new, |p| {
            format!("Six digits. It expires at {}.", local(p.expires_at, viewer.tz()))
        }),
        errors,
        problem,
    };
    Ok(html_status(&page, status))
}

/// `GET /organisation/contacts/:id/verify`: the code dialog.
#[handler]
pub(crate) async fn verify_form(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    verify_page(&web, req, &viewer, &raw, FieldErrors::none(), None).await
}

/// `POST /organisation/contacts/:id/verify`: Verify.
#[handler]
pub(crate) async fn verify(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let contact: ContactId = id(&raw)?;
    match web.accounts.contacts().verify(&viewer.actor(), contact, form.text("code").trim()).await {
        Ok(_) => {
            Ok(see_other(format!("/organisation/contacts/{contact}/roles?notice=contact-verified")))
        }
        Err(ContactError::Code(c)) => {
            verify_page(
                &web,
                req,
                &viewer,
                &raw,
                FieldErrors::one("code", capitalised(&c.to_string())),
                None,
            )
            .await
        }
        Err(e) => {
            let problem = refusal(e)?;
            verify_page(&web, req, &viewer, &raw, FieldErrors::none(), Some(problem)).await
        }
    }
}

/// `POST /organisation/contacts/:id/resend`: a new code.
#[handler]
pub(crate) async fn resend(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let contact: ContactId = id(&raw)?;
    match web.accounts.contacts().resend_code(&viewer.actor(), contact).await {
        Ok(_) => {
            Ok(see_other(format!("/organisation/contacts/{contact}/verify?notice=code-resent")))
        }
        Err(e) => {
            let problem = refusal(e)?;
            verify_page(&web, req, &viewer, &raw, FieldErrors::none(), Some(problem)).await
        }
    }
}

#[derive(Template)]
#[template(path = "contact_roles.html")]
struct RolesPage {
    chrome: Chrome,
    contact: ContactLine,
    problem: Option<String>,
}

async fn roles_page(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    raw: &str,
    typed: Option<&FormData>,
    problem: Option<String>,
) -> poem::Result<Response> {
    let c = contact(web, viewer, raw).await?;
    let mut line = ContactLine::of(&c);
    if let Some(f) = typed {
        let roles = f.all("role");
        line.billing = roles.contains(&"billing");
        line.tech = roles.contains(&"tech");
        line.dpo = roles.contains(&"dpo");
    }
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = RolesPage {
        chrome: Chrome::new(web, req, viewer, Section::Organisation, "Modify email"),
        contact: line,
        problem,
    };
    Ok(html_status(&page, status))
}

/// `GET /organisation/contacts/:id/roles`: Modify.
#[handler]
pub(crate) async fn roles_form(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    roles_page(&web, req, &viewer, &raw, None, None).await
}

/// `POST /organisation/contacts/:id/roles`: Save roles.
#[handler]
pub(crate) async fn save_roles(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let contact: ContactId = id(&raw)?;
    let roles: Vec<ContactRole> =
        form.all("role").into_iter().filter_map(ContactRole::parse).collect();
    match web.accounts.contacts().set_roles(&viewer.actor(), contact, &roles).await {
        Ok(_) => Ok(see_other("/organisation/contacts?notice=contact-roles-saved")),
        Err(e) => {
            let problem = refusal(e)?;
            roles_page(&web, req, &viewer, &raw, Some(&form), Some(problem)).await
        }
    }
}

#[derive(Template)]
#[template(path = "contact_delete.html")]
struct DeletePage {
    chrome: Chrome,
    contact: ContactLine,
}

/// `GET /organisation/contacts/:id/delete`: "Yes, Delete"?
#[handler]
pub(crate) async fn delete_form(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let c = contact(&web, &viewer, &raw).await?;
    Ok(html(&DeletePage {
        chrome: Chrome::new(&web, req, &viewer, Section::Organisation, "Remove email"),
        contact: ContactLine::of(&c),
    }))
}

/// `POST /organisation/contacts/:id/delete`.
#[handler]
pub(crate) async fn delete(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let contact: ContactId = id(&raw)?;
    match web.accounts.contacts().remove(&viewer.actor(), contact).await {
        Ok(()) => Ok(see_other("/organisation/contacts?notice=contact-removed")),
        Err(e) => {
            let problem = refusal(e)?;
            let page = list_page(&web, req, &viewer, Some(problem)).await?;
            Ok(html_status(&page, StatusCode::CONFLICT))
        }
    }
}
