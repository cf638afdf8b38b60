//! Wildcard matching (PS3.4 C.2.2.2.4): `*` is any run of characters, empty included; `?`
//! is any one character.

/// Whether a pattern has a wildcard in it.
pub(crate) fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Whether `text` matches `pattern`, character by character (not byte by byte).
///
/// Greedy with one backtrack point, so linear in practice and O(n·m) at worst.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(wildcard_match("Doe*", "Doe^John"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("D?e*n", "Doe^John"));
        assert!(wildcard_match("*J*n", "Doe^John"));
        assert!(!wildcard_match("Doe?", "Doe"));
        assert!(!wildcard_match("doe*", "Doe^John"));
        assert!(wildcard_match("山?*", "山田^太郎"));
        assert!(!wildcard_match("*x", "Doe^John"));
        assert!(wildcard_match("a*b*c", "aXbYbZc"));
    }
}
