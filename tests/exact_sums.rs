//! Float sums are exact and order-independent (`functions::exact_sum`): the same bits
//! whatever the order of the values and however they are split into partitions, equal to
//! the correctly rounded exact sum that tests/oracle/exact_sum.py computes with Python's
//! `fractions` (and checks against `math.fsum`); and a build gives byte-identical
//! results.json whatever the number of partitions DataFusion uses.

use std::io::Write;
use std::process::{Command, Stdio};

use yardstick::functions::exact_sum::Superacc;

use crate::common::*;

/// xorshift64*: a fixed sequence, so every run tests the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Values that make float addition lose bits: huge ones that cancel, ones, tiny ones,
/// decimals, subnormals, random mantissas over a wide range of exponents.
fn adversarial(rng: &mut Rng) -> f64 {
    let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
    match rng.below(9) {
        0 => sign * 1e16,
        1 => sign,
        2 => sign * 1e-16 * (1 + rng.below(1000)) as f64,
        3 => sign * 0.1 * rng.below(1000) as f64,
        4 => sign * f64::from_bits(1 + rng.below(1 << 40)),
        5 => sign * 1e300,
        6 => {
            let e = rng.below(240) as i32 - 120;
            sign * (1.0 + (rng.below(1 << 52) as f64) / (1u64 << 52) as f64) * 2f64.powi(e)
        }
        7 => sign * 2f64.powi(53),
        _ => sign * 0.01 * (1 + rng.below(100_000)) as f64,
    }
}

fn sum(values: &[f64]) -> Option<f64> {
    let mut s = Superacc::new();
    values.iter().for_each(|v| s.add(*v));
    s.value()
}

/// `values` shuffled, split into `parts` runs summed on their own, their states merged in a
/// shuffled order (what DataFusion's partitions and their finishing order do).
fn partitioned_sum(rng: &mut Rng, values: &[f64], parts: usize) -> Option<f64> {
    let mut v = values.to_vec();
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut accs: Vec<Superacc> = (0..parts).map(|_| Superacc::new()).collect();
    for x in v {
        accs[rng.below(parts as u64) as usize].add(x);
    }
    let mut states: Vec<Vec<u8>> = accs.iter_mut().map(Superacc::to_bytes).collect();
    for i in (1..states.len()).rev() {
        states.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut total = Superacc::new();
    for s in &states {
        total.merge_bytes(s).expect("merges");
    }
    total.value()
}

#[test]
fn float_sums_are_exact_whatever_the_order_and_partitioning() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases: Vec<Vec<f64>> = vec![
        vec![1e16, 1.0, -1e16],
        vec![1e300, 1.0, -1e300, 1e-300],
        vec![0.1; 10],
        vec![f64::from_bits(1); 3],
        // Halfway cases: 2^53 + 1 rounds to even, with a tiny extra it rounds up.
        vec![2f64.powi(53), 1.0],
        vec![2f64.powi(53), 1.0, 1e-300],
        vec![-(2f64.powi(53)), -1.0, -1e-300],
    ];
    for _ in 0..300 {
        let n = 1 + rng.below(300) as usize;
        cases.push((0..n).map(|_| adversarial(&mut rng)).collect());
    }
    let mut ours = vec![];
    for values in &cases {
        let once = sum(values);
        for _ in 0..6 {
            let parts = 1 + rng.below(8) as usize;
            let again = partitioned_sum(&mut rng, values, parts);
            assert_eq!(again.map(f64::to_bits), once.map(f64::to_bits), "order or partitioning changed the sum of {values:?}");
        }
        ours.push(once.expect("some values"));
    }
    // The oracle: exact rational arithmetic in Python, rounded once.
    let input: String = cases.iter().map(|c| c.iter().map(|v| hex(*v)).collect::<Vec<_>>().join(" ") + "\n").collect();
    let mut child = Command::new("python3")
        .arg(repo().join("tests/oracle/exact_sum.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the exact-sum test needs python3");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write cases");
    let out = child.wait_with_output().expect("oracle runs");
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(expected.len(), cases.len());
    for ((values, got), want) in cases.iter().zip(&ours).zip(&expected) {
        assert_eq!(&hex(*got), want, "sum of {values:?}");
    }
}

/// `float.hex()`'s format: `0x1.8000000000000p+1`, `-0x0.0000000000001p-1022`, `0x0.0p+0`.
fn hex(v: f64) -> String {
    let bits = v.to_bits();
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1 << 52) - 1);
    if exp == 0 && frac == 0 {
        return format!("{sign}0x0.0p+0");
    }
    let (lead, e) = if exp == 0 { (0, -1022) } else { (1, exp - 1023) };
    format!("{sign}0x{lead}.{frac:013x}p{}{e}", if e >= 0 { "+" } else { "" })
}

/// 60,000 rows (8 CSV batches of 8,192): huge values that cancel, decimals, fractions, so a
/// float sum's last bits depend on the order of additions.
fn adversarial_csv() -> String {
    let mut s = String::from("day,kind,amount\n");
    for i in 0..60_000u64 {
        let v = match i % 5 {
            0 => 1e16,
            1 => -1e16,
            2 => 0.1 * (i % 97) as f64,
            3 => 1.0 / (1 + i % 13) as f64,
            _ => 3.3e-5 * i as f64,
        };
        s.push_str(&format!("2024-{:02}-{:02},{},{v:?}\n", 1 + i % 6, 1 + i % 28, i % 3));
    }
    s
}

#[test]
fn a_build_is_byte_identical_whatever_the_partitions() {
    let yaml = "name: Sums
sources:
  t:
    path: data/t.csv
    time: day
    columns:
      day: date
      kind: integer
      amount: float
";
    let kpis = r#"goal g "G" {
  kpi total "Total" { from t measure sum(amount) }
  kpi mean "Mean" { from t measure avg(amount) grain month }
  kpi per_kind "Per kind" { from t measure sum(amount) by kind grain month }
  kpi ratio "Ratio" { from t measure ratio(sum(amount where kind = 1), sum(amount)) }
  kpi rolling "Rolling" { from t measure sum(amount) grain month rolling 2 months }
}
"#;
    let dir = project(yaml, &[("k.kpi", kpis)]);
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/t.csv"), adversarial_csv()).expect("write csv");
    let mut outputs = vec![];
    for partitions in ["1", "3", "8"] {
        let out = dir.path().join(format!("out{partitions}"));
        let run = Command::new(yardstick_bin())
            .args(["build", &dir.path().display().to_string(), "--out", &out.display().to_string()])
            .env("YARDSTICK_PARTITIONS", partitions)
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        assert!(run.status.success(), "build failed: {}", String::from_utf8_lossy(&run.stderr));
        outputs.push(std::fs::read(out.join("results.json")).expect("results.json"));
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]), "results.json differs between partition counts");
}
