//! One user's actions on Manage Users: Edit profile (with the same stale-save check as the
//! profile page) and the seat's plan, Manage credit (export, direct dial, calling credits),
//! Allocate minutes, Disable / Enable, and resending an invitation.

use std::sync::Arc;

use account_core::domain::credits::CreditKind;
use account_core::ids::MemberId;
use account_core::services::credits::AllocateError;
use account_core::services::team::{
    ChangeMemberError, ChangePlanError, EditMemberProfileError, MemberRow,
};
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, Section, html, html_status, see_other};
use crate::pages::profile::{Change, ProfileForm};
use crate::pages::team::PlanLine;
use crate::pages::{OrFail, id};
use crate::session::{Admin, Viewer};
use crate::text::{amount, capitalised, kind_name};

#[derive(Template)]
#[template(path = "member_profile.html")]
struct ProfilePage {
    chrome: Chrome,
    id: String,
    name: String,
    email: String,
    form: ProfileForm,
    errors: FieldErrors,
    stale: Vec<Change>,
    /// The member's plan, the organisation's plans, and why a move was refused.
    plan: String,
    plans: Vec<PlanLine>,
    plan_error: Option<String>,
}

async fn row(web: &Web, viewer: &Viewer, raw: &str) -> poem::Result<MemberRow> {
    let member: MemberId = id(raw)?;
    web.accounts.team().member(&viewer.actor(), member).await.or_fail()
}

async fn profile_page(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    row: &MemberRow,
) -> poem::Result<ProfilePage> {
    let summary = web.accounts.team().summary(&viewer.actor()).await.or_fail()?;
    Ok(ProfilePage {
        chrome: Chrome::new(web, req, viewer, Section::Team, "Edit profile"),
        id: row.member.id.to_string(),
        name: row.member.profile.display_name(),
        email: row.member.email.as_str().to_owned(),
        form: ProfileForm::of(&row.member),
        errors: FieldErrors::none(),
        stale: Vec::new(),
        plan: row.member.plan.to_string(),
        plans: PlanLine::of(&summary),
        plan_error: None,
    })
}

/// `GET /team/members/:id/profile`.
#[handler]
pub(crate) async fn profile_form(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let row = row(&web, &viewer, &raw).await?;
    Ok(html(&profile_page(&web, req, &viewer, &row).await?))
}

/// `POST /team/members/:id/profile`.
#[handler]
pub(crate) async fn save_profile(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let member: MemberId = id(&raw)?;
    let typed = ProfileForm::submitted(&form);
    let result = web
        .accounts
        .team()
        .edit_profile(&viewer.actor(), member, &typed.input(), typed.version)
        .await;
    match result {
        Ok(_) => Ok(see_other("/team?notice=member-saved")),
        Err(EditMemberProfileError::Validation(v)) => {
            let row = row(&web, &viewer, &raw).await?;
            let mut page = profile_page(&web, req, &viewer, &row).await?;
            page.errors = FieldErrors::from_domain(&v, &[]);
            page.form = typed;
            Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(EditMemberProfileError::StaleVersion { .. }) => {
            let row = row(&web, &viewer, &raw).await?;
            let mut page = profile_page(&web, req, &viewer, &row).await?;
            let saved = ProfileForm::of(&row.member);
            page.stale = ProfileForm::changes(&saved, &typed);
            page.form = ProfileForm { version: saved.version, ..typed };
            Ok(html_status(&page, StatusCode::CONFLICT))
        }
        Err(e) => Err(e).or_fail(),
    }
}

/// `POST /team/members/:id/plan`: moves the member's seat to another plan (rule 23).
#[handler]
pub(crate) async fn save_plan(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let member: MemberId = id(&raw)?;
    let plan = form.text("plan");
    let refusal = match web.accounts.team().set_plan(&viewer.actor(), member, &plan).await {
        Ok(_) => return Ok(see_other("/team?notice=plan-changed")),
        Err(ChangePlanError::Validation(v)) => {
            v.fields().first().map(|f| capitalised(&f.message)).unwrap_or_default()
        }
        Err(e @ ChangePlanError::NoFreeLicence(_)) => capitalised(&e.to_string()),
        Err(e) => return Err(e).or_fail(),
    };
    let row = row(&web, &viewer, &raw).await?;
    let mut page = profile_page(&web, req, &viewer, &row).await?;
    page.plan_error = Some(refusal);
    Ok(html_status(&page, StatusCode::CONFLICT))
}

/// One kind's line of the credit form.
#[derive(Debug, Clone)]
struct KindLine {
    id: &'static str,
    name: &'static str,
    allocated: String,
    used: String,
    available: String,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "member_credits.html")]
