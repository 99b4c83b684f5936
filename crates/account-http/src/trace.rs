//! W3C Trace Context: the trace id of an incoming `traceparent` header is honoured (logged
//! with the request, so that its lines join the caller's trace); a request without a valid
//! one gets a fresh trace id from the `Random` port.

use account_core::domain::secret::to_hex;

use crate::state::AppState;

/// The W3C Trace Context request header.
pub(crate) const TRACEPARENT: &str = "traceparent";

/// The trace id of a valid `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`, ids not all
/// zeros), else a new one.
pub(crate) fn trace_id(traceparent: Option<&str>, state: &AppState) -> String {
    traceparent.and_then(parse).unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        state.accounts.fill_random(&mut bytes);
        to_hex(&bytes)
    })
}

/// The trace id of a `traceparent` value, if it is well formed.
fn parse(value: &str) -> Option<String> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    // Version 00 has exactly four parts; a later version may add some, and is read the same.
    let extra_ok = version != "00" || parts.next().is_none();
    let ok = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && extra_ok
        && trace.bytes().any(|b| b != b'0')
        && parent.bytes().any(|b| b != b'0');
    ok.then(|| trace.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_trace_id_of_valid_headers_only() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(parse(good).as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f35-00f067aa0ba902b7-01",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
