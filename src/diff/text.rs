//! Line diffs of definitions and queries, in unified form (`-` old, `+` new, ` ` both, with
//! `@@ -a,b +c,d @@` hunks and three lines of context), from a longest common subsequence.
//!
//! Definitions and queries are tens of lines; the quadratic table is capped at
//! [`MAX_CELLS`], beyond which the old text is shown removed and the new one added (still
//! correct, only less minimal), so no input makes this slow.

/// Largest `old lines x new lines` table worked out exactly.
pub const MAX_CELLS: usize = 4_000_000;
const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// Each line of both texts, in order, marked same, removed or added.
fn ops<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<(Op, &'a str)> {
    // Common start and end first: most edits touch a few lines in the middle.
    let start = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let end = old[start..].iter().rev().zip(new[start..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (a, b) = (&old[start..old.len() - end], &new[start..new.len() - end]);
    let mut out: Vec<(Op, &str)> = old[..start].iter().map(|l| (Op::Same, *l)).collect();
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        out.extend(a.iter().map(|l| (Op::Removed, *l)));
        out.extend(b.iter().map(|l| (Op::Added, *l)));
    } else {
        // lcs[i][j]: longest common subsequence of a[i..] and b[j..].
        let w = b.len() + 1;
        let mut lcs = vec![0u32; (a.len() + 1) * w];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i * w + j] = if a[i] == b[j] { lcs[(i + 1) * w + j + 1] + 1 } else { lcs[(i + 1) * w + j].max(lcs[i * w + j + 1]) };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                out.push((Op::Same, a[i]));
                i += 1;
                j += 1;
            } else if j == b.len() || (i < a.len() && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                out.push((Op::Removed, a[i]));
                i += 1;
            } else {
                out.push((Op::Added, b[j]));
                j += 1;
            }
        }
    }
    out.extend(old[old.len() - end..].iter().map(|l| (Op::Same, *l)));
    out
}

/// The unified diff of two texts; empty when they are equal.
pub fn unified(old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let ops = ops(&a, &b);
    // Hunks: runs of changes with their context, merged when their context touches.
    let changed: Vec<usize> = ops.iter().enumerate().filter(|(_, (op, _))| *op != Op::Same).map(|(i, _)| i).collect();
    let mut hunks: Vec<(usize, usize)> = vec![];
    for &i in &changed {
        let (from, to) = (i.saturating_sub(CONTEXT), (i + CONTEXT + 1).min(ops.len()));
        match hunks.last_mut() {
            Some(last) if from <= last.1 => last.1 = to,
            _ => hunks.push((from, to)),
        }
    }
    let mut out = String::new();
    for (from, to) in hunks {
        // Line numbers (1-based) where the hunk starts on each side.
        let before = &ops[..from];
        let old_start = before.iter().filter(|(op, _)| *op != Op::Added).count() + 1;
        let new_start = before.iter().filter(|(op, _)| *op != Op::Removed).count() + 1;
        let hunk = &ops[from..to];
        let old_len = hunk.iter().filter(|(op, _)| *op != Op::Added).count();
        let new_len = hunk.iter().filter(|(op, _)| *op != Op::Removed).count();
        out.push_str(&format!("@@ -{} +{} @@\n", range(old_start, old_len), range(new_start, new_len)));
        for (op, line) in hunk {
            let mark = match op {
                Op::Same => ' ',
                Op::Removed => '-',
                Op::Added => '+',
            };
            out.push(mark);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `start,len` as unified diffs write it (`start` is the line before when `len` is 0).
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{},0", start - 1),
        1 => start.to_string(),
        _ => format!("{start},{len}"),
    }
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn unified_diff_of_one_changed_line() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(unified(old, new), "@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n");
    }

    #[test]
    fn unified_diff_of_added_and_removed_texts() {
        assert_eq!(unified("", "x\ny\n"), "@@ -0,0 +1,2 @@\n+x\n+y\n");
        assert_eq!(unified("x\n", ""), "@@ -1 +0,0 @@\n-x\n");
        assert_eq!(unified("same\n", "same\n"), "");
    }

    #[test]
    fn distant_changes_are_separate_hunks() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let new: String = (1..=20)
            .map(|i| match i {
                2 => "two\n".to_string(),
                19 => "nineteen\n".to_string(),
                _ => format!("{i}\n"),
            })
            .collect();
        let d = unified(&old, &new);
        assert_eq!(d.matches("@@ -").count(), 2, "{d}");
        assert!(d.starts_with("@@ -1,5 +1,5 @@\n 1\n-2\n+two\n"), "{d}");
    }
}
