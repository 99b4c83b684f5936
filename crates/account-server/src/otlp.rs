//! OTLP span export (the `otlp` feature): the spans of `tracing`, request spans included,
//! posted as OTLP/HTTP protobuf to `<ACCOUNTS_OTLP_ENDPOINT>/v1/traces` in batches, with
//! `service.name` = `accounts`. A request span whose request carried a valid `traceparent`
//! is a child of the caller's span, so that exported spans join the caller's trace.
//!
//! The batch processor exports from a thread of its own, so the HTTP client is a blocking
//! one: ureq (plain HTTP, already in the tree for the tests), rather than a second client
//! stack that would need the async runtime to be alive when the last batch is flushed.

use std::time::Duration;

use account_http::{SpanParentHook, TraceParent};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Longest one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The service name of every exported span.
pub const SERVICE_NAME: &str = "accounts";

/// The exporting provider for the collector at `endpoint` (a base URL such as
/// `http://collector:4318`; spans go to its `/v1/traces`). Flush it with
/// [`SdkTracerProvider::shutdown`] (or `force_flush`).
///
/// # Errors
/// A message when the exporter cannot be built (an endpoint that is not a URI).
pub fn provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(UreqClient::new())
        .build()
        .map_err(|e| format!("setting up OTLP export to {endpoint}: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
        .build())
}

/// The `tracing` layer exporting spans through `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S> + Send + Sync
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE_NAME))
}

/// The URL spans are posted to: the signal's path under the base URL.
fn traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim_end_matches('/'))
}

/// Makes `span` (not yet entered) a child of the caller's span named by `parent`.
pub fn join_caller(span: &tracing::Span, parent: &TraceParent) {
    let context = SpanContext::new(
        TraceId::from_bytes(parent.trace_id()),
        SpanId::from_bytes(parent.parent_id()),
        TraceFlags::new(parent.flags()),
        true,
        TraceState::default(),
    );
    // Fails only when the span is disabled by the filter or not exported: nothing to join.
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(context));
}

/// The hook that the HTTP server calls with each request's span.
#[must_use]
pub fn span_parent_hook() -> SpanParentHook {
    SpanParentHook::new(join_caller)
}

/// Posts the exporter's requests with a blocking ureq agent.
#[derive(Debug)]
struct UreqClient(ureq::Agent);

impl UreqClient {
    fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(EXPORT_TIMEOUT))
            // The exporter reads the status itself.
            .http_status_as_error(false)
            .build();
        Self(ureq::Agent::new_with_config(config))
    }
}

#[async_trait::async_trait]
impl HttpClient for UreqClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let response = self.0.run(request.map(|body| body.to_vec()))?;
        let (parts, mut body) = response.into_parts();
        let bytes = body.read_to_vec()?;
        Ok(Response::from_parts(parts, Bytes::from(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn spans_go_to_the_traces_path_of_the_endpoint() {
        assert_eq!(traces_url("http://collector:4318"), "http://collector:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/otlp/"), "http://c:4318/otlp/v1/traces");
    }

    /// A collector that answers 200 to every request and hands over (request line, body).
    fn collector() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    loop {
                        let mut request_line = String::new();
                        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut length = 0;
                        loop {
                            let mut line = String::new();
                            reader.read_line(&mut line).unwrap();
                            let line = line.trim_end();
                            if line.is_empty() {
                                break;
                            }
                            if let Some((name, value)) = line.split_once(':')
                                && name.eq_ignore_ascii_case("content-length")
                            {
                                length = value.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap();
                        let _ = tx.send((request_line.trim_end().to_owned(), body));
                    }
                });
            }
        });
        (format!("http://{addr}"), rx)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_request_span_is_exported_in_the_callers_trace() {
        let (endpoint, received) = collector();
        let provider = provider(&endpoint).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer(&provider));
        let parent =
            TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "r-1");
            join_caller(&span, &parent);
            span.in_scope(|| tracing::info!("handled"));
        });
        provider.force_flush().unwrap();

        let (request_line, body) =
            received.recv_timeout(Duration::from_secs(10)).expect("an export arrived");
        assert!(request_line.starts_with("POST /v1/traces "), "{request_line}");
        assert!(contains(&body, &parent.trace_id()), "the caller's trace id is exported");
        assert!(contains(&body, &parent.parent_id()), "the caller's span is the parent");
        assert!(contains(&body, b"service.name") && contains(&body, b"accounts"));
        assert!(contains(&body, b"request"), "the span's name");
        provider.shutdown().unwrap();
    }
}
