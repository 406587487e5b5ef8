//! Which address a request came from, for the per-address login limit.
//!
//! Without trusted proxies it is the TCP peer: `X-Forwarded-For` is ignored, since any client
//! can write it. Behind a load balancer or reverse proxy every request's peer is the proxy, so
//! all users would share one address's allowance; `--trusted-proxies` names the proxies' networks.
//! When the peer is one of them, `X-Forwarded-For` is read from the right (each proxy appends the
//! address it received from), trusted hops are skipped, and the first address that is not
//! trusted is the client's. A malformed entry stops the walk at the hop that added it, so a forged
//! or garbled header can only make the address more shared (more limited), never pick an
//! address of the client's choosing past a trusted hop.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// Longest `X-Forwarded-For` read, in entries: a chain of proxies is short, a flood is not.
pub const MAX_HOPS: usize = 32;

/// A trusted proxy network could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)")]
pub struct BadProxyNet(pub String);

/// Networks whose requests carry the client's address in `X-Forwarded-For`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// One trusted network: an address (one host) or `address/prefix`.
pub fn parse_net(s: &str) -> Result<IpNet, BadProxyNet> {
    let s = s.trim();
    if let Ok(net) = IpNet::from_str(s) {
        return Ok(net.trunc());
    }
    IpAddr::from_str(s).map(IpNet::from).map_err(|_| BadProxyNet(s.to_string()))
}

impl TrustedProxies {
    /// These networks.
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets)
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: `peer` itself unless it is a trusted proxy, then as the module doc
    /// says from `forwarded_for` (the `X-Forwarded-For` values in the order received).
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a [u8]>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // The entries of every header value, in order; only the last MAX_HOPS are looked at.
        let mut entries: Vec<&[u8]> = Vec::new();
        for value in forwarded_for {
            entries.extend(value.split(|b| *b == b','));
            if entries.len() > MAX_HOPS {
                entries.drain(..entries.len() - MAX_HOPS);
            }
        }
        let mut client = peer;
        for raw in entries.iter().rev() {
            let Some(ip) = std::str::from_utf8(raw).ok().and_then(|s| IpAddr::from_str(s.trim()).ok()) else {
                break;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| parse_net(s).expect("net")).collect())
    }

    #[test]
    fn nets_are_addresses_or_prefixes() {
        assert_eq!(parse_net("10.0.0.5").expect("host").to_string(), "10.0.0.5/32");
        assert_eq!(parse_net(" 10.1.2.3/8 ").expect("net").to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("fd00::/8").expect("v6").to_string(), "fd00::/8");
        let e = parse_net("10.0.0.0/33").expect_err("prefix too long");
        assert!(e.to_string().starts_with("`10.0.0.0/33` is not an IP address or network"), "{e}");
        assert!(parse_net("proxy.local").is_err());
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let t = TrustedProxies::default();
        assert_eq!(t.client(ip("203.0.113.9"), [b"198.51.100.1".as_slice()]), ip("203.0.113.9"));
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let t = proxies(&["10.0.0.0/8", "192.168.1.10"]);
        let peer = ip("10.0.0.2");
        // Client → 192.168.1.10 (CDN) → 10.0.0.2 (load balancer) → node; the left entry is forged.
        let xff = [b"6.6.6.6, 198.51.100.7".as_slice(), b"192.168.1.10".as_slice()];
        assert_eq!(t.client(peer, xff), ip("198.51.100.7"));
        // Nothing forwarded: the proxy itself.
        assert_eq!(t.client(peer, []), peer);
        // Every hop trusted: the leftmost.
        assert_eq!(t.client(peer, [b"10.9.9.9, 10.0.0.3".as_slice()]), ip("10.9.9.9"));
        // A peer that is not a proxy cannot choose its address.
        assert_eq!(t.client(ip("198.51.100.7"), [b"1.2.3.4".as_slice()]), ip("198.51.100.7"));
    }

    #[test]
    fn a_malformed_entry_stops_at_the_hop_that_added_it() {
        let t = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.2");
        assert_eq!(t.client(peer, [b"1.2.3.4, bogus, 10.0.0.7".as_slice()]), ip("10.0.0.7"));
        assert_eq!(t.client(peer, [b"1.2.3.4:5555".as_slice()]), peer);
        assert_eq!(t.client(peer, [b"\xff\xfe".as_slice()]), peer);
        assert_eq!(t.client(peer, [b"".as_slice()]), peer);
    }

    #[test]
    fn ipv4_mapped_addresses_are_the_ipv4_ones() {
        let t = proxies(&["10.0.0.0/8"]);
        assert_eq!(t.client(ip("::ffff:10.0.0.2"), [b"::ffff:198.51.100.7".as_slice()]), ip("198.51.100.7"));
    }

    proptest! {
        /// Whatever the header holds, the answer is the peer or an address written in it, and
        /// never an address left of an untrusted one.
        #[test]
        fn the_answer_is_the_peer_or_a_forwarded_address(
            header in proptest::collection::vec(any::<u8>(), 0..200),
            hops in proptest::collection::vec((0u8..4, any::<u8>()), 0..40),
        ) {
            let t = proxies(&["10.0.0.0/8"]);
            let peer = ip("10.0.0.1");
            let listed: Vec<String> = hops.iter().map(|(k, n)| if *k == 0 { format!("203.0.113.{n}") } else { format!("10.0.0.{n}") }).collect();
            let chain = listed.join(", ");
            let got = t.client(peer, [header.as_slice(), chain.as_bytes()]);
            let header_text = String::from_utf8_lossy(&header);
            prop_assert!(got == peer || listed.iter().any(|s| ip(s) == got) || header_text.contains(&got.to_string()));
            // The chain's rightmost untrusted hop wins when the chain has one.
            if let Some(first_untrusted) = listed.iter().rev().take(MAX_HOPS).find(|s| s.starts_with("203.")) {
                prop_assert_eq!(got, ip(first_untrusted));
            }
        }
    }
}
