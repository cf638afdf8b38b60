//! A parameter value's list syntax: `,` separates alternatives (OR), `|` separates a token's
//! parts, and `\` escapes `,` `|` `$` and `\` itself.

/// The value's alternatives, each split into its `|` parts, unescaped. Refuses an empty
/// alternative (`a,,b`), a dangling `\` and a `\` before any other character.
pub(crate) fn split_list(raw: &str) -> Result<Vec<Vec<String>>, &'static str> {
    let mut items = Vec::new();
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ (',' | '|' | '$' | '\\')) => part.push(e),
                _ => return Err("bad escape"),
            },
            '|' => parts.push(std::mem::take(&mut part)),
            ',' => {
                parts.push(std::mem::take(&mut part));
                items.push(std::mem::take(&mut parts));
            }
            c => part.push(c),
        }
    }
    parts.push(part);
    items.push(parts);
    if items.iter().any(|p| p.len() == 1 && p[0].is_empty()) {
        return Err("empty value in a list");
    }
    Ok(items)
}

/// Escapes one part for writing back into a value.
pub(crate) fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if matches!(c, ',' | '|' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes alternatives back: parts escaped and joined by `|`, alternatives by `,`.
pub(crate) fn join_list<'a, I, P>(items: I) -> String
where
    I: IntoIterator<Item = P>,
    P: IntoIterator<Item = &'a str>,
{
    items
        .into_iter()
        .map(|parts| parts.into_iter().map(escape).collect::<Vec<_>>().join("|"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_and_bars_split_unless_escaped() {
        assert_eq!(
            split_list(r"a|b,c\,d,e\|f\\").unwrap(),
            vec![vec!["a", "b"], vec!["c,d"], vec!["e|f\\"]]
        );
        assert_eq!(split_list("|x").unwrap(), vec![vec!["", "x"]]);
        assert_eq!(split_list("a,,b"), Err("empty value in a list"));
        assert_eq!(split_list(r"a\"), Err("bad escape"));
        assert_eq!(split_list(r"a\q"), Err("bad escape"));
    }

    #[test]
    fn writing_back_escapes_what_splitting_unescapes() {
        let raw = r"a|b\,c,d\\";
        let items = split_list(raw).unwrap();
        let again = join_list(items.iter().map(|p| p.iter().map(String::as_str)));
        assert_eq!(again, raw);
    }
}
