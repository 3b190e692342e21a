//! Values taken from file names (`from_file_name: "Newcastle {}.csv"`): a pattern with one
//! `{}` (the value) and any number of `*` (any text), matched against the end of a file's
//! path.

use std::collections::HashSet;

/// At most this many `*` in a pattern (names are short; matching stays cheap anyway).
const MAX_STARS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Star,
    Value,
}

/// A parsed `from_file_name` pattern.
#[derive(Debug, Clone)]
pub struct FileNamePattern {
    parts: Vec<Part>,
    /// How many path components the pattern spans (1 = the file name only).
    components: usize,
}

impl FileNamePattern {
    pub fn parse(pattern: &str) -> Result<FileNamePattern, String> {
        if pattern.matches("{}").count() != 1 {
            return Err("write `{}` exactly once, where the value is in the file name, e.g. \"provider_{}.csv\"".into());
        }
        if pattern.contains("**") {
            return Err("`**` is for `path`: here one `*` matches any text, `/` included".into());
        }
        if pattern.matches('*').count() > MAX_STARS {
            return Err(format!("at most {MAX_STARS} `*` in a pattern"));
        }
        if pattern.starts_with('/') {
            return Err("the pattern is matched against the end of each file's path: do not start it with `/`".into());
        }
        let mut parts: Vec<Part> = vec![];
        let mut text = String::new();
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            let (wildcard, len) = match c {
                '{' if rest.starts_with("{}") => (Some(Part::Value), 2),
                '*' => (Some(Part::Star), 1),
                _ => {
                    text.push(c);
                    (None, c.len_utf8())
                }
            };
            if let Some(w) = wildcard {
                if text.is_empty() && matches!(parts.last(), Some(Part::Star | Part::Value)) {
                    return Err("put some text between `{}` and `*`: two wildcards side by side do not say where the value ends".into());
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(w);
            }
            rest = &rest[len..];
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(FileNamePattern { parts, components: pattern.matches('/').count() + 1 })
    }

    /// The value's text in a file's path (as shown, `/`-separated): the pattern must match
    /// the whole of the path's last components. `*` and `{}` each take as little text as
    /// lets the rest match, from the left; `{}` at least one character.
    pub fn value<'a>(&self, path: &'a str) -> Option<&'a str> {
        let start = path.rmatch_indices('/').nth(self.components - 1).map_or(0, |(i, _)| i + 1);
        let tail = &path[start..];
        let mut failed = HashSet::new();
        let (from, to) = self.match_from(tail, 0, 0, &mut failed)?;
        Some(&tail[from..to])
    }

    /// Match parts `i..` against `text[pos..]` to its end; the value's range if they match.
    /// States that failed once are remembered, so the search is polynomial.
    fn match_from(&self, text: &str, i: usize, pos: usize, failed: &mut HashSet<(usize, usize)>) -> Option<(usize, usize)> {
        let Some(part) = self.parts.get(i) else {
            // All parts used: a match only at the end (the value's range comes from below).
            return (pos == text.len()).then_some((0, 0));
        };
        if failed.contains(&(i, pos)) {
            return None;
        }
        let found = match part {
            Part::Text(t) => text[pos..].starts_with(t.as_str()).then(|| self.match_from(text, i + 1, pos + t.len(), failed)).flatten(),
            Part::Star | Part::Value => {
                let min = usize::from(*part == Part::Value);
                let ends = text[pos..].char_indices().map(|(k, _)| pos + k).chain([text.len()]).filter(|e| *e >= pos + min);
                let mut hit = None;
                for end in ends {
                    if let Some(range) = self.match_from(text, i + 1, end, failed) {
                        hit = Some(if *part == Part::Value { (pos, end) } else { range });
                        break;
                    }
                }
                hit
            }
        };
        if found.is_none() {
            failed.insert((i, pos));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::FileNamePattern;

    fn value<'a>(pattern: &str, path: &'a str) -> Option<&'a str> {
        FileNamePattern::parse(pattern).expect("pattern").value(path)
    }

    #[test]
    fn values_from_names() {
        assert_eq!(value("Newcastle {}.csv", "data/Newcastle 2019-06.csv"), Some("2019-06"));
        assert_eq!(value("provider_{}.csv", "provider_2025-04.csv"), Some("2025-04"));
        // The `*` takes as little as it can: up to the first `-`.
        assert_eq!(value("*-{}.csv", "x/permits_issued-2023-03-13.csv"), Some("2023-03-13"));
        assert_eq!(value("*_snapshot_{}.csv", "permits_issued_2023_snapshot_2023-03-13.csv"), Some("2023-03-13"));
        assert_eq!(value("{}-AE.csv", "nhs/April-2025-AE.csv"), Some("April-2025"));
        assert_eq!(value("{}_*.csv", "droplet/BGESTLI1_1.csv"), Some("BGESTLI1"));
        assert_eq!(value("{}/data.csv", "extracts/2019-06/data.csv"), Some("2019-06"));
        assert_eq!(value("{}.csv", "a/b.csv"), Some("b"));
        assert_eq!(value("provider_{}.csv", "other_2025-04.csv"), None);
        assert_eq!(value("{}.csv", "a/.csv"), None);
        assert_eq!(value("x{}", "x"), None);
    }

    #[test]
    fn bad_patterns() {
        for p in ["no value.csv", "{}{}.csv", "{}*.csv", "*{}.csv", "**/{}.csv", "/abs/{}.csv"] {
            assert!(FileNamePattern::parse(p).is_err(), "{p}");
        }
        let long = format!("{}b{{}}", "a*".repeat(8));
        assert!(FileNamePattern::parse(&long).is_ok());
        // Many stars against a long name stay fast (failed states are remembered).
        let p = FileNamePattern::parse(&format!("{}{{}}b", "*a".repeat(8))).expect("pattern");
        assert_eq!(p.value(&"a".repeat(250)), None);
    }
}
