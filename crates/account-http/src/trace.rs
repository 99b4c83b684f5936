//! W3C Trace Context: the trace id of an incoming `traceparent` header is honoured (logged
//! with the request, so that its lines join the caller's trace); a request without a valid
//! one gets a fresh trace id (`ids.rs`). The parsed header is also handed to the
//! server's [`SpanParentHook`], if any, so that an exporter of spans can make the request span
//! a child of the caller's (the `otlp` feature of `account-server`).

use std::sync::Arc;

use crate::state::AppState;

/// The W3C Trace Context request header.
pub(crate) const TRACEPARENT: &str = "traceparent";

/// A well-formed `traceparent` header: the caller's trace and span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
}

impl TraceParent {
    /// Reads a `traceparent` value (`<2 hex version>-<32 hex>-<16 hex>-<2 hex flags>`,
    /// lower-case, ids not all zeros, version not `ff`); `None` when it is not well formed.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        // Version 00 has exactly four parts; a later version may add some, and is read the
        // same.
        if version == "00" && parts.next().is_some() {
            return None;
        }
        let [version] = hex::<1>(version)?;
        let trace_id = hex::<16>(trace)?;
        let parent_id = hex::<8>(parent)?;
        let [flags] = hex::<1>(flags)?;
        let ok = version != 0xff
            && trace_id.iter().any(|b| *b != 0)
            && parent_id.iter().any(|b| *b != 0);
        ok.then_some(Self { trace_id, parent_id, flags })
    }

    /// The caller's trace id.
    #[must_use]
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The caller's span id: the parent of the request's span.
    #[must_use]
    pub fn parent_id(&self) -> [u8; 8] {
        self.parent_id
    }

    /// The trace flags (bit 0: the caller sampled this trace).
    #[must_use]
    pub fn flags(&self) -> u8 {
        self.flags
    }
}

/// `N` bytes from exactly `2 * N` lower-case hex digits.
fn hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// Called with every request's span, before it is first entered, and the request's valid
/// `traceparent`: where an exporter of spans makes the span a child of the caller's.
#[derive(Clone)]
pub struct SpanParentHook(Arc<SpanParentFn>);

type SpanParentFn = dyn Fn(&tracing::Span, &TraceParent) + Send + Sync;

impl SpanParentHook {
    /// A hook calling `f`.
    pub fn new(f: impl Fn(&tracing::Span, &TraceParent) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Calls the hook.
    pub fn call(&self, span: &tracing::Span, parent: &TraceParent) {
        (self.0)(span, parent);
    }
}

impl std::fmt::Debug for SpanParentHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpanParentHook")
    }
}

/// A trace id, written as 32 lowercase hex digits when logged (and only then).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TraceId([u8; 16]);

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The request's `traceparent`, if valid, and the trace id to log: the caller's, else a new
/// one.
pub(crate) fn trace_id(
    traceparent: Option<&str>,
    state: &AppState,
) -> (Option<TraceParent>, TraceId) {
    let parent = traceparent.and_then(TraceParent::parse);
    let id = TraceId(parent.map_or_else(|| state.ids.next(), |p| p.trace_id));
    (parent, id)
}

#[cfg(test)]
mod tests {
    use account_core::domain::secret::to_hex;

    use super::*;

    #[test]
    fn a_trace_id_is_logged_as_its_hex() {
        let parsed = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        let id = TraceId(parsed.unwrap().trace_id());
        assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(id.to_string(), to_hex(&id.0));
    }

    #[test]
    fn reads_valid_headers_only() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = TraceParent::parse(good).unwrap();
        assert_eq!(to_hex(&parsed.trace_id()), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(to_hex(&parsed.parent_id()), "00f067aa0ba902b7");
        assert_eq!(parsed.flags(), 1);
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra";
        assert_eq!(TraceParent::parse(later).map(|p| p.flags()), Some(0));
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f35-00f067aa0ba902b7-01",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }
}
