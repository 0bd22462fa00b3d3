//! How a TLS certificate is named to people: its SHA-256, as browsers show it. The server prints
//! it at start, the clients pin and compare it, and refusals quote it.

use sha2::{Digest, Sha256};

/// SHA-256 of a certificate's DER bytes, upper-case hex pairs joined by colons.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fingerprint_is_sha256_as_browsers_show_it() {
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            super::fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
