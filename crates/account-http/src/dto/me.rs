//! Bodies of the caller's own account: profile, preferences, products and services, password,
//! email change, deletion, credits.

use std::fmt;

use account_core::domain::member::Profile as CoreProfile;
use account_core::domain::preferences::{
    ExportDefaults as CoreExportDefaults, ExportFormat as CoreExportFormat,
    NotificationSettings as CoreNotifications, Preferences as CorePreferences,
};
use account_core::domain::products::{
    Offering as CoreOffering, OfferingInput as CoreOfferingInput, Product as CoreProduct,
};
use account_core::ids::ProductId;
use account_core::services::credits::MyCredits as CoreMyCredits;
use account_core::services::email_change::EmailChangeView;
use account_core::services::profile::{Me as CoreMe, PreferencesInput, ProfileInput};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use super::{Balance, MemberStatus, Role, Timestamp, page, ts};
use crate::errors::{Invalid, invalid_field};

/// The editable profile. On save, absent or empty optional fields clear the value.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Profile {
    /// First name (required).
    pub first_name: String,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Phone in E.164, like `+46701234567`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// LinkedIn profile URL, like `https://www.linkedin.com/in/your-name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkedin: Option<String>,
}

impl From<&CoreProfile> for Profile {
    fn from(p: &CoreProfile) -> Self {
        p.clone().into()
    }
}

impl From<CoreProfile> for Profile {
    fn from(p: CoreProfile) -> Self {
        Self {
            first_name: p.first_name.into_string(),
            last_name: p.last_name.map(|v| v.into_string()),
            phone: p.phone.map(|v| v.into_string()),
            company: p.company.map(|v| v.into_string()),
            job_title: p.job_title.map(|v| v.into_string()),
            linkedin: p.linkedin.map(|v| v.into_string()),
        }
    }
}

impl Profile {
    pub(crate) fn to_input(&self) -> ProfileInput {
        ProfileInput {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            phone: self.phone.clone(),
            company: self.company.clone(),
            job_title: self.job_title.clone(),
            linkedin: self.linkedin.clone(),
        }
    }
}

/// Set while the request runs under an impersonation.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct ImpersonationState {
    /// The admin acting as this member.
    pub admin_id: Uuid,
    /// When the impersonation ends.
    pub expires_at: Timestamp,
}

/// The caller: identity, profile, preferences and products and services.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Me {
    /// The member.
    pub id: Uuid,
    /// Their organisation.
    pub organisation_id: Uuid,
    /// The organisation's name.
    pub organisation_name: String,
    /// The username (changed by support only).
    pub username: String,
    /// The login email (changed through `/me/email-change`).
    pub email: String,
    /// Role.
    pub role: Role,
    /// Status.
    pub status: MemberStatus,
    /// The plan of the member's seat.
    pub plan: String,
    /// The profile; read `/me/profile` for its ETag.
    pub profile: Profile,
    /// Preferences.
    pub preferences: Preferences,
    /// When the member was created.
    pub created_at: Timestamp,
    /// Present while an admin impersonates this member (the page's banner).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub impersonation: Option<ImpersonationState>,
}

impl Me {
    /// The answer to `GET /me`, moving the strings out of what authentication read.
    pub(crate) fn new(me: CoreMe, impersonation: Option<ImpersonationState>) -> Self {
        let CoreMe { member: m, organisation } = me;
        Self {
            id: m.id.as_uuid(),
            organisation_id: m.org_id.as_uuid(),
            organisation_name: organisation.name.into_string(),
            username: m.username.into_string(),
            email: m.email.into_string(),
            role: m.role.into(),
            status: m.status.into(),
            plan: m.plan.into_string(),
            preferences: (&m.preferences).into(),
            created_at: m.created_at.into(),
            profile: m.profile.into(),
            impersonation,
        }
    }
}

/// File format of exports.
#[derive(serde::Serialize, Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "ExportFormat", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub(crate) enum ExportFormat {
    /// Comma-separated values.
    Csv,
    /// Excel workbook.
    Xlsx,
}

