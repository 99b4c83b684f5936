//! The audit log (rule 21, admins): who, acting as whom, did what, on what, when; newest
//! first, a page at a time. Members are named by their current names (erased members by "a
//! deleted member").

use std::collections::HashMap;
use std::sync::Arc;

use account_core::domain::audit::{AuditCursor, AuditTarget, Principal};
use account_core::ids::{AuditEntryId, MemberId};
use account_core::ports::Page;
use askama::Template;
use chrono::DateTime;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::layout::{Chrome, Section, html};
use crate::pages::{OrFail, query};
use crate::session::Admin;
use crate::text::local;

const PAGE_ROWS: u32 = 50;

/// One entry.
#[derive(Debug, Clone)]
struct EntryLine {
    at: String,
    who: String,
    acting_as: String,
    action: &'static str,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<EntryLine>,
    next: Option<String>,
    first: bool,
    tz: &'static str,
}

fn cursor(raw: &str) -> Option<AuditCursor> {
    let (at, id) = raw.split_once('_')?;
    let at = DateTime::parse_from_rfc3339(at).ok()?.to_utc();
    let id = id.parse::<AuditEntryId>().ok()?;
    Some(AuditCursor { at, id })
}

/// `GET /audit?after=…`.
#[handler]
pub(crate) async fn show(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
) -> poem::Result<Response> {
    let actor = viewer.actor();
    let after = query(req).get("after").and_then(cursor);
    let mut entries =
        web.accounts.audit().list(&actor, Page { after, limit: PAGE_ROWS + 1 }).await.or_fail()?;
    let more = entries.len() > usize::try_from(PAGE_ROWS).unwrap_or(usize::MAX);
    entries.truncate(usize::try_from(PAGE_ROWS).unwrap_or(usize::MAX));
    let names: HashMap<MemberId, String> = crate::pages::team::members_for_lists(&web, &actor)
        .await?
        .into_iter()
        .map(|r| (r.member.id, r.member.profile.display_name()))
        .collect();
    let name =
        |id: MemberId| names.get(&id).cloned().unwrap_or_else(|| "a deleted member".to_owned());
    let tz = viewer.tz();
    let next = if more {
        entries
            .last()
            .map(|e| format!("/audit?after={}_{}", e.at.format("%Y-%m-%dT%H:%M:%S%.fZ"), e.id))
    } else {
        None
    };
    let lines = entries
        .iter()
        .map(|e| EntryLine {
            at: local(e.at, tz),
            who: match e.actor {
                Principal::Member(id) => name(id),
                Principal::Operator => "Support".to_owned(),
                Principal::System => "The system".to_owned(),
            },
            acting_as: e.acting_as.map(name).unwrap_or_default(),
            action: e.action.as_str(),
            target: match e.target {
                AuditTarget::Member(id) => format!("member {}", name(id)),
                other => other.to_string(),
            },
            detail: e.detail.clone(),
        })
        .collect();
    Ok(html(&AuditPage {
        chrome: Chrome::new(&web, req, &viewer, Section::Audit, "Audit log"),
        entries: lines,
        next,
        first: after.is_some(),
        tz: tz.name(),
    }))
}
