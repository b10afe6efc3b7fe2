//! Who a request comes from, as every per-client budget counts it: the one key rule for the
//! rate limiters, the lookup guard, the sign-in throttle and the flood shares. Kept in memory
//! only; its `Debug` shows nothing, so no log line can carry an address by accident.

use std::fmt;
use std::net::IpAddr;

/// Bits of an IPv6 address that name one subscriber: ISPs hand each a whole /64.
const SUBSCRIBER_BITS: u32 = 64;
/// Bits of an IPv6 address that name one site: a home or office line commonly gets a /56,
/// that is 256 /64s, which must not count as 256 sources.
const SITE_BITS: u32 = 56;

/// An IPv4 address or an IPv6 /64; a client with no address (a Unix socket, say) is one
/// shared key rather than none.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(client: Option<IpAddr>) -> ClientKey {
        ClientKey(prefix(
            client.unwrap_or(IpAddr::from([0, 0, 0, 0])),
            SUBSCRIBER_BITS,
        ))
    }

    /// The key as an address (the /64's first address for IPv6).
    pub fn addr(self) -> IpAddr {
        self.0
    }

    /// The wider network the key belongs to, for shares that one site must not multiply:
    /// IPv6 per /56, IPv4 per address.
    pub fn site(self) -> ClientKey {
        ClientKey(prefix(self.0, SITE_BITS))
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientKey(..)")
    }
}

fn prefix(addr: IpAddr, v6_bits: u32) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            let mask = u128::MAX << (128 - v6_bits);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// The key of a client at `addr`, written out, for tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn key(addr: &str) -> ClientKey {
    ClientKey::of(Some(addr.parse().unwrap()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_keyed_per_64_and_grouped_per_56_and_ipv4_per_address() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(
            key("2001:db8:1:2::1").site(),
            key("2001:db8:1:ff::1").site()
        );
        assert_ne!(
            key("2001:db8:1:2::1").site(),
            key("2001:db8:1:100::1").site()
        );
        assert_eq!(
            key("2001:db8:1:2::1").addr(),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_ne!(key("203.0.113.1"), key("203.0.113.2"));
        assert_eq!(key("203.0.113.1").site(), key("203.0.113.1"));
        assert_eq!(ClientKey::of(None), key("0.0.0.0"));
    }

    #[test]
    fn debug_shows_no_address() {
        assert_eq!(format!("{:?}", key("203.0.113.7")), "ClientKey(..)");
    }
}
