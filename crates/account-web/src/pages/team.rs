//! Manage Users (admins only): the licence summary in all and per plan, a progress bar per team
//! credit pool, the
//! Enabled and Disabled tabs (name, email, plan, credits) with search and pages, each row's
//! actions, and Add users. Sub-users see no link to it and get the 403 page.

use std::sync::Arc;

use account_core::Actor;
use account_core::domain::credits::CreditKind;
use account_core::domain::member::{MemberStatus, Role};
use account_core::ids::MemberId;
use account_core::ports::Page;
use account_core::services::team::{AddMemberError, MemberRow, NewMember, TeamSummary};
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, Section, html, html_status, see_other};
use crate::pages::{OrFail, query};
use crate::session::Admin;
use crate::text::{amount, kind_name};

/// Rows per page of the member list.
const PAGE_ROWS: usize = 25;
/// Members read from the store per step of a search.
const STEP: u32 = 200;
/// Most members one search request reads before it offers to go on.
const SEARCH_BUDGET: usize = 5_000;
/// Most members the pickers of other pages list.
const PICKER_MAX: usize = 1_000;

/// One pool's bar.
#[derive(Debug, Clone)]
pub(crate) struct PoolBar {
    pub id: &'static str,
    pub name: &'static str,
    /// Allocated to members or spent from the pool: what the bar fills.
    pub committed: i64,
    pub total: i64,
    pub committed_text: String,
    pub total_text: String,
    pub allocated: String,
    pub used: String,
    pub free: String,
}

/// One member in the list.
#[derive(Debug, Clone)]
pub(crate) struct MemberLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub plan: String,
    pub credits: String,
    pub admin: bool,
    pub enabled: bool,
    pub invited: bool,
    pub is_me: bool,
}

/// One plan's line of the summary.
#[derive(Debug, Clone)]
pub(crate) struct PlanLine {
    pub name: String,
    pub licences: u32,
    pub enabled: u32,
    pub disabled: u32,
    pub free: u32,
}

