//! The stylesheet and the script, compiled in and served under content-hashed paths.

/// A static file compiled into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// Where the pages link it, e.g. `/static/app.3f9a1c2b.css`. The name changes whenever the
    /// bytes do, so the file may be cached forever ([`IMMUTABLE_CACHE_CONTROL`]).
    pub path: &'static str,
    /// The `Content-Type` to send.
    pub content_type: &'static str,
    /// The file.
    pub bytes: &'static [u8],
}

/// `Cache-Control` for an [`Asset`]: its path is content-hashed.
pub const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

const CSS: &[u8] = include_bytes!("../static/app.css");
const JS: &[u8] = include_bytes!("../static/app.js");

const CSS_PATH: [u8; 24] = hashed_path(b"/static/app.", CSS, b".css");
const JS_PATH: [u8; 23] = hashed_path(b"/static/app.", JS, b".js");

/// The one stylesheet every page links.
pub const STYLESHEET: Asset = Asset {
    path: ascii(&CSS_PATH),
    content_type: "text/css; charset=utf-8",
    bytes: CSS,
};

/// The one script every page loads (`defer`); it only enhances pages that work without it.
pub const SCRIPT: Asset = Asset {
    path: ascii(&JS_PATH),
    content_type: "text/javascript; charset=utf-8",
    bytes: JS,
};

/// Every asset, for the static route.
pub const ASSETS: [Asset; 2] = [STYLESHEET, SCRIPT];

/// The asset served at `path` (the whole request path, e.g. `/static/app.3f9a1c2b.css`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// `prefix` + 8 hex digits of the bytes' FNV-1a hash (64-bit, folded to 32) + `suffix`.
const fn hashed_path<const N: usize>(prefix: &[u8], bytes: &[u8], suffix: &[u8]) -> [u8; N] {
    assert!(prefix.len() + 8 + suffix.len() == N, "wrong path length");
    let hash = fnv1a64(bytes);
    let folded = (hash ^ (hash >> 32)) as u32;
    let mut out = [0u8; N];
    let mut i = 0;
    while i < prefix.len() {
        out[i] = prefix[i];
        i += 1;
    }
    let mut d = 0;
    while d < 8 {
        let nibble = ((folded >> (28 - 4 * d)) & 0xf) as u8;
        out[i + d] = if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        };
        d += 1;
    }
    i += 8;
    let mut s = 0;
    while s < suffix.len() {
        out[i + s] = suffix[s];
        s += 1;
    }
    out
}

const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

const fn ascii(bytes: &'static [u8]) -> &'static str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("asset path is not UTF-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn paths_are_hashed_and_found() {
        let path: [u8; 21] = hashed_path(b"/static/x.", b"", b".cs");
        assert_eq!(&path, b"/static/x.4fd0bfc1.cs");
        assert!(STYLESHEET.path.starts_with("/static/app.") && STYLESHEET.path.ends_with(".css"));
        assert!(SCRIPT.path.ends_with(".js"));
        assert_ne!(STYLESHEET.path, SCRIPT.path);
        assert_eq!(asset(SCRIPT.path), Some(&SCRIPT));
        assert_eq!(asset("/static/app.css"), None);
    }
}
