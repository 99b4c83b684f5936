//! Preferences (rule 19): notification switches, default export options, time zone.

use serde::Serialize;

use super::timezone::Timezone;

/// Which notifications a member receives by mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NotificationSettings {
    /// Mail when credits allocated to me run low.
    pub low_credit_alerts: bool,
    /// A weekly usage summary, Monday 08:00 in my time zone.
    pub weekly_usage_digest: bool,
    /// News about products.
    pub product_news: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self { low_credit_alerts: true, weekly_usage_digest: false, product_news: false }
    }
}

/// File format of exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Comma-separated values.
    #[default]
    Csv,
    /// Excel workbook.
    Xlsx,
}

impl ExportFormat {
    /// Stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }
}

/// Defaults applied to a member's exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportDefaults {
    /// File format.
    pub format: ExportFormat,
    /// Include email addresses.
    pub include_emails: bool,
    /// Include phone numbers.
    pub include_phone_numbers: bool,
}

impl Default for ExportDefaults {
    fn default() -> Self {
        Self { format: ExportFormat::Csv, include_emails: true, include_phone_numbers: true }
    }
}

/// A member's preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Preferences {
    /// Notification switches.
    pub notifications: NotificationSettings,
    /// Export defaults.
    pub export: ExportDefaults,
    /// The zone reports and schedules use. A change applies from now on: anything already
    /// scheduled keeps the zone it was scheduled in.
    pub timezone: Timezone,
}