impl PlanLine {
    pub(crate) fn of(summary: &TeamSummary) -> Vec<Self> {
        summary
            .plans
            .iter()
            .map(|p| Self {
                name: p.plan.to_string(),
                licences: p.licences,
                enabled: p.enabled,
                disabled: p.disabled,
                free: p.licences.saturating_sub(p.enabled),
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    enabled_count: u32,
    disabled_count: u32,
    licences: u32,
    plans: Vec<PlanLine>,
    pools: Vec<PoolBar>,
    disabled_tab: bool,
    search: String,
    members: Vec<MemberLine>,
    next: Option<String>,
    first_href: Option<String>,
}

fn credits_text(row: &MemberRow) -> String {
    let parts: Vec<String> = row
        .balances
        .iter()
        .filter(|b| b.allocated > 0)
        .map(|b| format!("{} {}", amount(b.allocated), short_kind(b.kind)))
        .collect();
    if parts.is_empty() { "none".to_owned() } else { parts.join(", ") }
}

fn short_kind(kind: CreditKind) -> &'static str {
    match kind {
        CreditKind::Export => "export",
        CreditKind::DirectDial => "direct dial",
        CreditKind::CallingCredits => "calling",
        CreditKind::CallingMinutes => "min",
    }
}

fn matches(row: &MemberRow, needle: &str) -> bool {
    needle.is_empty()
        || row.member.profile.display_name().to_lowercase().contains(needle)
        || row.member.email.as_str().to_lowercase().contains(needle)
        || row.member.username.as_str().to_lowercase().contains(needle)
}

/// A page of the list: rows matching `needle` after `after`, and where the next page starts.
/// The store pages by id; a search reads on until it has a page of matches, or its budget
/// is spent (then "Next" goes on from where it stopped).
async fn page_of(
    web: &Web,
    actor: &Actor,
    status: MemberStatus,
    needle: &str,
    mut after: Option<MemberId>,
) -> poem::Result<(Vec<MemberRow>, Option<MemberId>)> {
    let mut found = Vec::new();
    let mut read = 0usize;
    loop {
        let batch = web
            .accounts
            .team()
            .members(actor, Some(status), Page { after, limit: STEP })
            .await
            .or_fail()?;
        let full = batch.len() == usize::try_from(STEP).unwrap_or(usize::MAX);
        for row in batch {
            read += 1;
            after = Some(row.member.id);
            if matches(&row, needle) {
                found.push(row);
                if found.len() == PAGE_ROWS {
                    return Ok((found, after));
                }
            }
        }
        if !full {
            return Ok((found, None));
        }
        if read >= SEARCH_BUDGET {
            return Ok((found, after));
        }
    }
}

/// Every member (enabled first), for the pickers of other pages, up to [`PICKER_MAX`].
pub(crate) async fn members_for_lists(web: &Web, actor: &Actor) -> poem::Result<Vec<MemberRow>> {
    let mut out = Vec::new();
    for status in [MemberStatus::Enabled, MemberStatus::Disabled] {
        let mut after = None;
        loop {
            let batch = web
                .accounts
                .team()
                .members(actor, Some(status), Page { after, limit: STEP })
                .await
                .or_fail()?;
            let full = batch.len() == usize::try_from(STEP).unwrap_or(usize::MAX);
            after = batch.last().map(|r| r.member.id);
            out.extend(batch);
            if !full || out.len() >= PICKER_MAX {
                break;
            }
        }
    }
    out.truncate(PICKER_MAX);
    Ok(out)
}

/// `GET /team?tab=enabled|disabled&q=…&after=…`.
#[handler]
pub(crate) async fn show(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
) -> poem::Result<Response> {
    let actor = viewer.actor();
    let q = query(req);
    let disabled_tab = q.get("tab") == Some("disabled");
    let search = q.text("q").trim().to_owned();
    let after = q.get("after").and_then(|a| a.parse::<MemberId>().ok());
    let summary = web.accounts.team().summary(&actor).await.or_fail()?;
    let pools = web
        .accounts
        .credits()
        .overview(&actor)
        .await
        .or_fail()?
        .into_iter()
        .map(|p| {
            let committed = p.total - p.headroom;
            PoolBar {
                id: p.kind.as_str(),
                name: kind_name(p.kind),
                committed,
                total: p.total.max(1),
                committed_text: amount(committed),
                total_text: amount(p.total),
                allocated: amount(p.allocated),
                used: amount(p.used),
                free: amount(p.headroom),
            }
        })
        .collect();
    let status = if disabled_tab { MemberStatus::Disabled } else { MemberStatus::Enabled };
    let (rows, next) = page_of(&web, &actor, status, &search.to_lowercase(), after).await?;
    let tab = if disabled_tab { "disabled" } else { "enabled" };
    let base = format!("/team?tab={tab}&q={}", crate::pages::team::enc(&search));
    let members = rows
        .iter()
        .map(|r| MemberLine {
            id: r.member.id.to_string(),
            name: r.member.profile.display_name(),
            email: r.member.email.as_str().to_owned(),
            plan: r.member.plan.to_string(),
            credits: credits_text(r),
            admin: r.member.role == Role::Admin,
            enabled: r.member.status == MemberStatus::Enabled,
            invited: r.member.invitation.is_some() && r.member.password.is_none(),
            is_me: r.member.id == viewer.me.member.id,
        })
        .collect();
    let page = TeamPage {
        chrome: Chrome::new(&web, req, &viewer, Section::Team, "Manage users"),
        enabled_count: summary.enabled,
        disabled_count: summary.disabled,
        licences: summary.licences,
        plans: PlanLine::of(&summary),
        pools,
        disabled_tab,
        members,
        next: next.map(|id| format!("{base}&after={id}")),
        first_href: after.map(|_| base.clone()),
        search,
    };
    Ok(html(&page))
}

/// Percent-encodes a search for a link.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "team_add.html")]
struct AddPage {
    chrome: Chrome,
    first_name: String,
    last_name: String,
    email: String,
    /// The plan picked; the first plan with a free licence when nothing was picked yet.
    plan: String,
    plans: Vec<PlanLine>,
    errors: FieldErrors,
    free: u32,
    form_key: String,
}

async fn add_page(
    web: &Web,
    req: &Request,
    viewer: &crate::session::Viewer,
    form: Option<&FormData>,
    errors: FieldErrors,
) -> poem::Result<AddPage> {
    let summary = web.accounts.team().summary(&viewer.actor()).await.or_fail()?;
    let plans = PlanLine::of(&summary);
    let plan = form.map(|f| f.text("plan")).filter(|p| !p.is_empty()).unwrap_or_else(|| {
        plans
            .iter()
            .find(|p| p.free > 0)
            .or(plans.first())
            .map(|p| p.name.clone())
            .unwrap_or_default()
    });
    Ok(AddPage {
        chrome: Chrome::new(web, req, viewer, Section::Team, "Add users"),
        first_name: form.map(|f| f.text("first_name")).unwrap_or_default(),
        last_name: form.map(|f| f.text("last_name")).unwrap_or_default(),
        email: form.map(|f| f.text("email")).unwrap_or_default(),
        plan,
        plans,
        errors,
        free: summary.licences.saturating_sub(summary.enabled),
        form_key: crate::pages::form_key(web),
    })
}

/// `GET /team/add`.
#[handler]
pub(crate) async fn add_form(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
) -> poem::Result<Response> {
    Ok(html(&add_page(&web, req, &viewer, None, FieldErrors::none()).await?))
}

/// `POST /team/add`: name and email; the new sub-user gets an invitation and no credits.
#[handler]
pub(crate) async fn add(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    form: FormData,
) -> poem::Result<Response> {
    let new = NewMember {
        first_name: form.text("first_name"),
        last_name: form.opt("last_name"),
        email: form.text("email"),
        plan: form.opt("plan"),
    };
    let key = crate::pages::idempotency_key(&form, "add-member");
    let errors = match web.accounts.team().add_member(&viewer.actor(), &new, key.as_ref()).await {
        Ok(_) => return Ok(see_other("/team?notice=member-added")),
        Err(AddMemberError::Validation(v)) => FieldErrors::from_domain(&v, &[]),
        Err(AddMemberError::EmailTaken) => {
            FieldErrors::one("email", "This address is already used by an account.")
        }
        Err(e @ AddMemberError::NoFreeLicence(_)) => {
            FieldErrors::one("plan", crate::text::capitalised(&e.to_string()))
        }
        Err(e) => return Err(e).or_fail(),
    };
    let page = add_page(&web, req, &viewer, Some(&form), errors).await?;
    Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
}