/// Notification switches.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Notifications {
    /// Mail when credits allocated to me run low.
    pub low_credit_alerts: bool,
    /// A weekly usage summary, Monday 08:00 in my time zone.
    pub weekly_usage_digest: bool,
    /// News about products.
    pub product_news: bool,
}

/// Defaults applied to exports.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct ExportDefaults {
    /// File format.
    pub format: ExportFormat,
    /// Include email addresses.
    pub include_emails: bool,
    /// Include phone numbers.
    pub include_phone_numbers: bool,
}

/// Preferences (a full replacement on save). A time-zone change applies from now on.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Preferences {
    /// Notification switches.
    pub notifications: Notifications,
    /// Export defaults.
    pub export: ExportDefaults,
    /// IANA time zone, like `Europe/Stockholm`.
    pub timezone: String,
}

impl From<&CorePreferences> for Preferences {
    fn from(p: &CorePreferences) -> Self {
        Self {
            notifications: Notifications {
                low_credit_alerts: p.notifications.low_credit_alerts,
                weekly_usage_digest: p.notifications.weekly_usage_digest,
                product_news: p.notifications.product_news,
            },
            export: ExportDefaults {
                format: match p.export.format {
                    CoreExportFormat::Csv => ExportFormat::Csv,
                    CoreExportFormat::Xlsx => ExportFormat::Xlsx,
                },
                include_emails: p.export.include_emails,
                include_phone_numbers: p.export.include_phone_numbers,
            },
            timezone: p.timezone.name().to_owned(),
        }
    }
}

impl Preferences {
    pub(crate) fn to_input(&self) -> PreferencesInput {
        PreferencesInput {
            notifications: CoreNotifications {
                low_credit_alerts: self.notifications.low_credit_alerts,
                weekly_usage_digest: self.notifications.weekly_usage_digest,
                product_news: self.notifications.product_news,
            },
            export: CoreExportDefaults {
                format: match self.export.format {
                    ExportFormat::Csv => CoreExportFormat::Csv,
                    ExportFormat::Xlsx => CoreExportFormat::Xlsx,
                },
                include_emails: self.export.include_emails,
                include_phone_numbers: self.export.include_phone_numbers,
            },
            timezone: self.timezone.clone(),
        }
    }
}

/// An entry of the products catalogue.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Product {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Inactive entries can no longer be picked.
    pub active: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

impl From<&CoreProduct> for Product {
    fn from(p: &CoreProduct) -> Self {
        Self {
            id: p.id.as_uuid(),
            name: p.name.as_str().to_owned(),
            active: p.active,
            created_at: p.created_at.into(),
        }
    }
}

page!(
    /// A page of catalogue entries.
    ProductPage,
    Product
);

/// One of the caller's products and services.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Offering {
    /// The catalogue entry, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub product_id: Option<Uuid>,
    /// The text, or the catalogue entry's name (absent for an entry no longer in the active
    /// catalogue).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
}

impl Offering {
    pub(crate) fn new(o: &CoreOffering, catalogue: &[CoreProduct]) -> Self {
        match o {
            CoreOffering::Catalogue(id) => Self {
                product_id: Some(id.as_uuid()),
                name: catalogue.iter().find(|p| p.id == *id).map(|p| p.name.as_str().to_owned()),
            },
            CoreOffering::Custom(name) => {
                Self { product_id: None, name: Some(name.as_str().to_owned()) }
            }
        }
    }
}

/// The caller's products and services.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Offerings {
    /// In the order given, de-duplicated.
    pub offerings: Vec<Offering>,
}

/// One entry to list: a catalogue entry (`product_id`) or free text (`text`), not both.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct OfferingInput {
    /// An active catalogue entry, or a retired one the caller already holds.
    pub product_id: Option<Uuid>,
    /// Free text; it becomes the catalogue entry when it names an active one.
    pub text: Option<String>,
}

/// The whole list of products and services (a full replacement).
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct OfferingsRequest {
    /// The entries, at most 20 different ones.
    pub offerings: Vec<OfferingInput>,
}

