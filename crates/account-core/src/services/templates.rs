//! Plain-text mail templates. Codes and tokens appear only here, in bodies that are sealed
//! before they reach the outbox.

use chrono::{DateTime, Utc};

use super::Settings;
use crate::domain::email::EmailAddress;
use crate::domain::mail::MailMessage;
use crate::domain::secret::VerificationCode;

fn message(to: &EmailAddress, subject: String, body: String) -> MailMessage {
    MailMessage { to: to.clone(), subject, body }
}

fn footer(s: &Settings) -> String {
    format!("\n\n-- \n{} ({})\n", s.product_name, s.public_url)
}

pub(crate) fn invitation(
    s: &Settings,
    to: &EmailAddress,
    name: &str,
    org_name: &str,
    token: &str,
    expires_at: DateTime<Utc>,
) -> MailMessage {
    let subject = format!("You are invited to {org_name} on {}", s.product_name);
    let body = format!(
        "Hello {name},\n\nAn admin of {org_name} added you to {product}. Set your password to \
         start:\n\n  {url}/accept-invitation?token={token}\n\nOr send the token with a new \
         password to POST {url}/api/v1/auth/invitation:\n\n  {token}\n\nThe invitation \
         expires on {expires} UTC.{footer}",
        product = s.product_name,
        url = s.public_url,
        expires = expires_at.format("%Y-%m-%d %H:%M"),
        footer = footer(s),
    );
    message(to, subject, body)
}

pub(crate) fn code(
    s: &Settings,
    to: &EmailAddress,
    subject: &str,
    purpose: &str,
    code: &VerificationCode,
) -> MailMessage {
    let body = format!(
        "Hello,\n\n{purpose}\n\nYour code: {code}\n\nIt is valid for 10 minutes and works once. \
         If you did not ask for it, ignore this mail: nothing changes without the code.{footer}",
        code = code.expose(),
        footer = footer(s),
    );
    message(to, format!("{subject} - {}", s.product_name), body)
}

pub(crate) fn notice(s: &Settings, to: &EmailAddress, subject: &str, text: &str) -> MailMessage {
    let body = format!(
        "Hello,\n\n{text}\n\nIf this was not you, contact your admin or support at once.{footer}",
        footer = footer(s)
    );
    message(to, format!("{subject} - {}", s.product_name), body)
}

pub(crate) fn digest(s: &Settings, to: &EmailAddress, name: &str, lines: &[String]) -> MailMessage {
    let summary = if lines.is_empty() {
        "No credits were spent in the past seven days.".to_owned()
    } else {
        format!("Credits spent in the past seven days:\n\n{}", lines.join("\n"))
    };
    let body = format!(
        "Hello {name},\n\n{summary}\n\nYou receive this because the weekly usage digest is on \
         in your preferences.{footer}",
        footer = footer(s)
    );
    message(to, format!("Your weekly usage - {}", s.product_name), body)
}

pub(crate) fn password_reset(
    s: &Settings,
    to: &EmailAddress,
    name: &str,
    token: &str,
    expires_at: DateTime<Utc>,
) -> MailMessage {
    let subject = format!("Reset your password - {}", s.product_name);
    let body = format!(
        "Hello {name},\n\nSomeone (we hope you) asked to reset the password of your account. \
         Choose a new one here:\n\n  {url}/reset-password?token={token}\n\nOr send this code \
         with a new password to POST {url}/api/v1/auth/password-reset/complete:\n\n  {token}\n\n\
         The link works once, until {expires} UTC (30 minutes). If you did not ask for it, \
         ignore this mail: your password stays as it is.{footer}",
        url = s.public_url,
        expires = expires_at.format("%Y-%m-%d %H:%M"),
        footer = footer(s),
    );
    message(to, subject, body)
}
