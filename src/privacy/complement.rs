//! Complementary (secondary) suppression over one period's table of a breakdown.
//!
//! A reader who knows a line's total (the KPI's value without that `by` column, or a row or
//! column of a two-way table) and every other cell of the line can subtract. Each total is
//! taken as published when the rows it counts reach the threshold (a smaller total would be
//! suppressed wherever it is shown). The suppressed cells are unknowns, the known totals
//! linear equations over them; a cell is given away when its unit vector lies in the
//! equations' row space. Until none is, the smallest published cell beside a given-away one
//! is suppressed too.

use std::collections::BTreeMap;

/// One cell: its group values (one per `by` column), how many rows it counts, whether it
/// has a published value (an empty cell is known to be empty).
#[derive(Debug, Clone)]
pub struct Cell {
    pub groups: Vec<String>,
    pub count: f64,
    pub has_value: bool,
}

/// Beyond this many cells in one period, every cell of the period with a value is
/// suppressed once any is (the exact check grows with the cube of the table).
pub const MAX_CELLS: usize = 2_000;

/// Mark (in `suppressed`) the cells that must be suppressed too so that no suppressed cell
/// can be worked out; returns the cells newly marked. Cells without a value (no rows) may be
/// marked too: shown as suppressed, they hide that they are empty.
pub fn complement(cells: &[Cell], suppressed: &mut [bool], threshold: f64) -> Vec<usize> {
    let mut added = vec![];
    if !suppressed.iter().any(|s| *s) || cells.is_empty() {
        return added;
    }
    if cells.len() > MAX_CELLS {
        for (i, c) in cells.iter().enumerate() {
            if c.has_value && !suppressed[i] {
                suppressed[i] = true;
                added.push(i);
            }
        }
        return added;
    }
    let lines = lines(cells, threshold);
    // A cell alone in a published line is that line's total: suppressing it hides nothing.
    let mut alone = vec![false; cells.len()];
    for l in lines.iter().filter(|l| l.len() == 1) {
        alone[l[0]] = true;
    }
    loop {
        let away = given_away(&lines, suppressed);
        if away.is_empty() {
            break;
        }
        // For the first given-away cell that has any: candidates are the cells of its rows
        // and columns (equal to it in all but one `by` column), published ones with the
        // fewest rows first, then empty ones (an empty cell shown as suppressed hides that
        // it is empty). The first that leaves the cell undetermined is taken, else the first.
        let found = away.iter().find_map(|&u| {
            let mut candidates: Vec<usize> =
                (0..cells.len()).filter(|&i| !suppressed[i] && !alone[i] && neighbours(&cells[u].groups, &cells[i].groups)).collect();
            candidates.sort_by(|&a, &b| {
                let key = |i: usize| (!cells[i].has_value, cells[i].count < 1.0, cells[i].count);
                key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b))
            });
            (!candidates.is_empty()).then_some((u, candidates))
        });
        // Every cell beside every given-away cell is suppressed already: stop rather than loop.
        let Some((u, candidates)) = found else { break };
        let pick = candidates
            .iter()
            .copied()
            .find(|&c| {
                suppressed[c] = true;
                let still = given_away(&lines, suppressed).contains(&u);
                suppressed[c] = false;
                !still
            })
            .unwrap_or(candidates[0]);
        suppressed[pick] = true;
        added.push(pick);
    }
    added
}

/// Cells that differ in at most one group value.
fn neighbours(a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).filter(|(x, y)| x != y).count() <= 1
}

/// The lines (sets of cells) whose totals are published (they count at least `threshold`
/// rows): for every non-empty set of `by` columns summed over, each combination of the
/// others' values. One `by` column: the one line of all cells.
pub fn lines(cells: &[Cell], threshold: f64) -> Vec<Vec<usize>> {
    let dims = cells.first().map_or(0, |c| c.groups.len());
    let subsets: Vec<u32> =
        if dims <= 4 { (1..(1u32 << dims)).collect() } else { (0..dims as u32).map(|d| 1 << d).chain([(1 << dims) - 1]).collect() };
    let mut out = vec![];
    for s in subsets {
        let mut by_rest: BTreeMap<Vec<&str>, Vec<usize>> = BTreeMap::new();
        for (i, c) in cells.iter().enumerate() {
            let rest: Vec<&str> = c.groups.iter().enumerate().filter(|(d, _)| s & (1 << d) == 0).map(|(_, g)| g.as_str()).collect();
            by_rest.entry(rest).or_default().push(i);
        }
        for line in by_rest.into_values() {
            let total: f64 = line.iter().map(|&i| cells[i].count).sum();
            if total >= threshold {
                out.push(line);
            }
        }
    }
    out
}