struct CreditsPage {
    chrome: Chrome,
    heading: &'static str,
    action: String,
    name: String,
    kinds: Vec<KindLine>,
    free: Vec<(String, String)>,
    problem: Option<String>,
    form_key: String,
}

const CREDIT_KINDS: &[CreditKind] =
    &[CreditKind::Export, CreditKind::DirectDial, CreditKind::CallingCredits];
const MINUTE_KINDS: &[CreditKind] = &[CreditKind::CallingMinutes];

/// What a refused save shows again: the amounts typed, each kind's error, and a note.
#[derive(Default)]
struct Typed<'a> {
    form: Option<&'a FormData>,
    errors: &'a [(CreditKind, String)],
    problem: Option<String>,
}

async fn credits_page(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    raw: &str,
    kinds: &'static [CreditKind],
    typed: Typed<'_>,
) -> poem::Result<CreditsPage> {
    let Typed { form: typed, errors, problem } = typed;
    let row = row(web, viewer, raw).await?;
    let pools = web.accounts.credits().overview(&viewer.actor()).await.or_fail()?;
    let minutes = kinds == MINUTE_KINDS;
    let lines = kinds
        .iter()
        .map(|kind| {
            let b = row.balances.iter().find(|b| b.kind == *kind);
            let allocated = b.map_or(0, |b| b.allocated);
            KindLine {
                id: kind.as_str(),
                name: kind_name(*kind),
                allocated: amount(allocated),
                used: amount(b.map_or(0, |b| b.used)),
                available: amount(b.map_or(0, |b| b.available)),
                value: typed.map_or_else(|| allocated.to_string(), |f| f.text(kind.as_str())),
                error: errors.iter().find(|(k, _)| k == kind).map(|(_, m)| m.clone()),
            }
        })
        .collect();
    let free = pools
        .iter()
        .filter(|p| kinds.contains(&p.kind))
        .map(|p| (kind_name(p.kind).to_owned(), amount(p.headroom)))
        .collect();
    let heading = if minutes { "Allocate minutes" } else { "Manage credit" };
    Ok(CreditsPage {
        chrome: Chrome::new(web, req, viewer, Section::Team, heading),
        heading,
        action: format!(
            "/team/members/{}/{}",
            row.member.id,
            if minutes { "minutes" } else { "credits" }
        ),
        name: row.member.profile.display_name(),
        kinds: lines,
        free,
        problem,
        form_key: crate::pages::form_key(web),
    })
}

