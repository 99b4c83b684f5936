//! The bench's set-up calls (creating organisations, logging in, creating API keys) over ureq,
//! the client the black-box tests use too. The load itself comes from wrk.

use std::time::Duration;

/// A response: status and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body).map_err(|e| format!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one request to `addr` (`host:port`); any status is a reply, not an error.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Reply, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut builder =
        ureq::http::Request::builder().method(method).uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let sent = match body {
        Some(body) => builder
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .map(|request| agent.run(request)),
        None => builder.body(()).map(|request| agent.run(request)),
    };
    let fail = |e: &dyn std::fmt::Display| format!("{method} {path}: {e}");
    let mut response = sent.map_err(|e| fail(&e))?.map_err(|e| fail(&e))?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().map_err(|e| fail(&e))?;
    Ok(Reply { status, body })
}
