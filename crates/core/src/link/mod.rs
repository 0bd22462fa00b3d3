//! The link emulator: a userspace TCP relay that delays and paces every byte between clients and
//! a server as a real link would ([`Relay`], by the arithmetic of [`Schedule`]), so that a run on
//! one desk shows what WebSocket and AJAX cost over Wi-Fi, 4G or a satellite. No root, any
//! platform. Loss is not emulated: a TCP relay only sees bytes that TCP already delivered, so
//! retransmission stays the kernel's business.
//!
//! The conditions themselves, their profiles and what they predict are `duplex_model::link`.

mod relay;
mod stats;
mod timing;
mod udp;

pub use duplex_model::link::{CHUNK, LabelledLink, Link, LinkError, Schedule};
pub use relay::Relay;
pub use stats::RelayStats;

use duplex_clients::Endpoints;

/// `endpoints` reached through a relay per server address, when the plan has a link that
/// delays or paces anything; the relays run as long as they are kept.
pub async fn through(endpoints: Endpoints, link: Option<&Link>) -> Result<(Endpoints, Vec<Relay>), String> {
    let Some(link) = link.filter(|l| !l.is_direct()) else { return Ok((endpoints, Vec::new())) };
    let mut relays = Vec::new();
    let mut routes = Vec::new();
    for authority in endpoints.authorities() {
        let upstream: Vec<_> = tokio::net::lookup_host(&authority).await.into_iter().flatten().collect();
        if upstream.is_empty() {
            return Err(format!("cannot resolve {authority} for the link relay"));
        }
        let relay =
            Relay::start(link, &upstream).await.map_err(|e| format!("cannot start the link relay: {e}"))?;
        routes.push((authority, relay.local_addr()));
        relays.push(relay);
    }
    Ok((endpoints.through(&routes), relays))
}
