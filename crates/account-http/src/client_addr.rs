//! The client's address, for throttling and the access log: the TCP peer, unless the peer is
//! a configured trusted proxy, in which case `X-Forwarded-For` is read from the right, past
//! every trusted proxy, to the first address that is not one. A client that is not behind a
//! trusted proxy cannot choose its address by sending the header.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use poem::Request;

/// An address block: an address and how many leading bits of it count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    addr: IpAddr,
    prefix: u8,
}

impl Block {
    fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose `X-Forwarded-For` is believed: addresses and CIDR blocks. None by
/// default, so that the header is ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Block>);

/// Why a list of trusted proxies was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxiesError {
    /// The 1-based position of the entry that is not an address or block.
    pub entry: usize,
}

impl fmt::Display for TrustedProxiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entry {} is not an IP address or CIDR block; give a comma-separated list like \
             10.0.0.0/8, 192.0.2.7, fd00::/8",
            self.entry
        )
    }
}

impl std::error::Error for TrustedProxiesError {}

impl TrustedProxies {
    /// Parses a comma- (or space-) separated list of addresses and CIDR blocks.
    ///
    /// # Errors
    /// [`TrustedProxiesError`] naming the first entry that is neither.
    pub fn parse(list: &str) -> Result<Self, TrustedProxiesError> {
        list.split([',', ' '])
            .filter(|e| !e.trim().is_empty())
            .enumerate()
            .map(|(i, e)| Block::parse(e).ok_or(TrustedProxiesError { entry: i + 1 }))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// True when no proxy is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|b| b.contains(ip))
    }
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`192.0.2.7:4711`,
/// `[2001:db8::1]:443`).
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The client's address, given the TCP peer's and the `X-Forwarded-For` values in the order
/// they came (each a comma-separated list, the nearest proxy's entry last). From the peer, each
/// trusted hop hands over to the entry before it; the first hop that is not trusted is the
/// client. An entry that is not an address stops the walk at the hop that added it.
#[must_use]
pub fn client_address<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut current = peer?.to_canonical();
    if !trusted.trusts(current) {
        return Some(current);
    }
    let entries: Vec<&str> = forwarded_for.into_iter().flat_map(|v| v.split(',')).collect();
    for entry in entries.iter().rev() {
        if !trusted.trusts(current) {
            break;
        }
        match forwarded_ip(entry) {
            Some(ip) => current = ip,
            None => break,
        }
    }
    Some(current)
}

/// The client address of `req` (see [`client_address`]); `None` when the peer is not an IP
/// socket (a test client).
pub(crate) fn of(req: &Request, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.remote_addr().as_socket_addr().map(SocketAddr::ip);
    let forwarded =
        req.headers().get_all("x-forwarded-for").into_iter().filter_map(|v| v.to_str().ok());
    client_address(peer, forwarded, trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    #[test]
    fn parses_addresses_and_blocks_and_names_a_bad_entry() {
        let t = trusted("10.0.0.0/8, 192.0.2.7 fd00::/8,::1");
        for yes in ["10.1.2.3", "192.0.2.7", "fd12::1", "::1", "::ffff:10.9.9.9"] {
            assert!(t.trusts(ip(yes).to_canonical()), "{yes}");
        }
        for no in ["11.0.0.1", "192.0.2.8", "fe80::1", "127.0.0.1"] {
            assert!(!t.trusts(ip(no)), "{no}");
        }
        assert!(trusted("0.0.0.0/0").trusts(ip("203.0.113.1")));
        assert!(trusted("").is_empty());
        for (bad, entry) in [("10.0.0.0/33", 1), ("10.0.0.1, proxy.internal", 2), ("::/129", 1)] {
            assert_eq!(TrustedProxies::parse(bad), Err(TrustedProxiesError { entry }), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        let spoofed = ["203.0.113.9", "198.51.100.1, 10.0.0.1"];
        assert_eq!(client_address(Some(ip("192.0.2.50")), spoofed, &none), Some(ip("192.0.2.50")));
        let lb = trusted("10.0.0.0/8");
        assert_eq!(client_address(Some(ip("192.0.2.50")), spoofed, &lb), Some(ip("192.0.2.50")));
    }

    #[test]
    fn a_trusted_proxy_hands_over_to_the_first_untrusted_hop_from_the_right() {
        let t = trusted("10.0.0.0/8");
        let peer = Some(ip("10.0.0.2"));
        // The client put a fake entry first; the balancer appended the real peer it saw.
        assert_eq!(client_address(peer, ["6.6.6.6, 203.0.113.9"], &t), Some(ip("203.0.113.9")));
        // Two trusted hops, and entries split over two header lines.
        assert_eq!(
            client_address(peer, ["6.6.6.6, 203.0.113.9", "10.0.0.7"], &t),
            Some(ip("203.0.113.9"))
        );
        // Ports and IPv6 brackets.
        assert_eq!(client_address(peer, ["[2001:db8::1]:443"], &t), Some(ip("2001:db8::1")));
        assert_eq!(client_address(peer, ["203.0.113.9:4711"], &t), Some(ip("203.0.113.9")));
        // No header, or garbage: the nearest hop we know.
        assert_eq!(client_address(peer, [], &t), Some(ip("10.0.0.2")));
        assert_eq!(client_address(peer, ["unknown"], &t), Some(ip("10.0.0.2")));
        assert_eq!(client_address(peer, ["203.0.113.9, unknown"], &t), Some(ip("10.0.0.2")));
        // Every hop trusted: the leftmost.
        assert_eq!(client_address(peer, ["10.0.0.9, 10.0.0.8"], &t), Some(ip("10.0.0.9")));
        assert_eq!(client_address(None, ["203.0.113.9"], &t), None);
    }
}
