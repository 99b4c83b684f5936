//! The profile page: personal details (inline errors, Save, Reset, a stale save shown as what
//! changed), and the sections other modules handle: products and services, preferences, API
//! keys, password, sessions, email change and account deletion. Under an impersonation the
//! sections rule 16 keeps from the admin (password, email, API keys, deletion) are not shown.

use std::sync::Arc;

use account_core::domain::member::{Member, Role};
use account_core::domain::preferences::ExportFormat;
use account_core::domain::products::Offering;
use account_core::services::profile::{ProfileInput, SaveProfileError};
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, Section, html, html_status, see_other};
use crate::pages::OrFail;
use crate::session::Viewer;
use crate::text::local;

/// The editable profile fields, as saved or as typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProfileForm {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub company: String,
    pub job_title: String,
    pub linkedin: String,
    /// The version the form was based on (rule 6).
    pub version: u64,
}

fn text<T: std::fmt::Display>(v: Option<&T>) -> String {
    v.map(ToString::to_string).unwrap_or_default()
}

impl ProfileForm {
    /// The saved profile of `member`.
    pub(crate) fn of(member: &Member) -> Self {
        let p = &member.profile;
        Self {
            first_name: p.first_name.to_string(),
            last_name: text(p.last_name.as_ref()),
            phone: text(p.phone.as_ref()),
            company: text(p.company.as_ref()),
            job_title: text(p.job_title.as_ref()),
            linkedin: text(p.linkedin.as_ref()),
            version: member.profile_version,
        }
    }

    /// The fields as submitted.
    pub(crate) fn submitted(form: &FormData) -> Self {
        Self {
            first_name: form.text("first_name"),
            last_name: form.text("last_name"),
            phone: form.text("phone"),
            company: form.text("company"),
            job_title: form.text("job_title"),
            linkedin: form.text("linkedin"),
            version: form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }

    /// The domain's input.
    pub(crate) fn input(&self) -> ProfileInput {
        let opt = |s: &String| Some(s.clone()).filter(|v| !v.trim().is_empty());
        ProfileInput {
            first_name: self.first_name.clone(),
            last_name: opt(&self.last_name),
            phone: opt(&self.phone),
            company: opt(&self.company),
            job_title: opt(&self.job_title),
            linkedin: opt(&self.linkedin),
        }
    }

    fn fields(&self) -> [(&'static str, &String); 6] {
        [
            ("First name", &self.first_name),
            ("Last name", &self.last_name),
            ("Phone number", &self.phone),
            ("Company name", &self.company),
            ("Job title", &self.job_title),
            ("LinkedIn URL", &self.linkedin),
        ]
    }

    /// What someone else saved meanwhile, field by field, against what was typed here.
    pub(crate) fn changes(saved: &Self, typed: &Self) -> Vec<Change> {
        saved
            .fields()
            .into_iter()
            .zip(typed.fields())
            .filter(|((_, s), (_, t))| s.trim() != t.trim())
            .map(|((label, s), (_, t))| Change { label, saved: s.clone(), yours: t.clone() })
            .collect()
    }
}

/// One field that differs between the saved profile and the stale form.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub label: &'static str,
    pub saved: String,
    pub yours: String,
}

/// A catalogue entry as a checkbox.
#[derive(Debug, Clone)]
pub(crate) struct CatalogueOption {
    pub id: String,
    pub name: String,
    pub checked: bool,
    pub retired: bool,
}

/// The preferences form.
#[derive(Debug, Clone)]
pub(crate) struct PrefsForm {
    pub low_credit_alerts: bool,
    pub weekly_usage_digest: bool,
    pub product_news: bool,
    pub xlsx: bool,
    pub include_emails: bool,
    pub include_phone_numbers: bool,
    pub timezone: String,
}

/// One API key in the list.
#[derive(Debug, Clone)]
pub(crate) struct KeyRow {
    pub id: String,
    pub label: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
}

/// One session in the list.
#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub id: String,
    pub created: String,
    pub last_seen: String,
    pub client: String,
    pub current: bool,
}

