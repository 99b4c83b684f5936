//! The operator's mail templates: a text layout and an HTML layout around the message the
//! domain wrote (`ACCOUNTS_MAIL_TEMPLATES_DIR`, files `layout.txt` and `layout.html`). Without
//! them a mail is the domain's plain text, as it was; with an HTML layout it becomes
//! `multipart/alternative` with both parts.
//!
//! Placeholders: `{{body}}` (required: it carries the codes and links), `{{subject}}`,
//! `{{product}}` and `{{url}}` (the product name and public URL). In the HTML layout the body
//! and subject are HTML-escaped and the body's paragraphs become `<p>` elements. Any other
//! `{{…}}` is refused at start, so a typo cannot send mail with a hole in it.

use std::path::Path;

use account_core::domain::mail::MailMessage;

/// The text layout's file name.
pub const TEXT_FILE: &str = "layout.txt";
/// The HTML layout's file name.
pub const HTML_FILE: &str = "layout.html";

const PLACEHOLDERS: [&str; 4] = ["body", "subject", "product", "url"];

/// Layouts of outgoing mail; the default wraps nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailLayout {
    text: Option<String>,
    html: Option<String>,
}

impl MailLayout {
    /// Reads the layouts of `dir` (either file may be missing, not both), with `product` and
    /// `url` filled in.
    ///
    /// # Errors
    /// What is wrong with the directory or a layout, naming the file.
    pub fn load(dir: &Path, product: &str, url: &str) -> Result<Self, String> {
        if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        let read = |name: &str| -> Result<Option<String>, String> {
            let path = dir.join(name);
            if !path.exists() {
                return Ok(None);
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            check(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(Some(text.replace("{{product}}", product).replace("{{url}}", url)))
        };
        let layout = Self { text: read(TEXT_FILE)?, html: read(HTML_FILE)? };
        if layout == Self::default() {
            return Err(format!("{} holds neither {TEXT_FILE} nor {HTML_FILE}", dir.display()));
        }
        Ok(layout)
    }

    /// The text part of `mail`.
    #[must_use]
    pub fn text(&self, mail: &MailMessage) -> String {
        match &self.text {
            Some(layout) => fill(layout, &mail.subject, &mail.body),
            None => mail.body.clone(),
        }
    }

    /// The HTML part of `mail`, when there is an HTML layout.
    #[must_use]
    pub fn html(&self, mail: &MailMessage) -> Option<String> {
        let layout = self.html.as_ref()?;
        let paragraphs: Vec<String> = mail
            .body
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .map(|p| format!("<p>{}</p>", escape(p.trim_matches('\n')).replace('\n', "<br>\n")))
            .collect();
        Some(fill(layout, &escape(&mail.subject), &paragraphs.join("\n")))
    }
}

/// Substitutes in one pass, so that text from the mail is never read as a placeholder.
fn fill(layout: &str, subject: &str, body: &str) -> String {
    let mut out = String::with_capacity(layout.len() + body.len());
    let mut rest = layout;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                match &after[..end] {
                    "body" => out.push_str(body),
                    "subject" => out.push_str(subject),
                    other => {
                        out.push_str("{{");
                        out.push_str(other);
                        out.push_str("}}");
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every placeholder is known, and the body is there.
fn check(layout: &str) -> Result<(), String> {
    let mut rest = layout;
    let mut body = false;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("a `{{` is not closed with `}}`")?;
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) || name != &after[..end] {
            return Err(format!(
                "unknown placeholder `{{{{{}}}}}`: use {}",
                &after[..end],
                PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
            ));
        }
        body |= name == "body";
        rest = &after[end + 2..];
    }
    if body {
        Ok(())
    } else {
        Err("the layout must contain {{body}}: it carries the codes and links".into())
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use account_core::domain::email::EmailAddress;

    use super::*;

    fn mail() -> MailMessage {
        MailMessage {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            subject: "Your code <now>".into(),
            body: "Hello,\n\nYour code: 123456\nuse it {{subject}}\n\nBye & thanks".into(),
        }
    }

    #[test]
    fn fills_both_parts_and_escapes_html() {
        let layout = MailLayout {
            text: Some("ACME\n{{body}}\n-- {{subject}}".into()),
            html: Some("<h1>{{subject}}</h1>{{body}}".into()),
        };
        let text = layout.text(&mail());
        assert!(text.starts_with("ACME\nHello,"), "{text}");
        assert!(text.contains("use it {{subject}}"), "mail text is not read as a placeholder");
        let html = layout.html(&mail()).unwrap();
        assert!(html.starts_with("<h1>Your code &lt;now&gt;</h1><p>Hello,</p>"), "{html}");
        assert!(html.contains("<p>Your code: 123456<br>\nuse it {{subject}}</p>"), "{html}");
        assert!(html.contains("Bye &amp; thanks"));
        assert_eq!(MailLayout::default().text(&mail()), mail().body);
        assert_eq!(MailLayout::default().html(&mail()), None);
    }

    #[test]
    fn refuses_layouts_that_would_lose_the_body_or_have_unknown_placeholders() {
        assert!(check("Hi {{body}} from {{product}} at {{url}}").is_ok());
        assert!(check("no body here").unwrap_err().contains("{{body}}"));
        assert!(check("{{body}} {{name}}").unwrap_err().contains("{{name}}"));
        assert!(check("{{body}} {{ body}}").is_err());
        assert!(check("{{body}} {{").is_err());
    }

    #[test]
    fn loads_a_directory_and_fills_product_and_url() {
        let dir = std::env::temp_dir().join(format!("layout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(MailLayout::load(&dir, "P", "U").unwrap_err().contains("neither"));
        std::fs::write(dir.join(HTML_FILE), "<b>{{product}}</b> {{url}} {{body}}").unwrap();
        let layout = MailLayout::load(&dir, "Acme Accounts", "https://a.example").unwrap();
        let html = layout.html(&mail()).unwrap();
        assert!(html.starts_with("<b>Acme Accounts</b> https://a.example <p>Hello,</p>"), "{html}");
        assert_eq!(layout.text(&mail()), mail().body, "no text layout: the domain's text");
        std::fs::write(dir.join(TEXT_FILE), "{{bdy}}").unwrap();
        assert!(MailLayout::load(&dir, "P", "U").unwrap_err().contains(TEXT_FILE));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