impl OfferingsRequest {
    /// The domain's inputs.
    ///
    /// # Errors
    /// `validation-failed` naming `offerings[i]` when an entry has both or neither field.
    pub(crate) fn to_inputs(&self) -> Result<Vec<CoreOfferingInput>, Invalid> {
        self.offerings
            .iter()
            .enumerate()
            .map(|(i, o)| match (&o.product_id, &o.text) {
                (Some(id), None) => Ok(CoreOfferingInput::Catalogue(ProductId::from_uuid(*id))),
                (None, Some(text)) => Ok(CoreOfferingInput::Text(text.clone())),
                _ => Err(invalid_field(
                    &format!("offerings[{i}]"),
                    "must have either product_id or text",
                )),
            })
            .collect()
    }
}

/// The current password and a new one.
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct ChangePasswordRequest {
    /// The current password.
    pub current_password: String,
    /// The new password: 12 to 128 characters, not a common one, not containing the email or
    /// username.
    pub new_password: String,
}

impl fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChangePasswordRequest { .. }")
    }
}

/// Where an email change stands.
#[derive(serde::Serialize, Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "EmailChangeStage", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub(crate) enum EmailChangeStage {
    /// A code went to the current address.
    #[serde(rename = "awaiting_current_code")]
    #[oai(rename = "awaiting_current_code")]
    CurrentCode,
    /// The current address is confirmed; waiting for the new address, typed twice.
    #[serde(rename = "awaiting_new_address")]
    #[oai(rename = "awaiting_new_address")]
    NewAddress,
    /// A code went to the new address.
    #[serde(rename = "awaiting_new_code")]
    #[oai(rename = "awaiting_new_code")]
    NewCode,
}

/// The caller's email change in progress.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct EmailChange {
    /// The step it is at.
    pub stage: EmailChangeStage,
    /// The new address, once submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub new_email: Option<String>,
    /// When the last code sent stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub code_expires_at: Option<Timestamp>,
    /// Wrong tries left for the current code.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub tries_left: Option<u8>,
    /// When the whole flow stops being usable.
    pub expires_at: Timestamp,
}

impl From<&EmailChangeView> for EmailChange {
    fn from(v: &EmailChangeView) -> Self {
        let stage = match v.stage {
            "awaiting_current_code" => EmailChangeStage::CurrentCode,
            "awaiting_new_address" => EmailChangeStage::NewAddress,
            _ => EmailChangeStage::NewCode,
        };
        Self {
            stage,
            new_email: v.new_email.as_ref().map(|e| e.as_str().to_owned()),
            code_expires_at: ts(v.code_expires_at),
            tries_left: v.tries_left,
            expires_at: v.expires_at.into(),
        }
    }
}

/// A verification code from a mail.
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CodeRequest {
    /// The 6 digits (spaces and hyphens are ignored).
    pub code: String,
}

impl fmt::Debug for CodeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeRequest { .. }")
    }
}

/// The new login email, typed twice.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct NewEmailRequest {
    /// The new address.
    pub new_email: String,
    /// The same address again.
    pub new_email_repeat: String,
}

/// The login email after a change.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct EmailChanged {
    /// The new login email.
    pub email: String,
}

/// Confirms deleting the caller's account: the password, or the username typed out (one).
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct DeleteAccountRequest {
    /// The password.
    pub password: Option<String>,
    /// The username, typed out.
    pub username: Option<String>,
}

impl fmt::Debug for DeleteAccountRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeleteAccountRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A new API key's label.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CreateApiKeyRequest {
    /// A label, like `CRM sync`.
    pub label: Option<String>,
}

/// What the caller can spend, per kind.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct MyCredits {
    /// True for admins, who spend the team pool's unallocated credits.
    pub spends_from_pool: bool,
    /// One balance per kind.
    pub balances: Vec<Balance>,
}

impl From<&CoreMyCredits> for MyCredits {
    fn from(c: &CoreMyCredits) -> Self {
        Self {
            spends_from_pool: c.spends_from_pool,
            balances: c.balances.iter().map(Into::into).collect(),
        }
    }
}
