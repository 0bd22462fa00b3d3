//! What a LAN server shows people: the URLs other devices can open (one per network address of
//! this machine), each with the access token, and a QR code for phones.

use std::net::{IpAddr, SocketAddr};

/// This machine's addresses other devices can reach: IPv4 first, no loopback or link-local.
pub fn lan_addresses() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback() && !i.is_link_local())
        .map(|i| i.ip())
        .collect();
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    ips
}

/// Every address of this machine, loopback and link-local included (a server bound to all of
/// them answers on each).
pub fn all_addresses() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> =
        if_addrs::get_if_addrs().unwrap_or_default().into_iter().map(|i| i.ip()).collect();
    ips.sort();
    ips.dedup();
    ips
}

/// The join URL of a server at `host:port`, with its token.
pub fn join_url(host: IpAddr, port: u16, token: &str) -> String {
    format!("http://{}/?token={token}", SocketAddr::new(host, port))
}

/// Join URLs for a server bound to `bind`: every LAN address when it listens on all of them
/// (`0.0.0.0` / `::`), else its own address.
pub fn join_urls(bind: SocketAddr, token: &str) -> Vec<String> {
    let hosts = if bind.ip().is_unspecified() { lan_addresses() } else { vec![bind.ip()] };
    hosts
        .into_iter()
        .filter(|ip| bind.is_ipv6() || ip.is_ipv4())
        .map(|ip| join_url(ip, bind.port(), token))
        .collect()
}

/// A QR code of `text` as an SVG image (for the app).
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
}

/// A QR code of `text` drawn with half-block characters (for a terminal), dark on light.
pub fn qr_text(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_token_and_skip_loopback() {
        assert_eq!(join_url([192, 168, 1, 5].into(), 9000, "t0k"), "http://192.168.1.5:9000/?token=t0k");
        let v6 = join_url("fe80::1".parse().expect("ip"), 9000, "t");
        assert_eq!(v6, "http://[fe80::1]:9000/?token=t");
        let own = join_urls(SocketAddr::from(([10, 0, 0, 2], 80)), "t");
        assert_eq!(own, vec!["http://10.0.0.2:80/?token=t".to_owned()]);
        assert!(lan_addresses().iter().all(|ip| !ip.is_loopback()));
        for url in join_urls(SocketAddr::from(([0, 0, 0, 0], 9000)), "t") {
            assert!(url.ends_with(":9000/?token=t") && !url.contains("127.0.0.1"), "{url}");
        }
    }

    #[test]
    fn qr_codes_render_for_a_join_url() {
        let url = join_url([192, 168, 1, 5].into(), 9000, &crate::new_token());
        let svg = qr_svg(&url).expect("svg");
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{}", &svg[..80]);
        let text = qr_text(&url).expect("text");
        let rows: Vec<&str> = text.lines().collect();
        // Version 3 or 4 for a URL this long: 29 or 33 modules + 8 of quiet zone, two per row.
        assert!(rows.len() >= 18 && rows.iter().all(|r| r.chars().count() == rows[0].chars().count()));
    }
}
