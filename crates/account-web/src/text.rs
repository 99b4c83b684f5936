//! Words the pages show: field labels, notices after a redirect, credit kind names, dates in
//! the viewer's time zone.

use account_core::domain::credits::CreditKind;
use account_core::domain::timezone::Timezone;
use chrono::{DateTime, Utc};

/// The label of a form field, for error sentences.
pub(crate) fn field_label(field: &str) -> &str {
    match field {
        "first_name" => "First name",
        "last_name" => "Last name",
        "phone" => "Phone number",
        "company" => "Company name",
        "job_title" => "Job title",
        "linkedin" => "LinkedIn URL",
        "email" => "Email",
        "password" => "Password",
        "new_password" => "New password",
        "current_password" => "Current password",
        "timezone" => "Time zone",
        "label" => "Label",
        "reason" => "Reason",
        "contact_person" => "Contact person",
        "postal_address" => "Address",
        "company_name" => "Company name",
        "purchase_order_number" => "Purchase order number",
        "new_email" => "New email",
        "new_email_repeat" => "New email, again",
        "code" => "Code",
        "from" => "From",
        "to" => "To",
        "offerings" => "Products and services",
        _ => field,
    }
}

/// A message after a redirect (`?notice=`): only these fixed texts, never text from the URL.
pub(crate) fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "logged-out" => "You are logged out.",
        "session-ended" => "Your session has ended. Log in again.",
        "invitation-accepted" => "Your password is set. Log in with your email and new password.",
        "deleted" => "Your account is deleted.",
        "profile-saved" => "Your profile is saved.",
        "reset" => "The form shows your saved profile again.",
        "offerings-saved" => "Your products and services are saved.",
        "preferences-saved" => "Your preferences are saved.",
        "password-changed" => "Your password is changed; your other sessions were logged out.",
        "key-revoked" => "The API key is revoked.",
        "session-revoked" => "The session is logged out.",
        "sessions-revoked" => "Your other sessions are logged out.",
        "email-changed" => "Your login email is changed; your other sessions were logged out.",
        "email-cancelled" => "The email change is cancelled.",
        "member-added" => "The user is added and an invitation is on its way.",
        "member-saved" => "The user's profile is saved.",
        "plan-changed" => "The user's plan is changed.",
        "credits-saved" => "The credits are allocated.",
        "minutes-saved" => "The calling minutes are allocated.",
        "member-disabled" => "The user is disabled.",
        "member-enabled" => "The user is enabled.",
        "invitation-resent" => "A new invitation is on its way.",
        "password-reset-sent" => "A password reset link is on its way to the user.",
        "password-reset" => {
            "Your password is set and every session of yours was logged out. Log in with your \
             email and new password."
        }
        "impersonating" => "You are now viewing the console as this user.",
        "impersonation-ended" => "You are back in your own session.",
        "customer-info-saved" => "The customer info is updated.",
        "contact-added" => "A code is on its way to the new address.",
        "contact-verified" => "The address is verified. Choose its roles.",
        "contact-roles-saved" => "The roles are saved.",
        "contact-removed" => "The address is removed.",
        "code-resent" => "A new code is on its way.",
        _ => return None,
    })
}

/// The name of a credit kind, as the Manage Users page shows it.
pub(crate) fn kind_name(kind: CreditKind) -> &'static str {
    match kind {
        CreditKind::Export => "Export credits",
        CreditKind::DirectDial => "Direct dial credits",
        CreditKind::CallingCredits => "Calling credits",
        CreditKind::CallingMinutes => "Calling minutes",
    }
}

/// A moment in the viewer's zone, to the minute.
pub(crate) fn local(at: DateTime<Utc>, tz: Timezone) -> String {
    at.with_timezone(&tz.tz()).format("%Y-%m-%d %H:%M").to_string()
}

/// A whole number with thin groups, as people read amounts (`12 500`).
pub(crate) fn amount(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The domain's messages start in lower case, to follow a field name; alone they start a
/// sentence.
pub(crate) fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped() {
        assert_eq!(amount(0), "0");
        assert_eq!(amount(999), "999");
        assert_eq!(amount(5000), "5\u{202f}000");
        assert_eq!(amount(-1_234_567), "-1\u{202f}234\u{202f}567");
    }

    #[test]
    fn notices_are_fixed_texts() {
        assert!(notice("profile-saved").is_some());
        assert!(notice("<script>").is_none());
    }
}