/// The whole profile page.
#[derive(Template)]
#[template(path = "profile.html")]
pub(crate) struct ProfilePage {
    pub chrome: Chrome,
    pub impersonating: bool,
    pub email: String,
    pub username: String,
    pub organisation: String,
    pub role: &'static str,
    pub form: ProfileForm,
    pub errors: FieldErrors,
    pub stale: Vec<Change>,
    pub email_change: Option<&'static str>,
    pub catalogue: Vec<CatalogueOption>,
    pub custom_offerings: String,
    pub offering_errors: FieldErrors,
    pub prefs: PrefsForm,
    pub pref_errors: FieldErrors,
    pub timezones: Vec<(&'static str, bool)>,
    pub keys: Vec<KeyRow>,
    pub key_errors: FieldErrors,
    pub password_errors: FieldErrors,
    pub sessions: Vec<SessionRow>,
    pub tz: &'static str,
}

impl ProfilePage {
    /// The page as saved.
    pub(crate) async fn load(web: &Web, req: &Request, viewer: &Viewer) -> poem::Result<Self> {
        let accounts = &web.accounts;
        let actor = viewer.actor();
        let member = &viewer.me.member;
        let tz = viewer.tz();
        let impersonating = viewer.impersonating();

        let active = accounts.profile().catalogue(&actor).await.or_fail()?;
        let every = accounts.profile().catalogue_names(&actor).await.or_fail()?;
        let chosen: Vec<_> = member
            .offerings
            .iter()
            .filter_map(|o| match o {
                Offering::Catalogue(id) => Some(*id),
                Offering::Custom(_) => None,
            })
            .collect();
        let mut catalogue: Vec<CatalogueOption> = active
            .iter()
            .map(|p| CatalogueOption {
                id: p.id.to_string(),
                name: p.name.as_str().to_owned(),
                checked: chosen.contains(&p.id),
                retired: false,
            })
            .collect();
        catalogue.extend(every.iter().filter(|p| !p.active && chosen.contains(&p.id)).map(|p| {
            CatalogueOption {
                id: p.id.to_string(),
                name: p.name.as_str().to_owned(),
                checked: true,
                retired: true,
            }
        }));
        let custom_offerings = member
            .offerings
            .iter()
            .filter_map(|o| match o {
                Offering::Custom(name) => Some(name.as_str()),
                Offering::Catalogue(_) => None,
            })
            .collect::<Vec<_>>()
            .join("\n");

        let p = &member.preferences;
        let prefs = PrefsForm {
            low_credit_alerts: p.notifications.low_credit_alerts,
            weekly_usage_digest: p.notifications.weekly_usage_digest,
            product_news: p.notifications.product_news,
            xlsx: p.export.format == ExportFormat::Xlsx,
            include_emails: p.export.include_emails,
            include_phone_numbers: p.export.include_phone_numbers,
            timezone: p.timezone.name().to_owned(),
        };

        let (keys, email_change) = if impersonating {
            (Vec::new(), None)
        } else {
            let keys = accounts.api_keys().list(&actor).await.or_fail()?;
            let keys = keys
                .into_iter()
                .map(|k| KeyRow {
                    id: k.id.to_string(),
                    label: k.label.map(|l| l.to_string()).unwrap_or_default(),
                    prefix: k.prefix,
                    created: local(k.created_at, tz),
                    last_used: k.last_used_at.map_or_else(|| "never".to_owned(), |t| local(t, tz)),
                })
                .collect();
            let flow = accounts.email_change().status(&actor).await.or_fail()?;
            (keys, flow.map(|f| f.stage))
        };

        let sessions = accounts
            .auth()
            .sessions(&actor)
            .await
            .or_fail()?
            .into_iter()
            .map(|s| SessionRow {
                id: s.id.to_string(),
                created: local(s.created_at, tz),
                last_seen: local(s.last_seen_at, tz),
                client: s.client.map(|c| c.to_string()).unwrap_or_else(|| "unknown".to_owned()),
                current: s.current,
            })
            .collect();

        Ok(Self {
            chrome: Chrome::new(web, req, viewer, Section::Profile, "Profile"),
            impersonating,
            email: member.email.as_str().to_owned(),
            username: member.username.as_str().to_owned(),
            organisation: viewer.me.organisation.name.to_string(),
            role: if member.role == Role::Admin { "Admin" } else { "Sub-user" },
            form: ProfileForm::of(member),
            errors: FieldErrors::none(),
            stale: Vec::new(),
            email_change,
            catalogue,
            custom_offerings,
            offering_errors: FieldErrors::none(),
            timezones: chrono_tz::TZ_VARIANTS
                .iter()
                .map(|z| (z.name(), z.name() == prefs.timezone))
                .collect(),
            prefs,
            pref_errors: FieldErrors::none(),
            keys,
            key_errors: FieldErrors::none(),
            password_errors: FieldErrors::none(),
            sessions,
            tz: tz.name(),
        })
    }

    /// The step of an email change in progress, in words.
    pub(crate) fn email_change_step(&self) -> &'static str {
        match self.email_change {
            Some("awaiting_current_code") => "step 1 of 3: the code sent to your current address",
            Some("awaiting_new_address") => "step 2 of 3: your new address",
            Some(_) => "step 3 of 3: the code sent to your new address",
            None => "",
        }
    }
}

/// `GET /profile`.
#[handler]
pub(crate) async fn show(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
) -> poem::Result<Response> {
    Ok(html(&ProfilePage::load(&web, req, &viewer).await?))
}

/// `POST /profile`: Save.
#[handler]
pub(crate) async fn save(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    let typed = ProfileForm::submitted(&form);
    let actor = viewer.actor();
    match web.accounts.profile().save_profile(&actor, &typed.input(), typed.version).await {
        Ok(_) => Ok(see_other("/profile?notice=profile-saved")),
        Err(SaveProfileError::Validation(v)) => {
            let mut page = ProfilePage::load(&web, req, &viewer).await?;
            page.errors = FieldErrors::from_domain(&v, &[]);
            page.form = typed;
            Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(SaveProfileError::StaleVersion { .. }) => {
            let me = web.accounts.profile().me(&actor).await.or_fail()?;
            let saved = ProfileForm::of(&me.member);
            let mut page = ProfilePage::load(&web, req, &viewer).await?;
            page.stale = ProfileForm::changes(&saved, &typed);
            // Saving again now overwrites on purpose: the form is based on the new version.
            page.form = ProfileForm { version: saved.version, ..typed };
            Ok(html_status(&page, StatusCode::CONFLICT))
        }
        Err(e) => Err(e).or_fail(),
    }
}
