//! The bench's set-up calls (creating organisations, logging in through the API and through the
//! console's form, creating API keys) over ureq, the client the black-box tests use too. The
//! load itself comes from wrk.

use std::time::Duration;

/// A response: status, body and the cookies it sets.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// `name=value` of each `Set-Cookie` (attributes dropped).
    pub cookies: Vec<String>,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body).map_err(|e| format!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one request to `addr` (`host:port`) with a JSON body, if any; any status is a
/// reply, not an error.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Reply, String> {
    send(addr, method, path, headers, body.map(|b| ("application/json", b)))
}

/// Sends one request with a body of the given content type; redirects are answers, not
/// followed (the console's log-in answers 303 with its cookie).
pub fn send(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Result<Reply, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut builder =
        ureq::http::Request::builder().method(method).uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let sent = match body {
        Some((content_type, body)) => builder
            .header("Content-Type", content_type)
            .body(body.to_owned())
            .map(|request| agent.run(request)),
        None => builder.body(()).map(|request| agent.run(request)),
    };
    let fail = |e: &dyn std::fmt::Display| format!("{method} {path}: {e}");
    let mut response = sent.map_err(|e| fail(&e))?.map_err(|e| fail(&e))?;
    let status = response.status().as_u16();
    let cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(|c| c.trim().to_owned()))
        .collect();
    let body = response.body_mut().read_to_string().map_err(|e| fail(&e))?;
    Ok(Reply { status, body, cookies })
}

/// `application/x-www-form-urlencoded` of `fields`.
pub fn form(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The value of the first `<input … name="{name}" value="…">` in `html`, unescaped.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let value = rest[..rest.find('>')?].split("value=\"").nth(1)?.split('"').next()?;
    Some(unescape(value))
}

/// Undoes HTML escaping of an attribute value (named, decimal and hexadecimal references).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .or_else(|| e.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_url_encoded() {
        assert_eq!(form(&[("a b", "x+y/z="), ("e", "m@b.test")]), "a+b=x%2By%2Fz%3D&e=m%40b.test");
    }

    #[test]
    fn hidden_inputs_are_found_and_unescaped() {
        let html = r#"<form><input type="email" name="email" value=""><input type="hidden" name="csrf_token" value="ab&#x2f;c&#43;d&amp;=="></form>"#;
        assert_eq!(input_value(html, "csrf_token").as_deref(), Some("ab/c+d&=="));
        assert_eq!(input_value(html, "email").as_deref(), Some(""));
        assert_eq!(input_value(html, "nope"), None);
    }
}