/// Sets each kind's allocation to the amount typed: allocates or reclaims the difference
/// from what the member holds now (so sending the form twice changes nothing the second
/// time). Each kind is its own unit of work; the page says which were refused.
async fn save(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    raw: &str,
    kinds: &'static [CreditKind],
    form: &FormData,
    done: &str,
) -> poem::Result<Response> {
    let row = row(web, viewer, raw).await?;
    let reason = form.opt("reason");
    let mut errors = Vec::new();
    let mut saved = 0;
    for kind in kinds {
        let Ok(target) = form.text(kind.as_str()).trim().parse::<i64>() else {
            errors.push((*kind, format!("{} must be a whole number.", kind_name(*kind))));
            continue;
        };
        if target < 0 {
            errors.push((*kind, format!("{} must not be negative.", kind_name(*kind))));
            continue;
        }
        let held = row.balances.iter().find(|b| b.kind == *kind).map_or(0, |b| b.allocated);
        let credits = web.accounts.credits();
        let key = crate::pages::idempotency_key(form, kind.as_str());
        let key = key.as_ref();
        let result = match target - held {
            0 => continue,
            up if up > 0 => {
                credits
                    .allocate(&viewer.actor(), row.member.id, *kind, up, reason.as_deref(), key)
                    .await
            }
            down => {
                credits
                    .reclaim(&viewer.actor(), row.member.id, *kind, -down, reason.as_deref(), key)
                    .await
            }
        };
        match result {
            Ok(_) => saved += 1,
            Err(
                e @ (AllocateError::InsufficientHeadroom { .. }
                | AllocateError::InsufficientUnspent { .. }
                | AllocateError::TargetDisabled
                | AllocateError::TargetIsAdmin),
            ) => errors.push((*kind, capitalised(&e.to_string()))),
            Err(AllocateError::Validation(v)) => {
                let text = v
                    .fields()
                    .iter()
                    .map(|f| format!("{} {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                errors.push((*kind, capitalised(&text)));
            }
            Err(e) => return Err(e).or_fail(),
        }
    }
    if errors.is_empty() {
        return Ok(see_other(format!("/team?notice={done}")));
    }
    let problem = (saved > 0)
        .then(|| "The other amounts were saved; the figures below are as they are now.".to_owned());
    let typed = Typed { form: Some(form), errors: &errors, problem };
    let page = credits_page(web, req, viewer, raw, kinds, typed).await?;
    Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
}

/// `GET /team/members/:id/credits`: Manage credit.
#[handler]
pub(crate) async fn credits_form(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    Ok(html(&credits_page(&web, req, &viewer, &raw, CREDIT_KINDS, Typed::default()).await?))
}

/// `POST /team/members/:id/credits`.
#[handler]
pub(crate) async fn save_credits(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    save(&web, req, &viewer, &raw, CREDIT_KINDS, &form, "credits-saved").await
}

/// `GET /team/members/:id/minutes`: Allocate minutes.
#[handler]
pub(crate) async fn minutes_form(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    Ok(html(&credits_page(&web, req, &viewer, &raw, MINUTE_KINDS, Typed::default()).await?))
}

/// `POST /team/members/:id/minutes`.
#[handler]
pub(crate) async fn save_minutes(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    save(&web, req, &viewer, &raw, MINUTE_KINDS, &form, "minutes-saved").await
}

fn refused(e: ChangeMemberError) -> poem::Result<Response> {
    Err(e).or_fail()
}

/// `POST /team/members/:id/password-reset`: mails the sub-user a reset link (rule 22).
#[handler]
pub(crate) async fn send_password_reset(
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let member: MemberId = id(&raw)?;
    web.accounts.password_reset().send_by_admin(&viewer.actor(), member).await.or_fail()?;
    Ok(see_other("/team?notice=password-reset-sent"))
}

/// `POST /team/members/:id/disable`.
#[handler]
pub(crate) async fn disable(
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let member: MemberId = id(&raw)?;
    match web.accounts.team().disable(&viewer.actor(), member).await {
        Ok(_) => Ok(see_other("/team?notice=member-disabled")),
        Err(e) => refused(e),
    }
}

/// `POST /team/members/:id/enable`.
#[handler]
pub(crate) async fn enable(
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let member: MemberId = id(&raw)?;
    match web.accounts.team().enable(&viewer.actor(), member).await {
        Ok(_) => Ok(see_other("/team?tab=disabled&notice=member-enabled")),
        Err(e) => refused(e),
    }
}

/// `POST /team/members/:id/invitation`.
#[handler]
pub(crate) async fn resend_invitation(
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let member: MemberId = id(&raw)?;
    match web.accounts.team().resend_invitation(&viewer.actor(), member).await {
        Ok(_) => Ok(see_other("/team?notice=invitation-resent")),
        Err(e) => refused(e),
    }
}