/// The suppressed cells the published totals and cells determine, in cell order.
pub fn given_away(lines: &[Vec<usize>], suppressed: &[bool]) -> Vec<usize> {
    let unknowns: Vec<usize> = (0..suppressed.len()).filter(|&i| suppressed[i]).collect();
    let column: std::collections::HashMap<usize, usize> = unknowns.iter().enumerate().map(|(c, &i)| (i, c)).collect();
    let mut rows: Vec<Vec<f64>> = lines
        .iter()
        .filter(|l| l.iter().any(|i| suppressed[*i]))
        .map(|l| {
            let mut r = vec![0.0; unknowns.len()];
            for i in l {
                if let Some(&c) = column.get(i) {
                    r[c] = 1.0;
                }
            }
            r
        })
        .collect();
    determined(&mut rows, unknowns.len()).into_iter().map(|c| unknowns[c]).collect()
}

/// The unknowns (columns) fixed by the equations `rows` (their right-hand sides known):
/// after reduction to row echelon form, a pivot column whose row has no other entry.
pub fn determined(rows: &mut [Vec<f64>], n: usize) -> Vec<usize> {
    const EPS: f64 = 1e-9;
    let mut pivots = vec![];
    let mut r = 0;
    for c in 0..n {
        if r == rows.len() {
            break;
        }
        let Some(p) = (r..rows.len()).max_by(|&a, &b| rows[a][c].abs().partial_cmp(&rows[b][c].abs()).unwrap_or(std::cmp::Ordering::Equal))
        else {
            break;
        };
        if rows[p][c].abs() < EPS {
            continue;
        }
        rows.swap(r, p);
        let lead = rows[r][c];
        rows[r].iter_mut().for_each(|x| *x /= lead);
        let pivot_row = rows[r].clone();
        for (k, row) in rows.iter_mut().enumerate() {
            if k != r && row[c].abs() >= EPS {
                let f = row[c];
                row.iter_mut().zip(&pivot_row).for_each(|(x, p)| *x -= f * p);
            }
        }
        pivots.push((r, c));
        r += 1;
    }
    pivots.into_iter().filter(|&(r, c)| rows[r].iter().enumerate().all(|(k, x)| k == c || x.abs() < EPS)).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(groups: &[&str], count: f64) -> Cell {
        Cell { groups: groups.iter().map(|g| g.to_string()).collect(), count, has_value: true }
    }

    #[test]
    fn one_small_cell_of_a_line_gets_a_partner() {
        // 3 + 40 + 25 + 12 = 80: the total is published; 3 alone would be 80 - 77.
        let cells = [cell(&["a"], 3.0), cell(&["b"], 40.0), cell(&["c"], 25.0), cell(&["d"], 12.0)];
        let mut s = [true, false, false, false];
        assert_eq!(complement(&cells, &mut s, 10.0), vec![3], "the smallest other cell, 12");
        assert!(given_away(&lines(&cells, 10.0), &s).is_empty());
    }

    #[test]
    fn two_way_table_is_closed_into_a_cycle() {
        // 2 x 2: one small cell; its row and column partners are not enough (the fourth
        // cell then gives all three away): all four are suppressed.
        let cells = [cell(&["a", "x"], 2.0), cell(&["a", "y"], 30.0), cell(&["b", "x"], 20.0), cell(&["b", "y"], 40.0)];
        let mut s = [true, false, false, false];
        complement(&cells, &mut s, 10.0);
        assert!(given_away(&lines(&cells, 10.0), &s).is_empty());
        assert_eq!(s, [true, true, true, true]);
    }
}
