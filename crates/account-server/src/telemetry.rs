//! Logging: tracing to standard error, as text or one JSON object per line, filtered by
//! `ACCOUNTS_LOG` (or `RUST_LOG`); with the `otlp` feature and `ACCOUNTS_OTLP_ENDPOINT` set,
//! the same spans also exported over OTLP (`crate::otlp`).

use std::io::IsTerminal;

use tracing_subscriber::layer::Layered;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// What the output layers sit on: the registry behind the level filter.
type Filtered = Layered<EnvFilter, Registry>;

#[cfg(feature = "otlp")]
static PROVIDER: std::sync::OnceLock<opentelemetry_sdk::trace::SdkTracerProvider> =
    std::sync::OnceLock::new();

/// Installs the global subscriber, exporting spans to `otlp_endpoint` when given (only set
/// when the binary has the `otlp` feature: the configuration refuses it otherwise). Calling it
/// twice is harmless (the second call does nothing).
///
/// # Errors
/// A message when the exporter cannot be set up.
pub fn init(format: LogFormat, filter: &str, otlp_endpoint: Option<&str>) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal; files and log collectors get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    #[cfg_attr(not(feature = "otlp"), allow(unused_mut))]
    let mut layers: Vec<Box<dyn Layer<Filtered> + Send + Sync>> = vec![match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).with_current_span(false).boxed(),
    }];
    #[cfg(feature = "otlp")]
    if let Some(endpoint) = otlp_endpoint {
        let provider = crate::otlp::provider(endpoint)?;
        layers.push(crate::otlp::layer(&provider).boxed());
        if PROVIDER.set(provider).is_err() {
            // Already initialised: the first subscriber stays.
            return Ok(());
        }
    }
    #[cfg(not(feature = "otlp"))]
    let _ = otlp_endpoint;
    let _ = tracing_subscriber::registry().with(filter).with(layers).try_init();
    Ok(())
}

/// The hook that parents request spans to the caller's `traceparent`, when spans are
/// exported; `None` otherwise.
#[must_use]
pub fn span_parent_hook() -> Option<account_http::SpanParentHook> {
    #[cfg(feature = "otlp")]
    if PROVIDER.get().is_some() {
        return Some(crate::otlp::span_parent_hook());
    }
    None
}

/// Exports the spans still buffered and stops exporting; does nothing when spans are not
/// exported. Blocks for up to the export timeout: call it outside the async runtime.
pub fn shutdown() {
    #[cfg(feature = "otlp")]
    if let Some(provider) = PROVIDER.get()
        && let Err(e) = provider.shutdown()
    {
        tracing::warn!(error = %e, "flushing the last spans to the OTLP collector");
    }
}
