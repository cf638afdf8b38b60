//! Just enough HTML tokenizing for the page checks: start and end tags with their attributes.

/// One tag.
#[derive(Debug)]
pub struct Tag {
    /// Lowercase name.
    pub name: String,
    /// `</name>`.
    pub end: bool,
    /// Attributes as written (values not decoded); `None` for a bare attribute.
    pub attrs: Vec<(String, Option<String>)>,
}

impl Tag {
    /// The raw value of an attribute; `Some("")` for a bare one.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c == class))
    }
}

/// Every tag of `html`, in order. Comments, doctype and the text of raw-text elements are skipped.
pub fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(b.len(), |e| i + e + 3);
            continue;
        }
        if matches!(b.get(i + 1), Some(b'!' | b'?')) {
            i = html[i..].find('>').map_or(b.len(), |e| i + e + 1);
            continue;
        }
        let end = b.get(i + 1) == Some(&b'/');
        let start = if end { i + 2 } else { i + 1 };
        if !b.get(start).is_some_and(|c| c.is_ascii_alphabetic()) {
            i += 1;
            continue;
        }
        let mut j = start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-') {
            j += 1;
        }
        let name = html[start..j].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j >= b.len() {
                break;
            }
            if b[j] == b'>' {
                j += 1;
                break;
            }
            if b[j] == b'/' {
                j += 1;
                continue;
            }
            let a = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/')
            {
                j += 1;
            }
            let attr = html[a..j].to_ascii_lowercase();
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let value = if b.get(j) == Some(&b'=') {
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                match b.get(j) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let v = j + 1;
                        let e = html[v..].find(q as char).map_or(b.len(), |e| v + e);
                        j = (e + 1).min(b.len());
                        Some(html[v..e].to_owned())
                    }
                    _ => {
                        let v = j;
                        while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                            j += 1;
                        }
                        Some(html[v..j].to_owned())
                    }
                }
            } else {
                None
            };
            attrs.push((attr, value));
        }
        i = j;
        if !end && matches!(name.as_str(), "script" | "style" | "textarea" | "title") {
            let close = format!("</{name}");
            i = html[i..].find(&close).map_or(b.len(), |e| i + e);
        }
        out.push(Tag { name, end, attrs });
    }
    out
}

/// The text inside the first `<name>` … `</name>`.
pub fn text_of(html: &str, name: &str) -> Option<String> {
    let open = html.find(&format!("<{name}>"))? + name.len() + 2;
    let close = html[open..].find(&format!("</{name}>"))? + open;
    Some(decode(&html[open..close]))
}

/// Decodes the character references askama writes, and the common named ones.
pub fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
