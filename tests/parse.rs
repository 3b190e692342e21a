//! Operator precedence and the shape of parsed expressions (expected trees written by hand).

use yardstick::ast::{Expr, ExprKind, UnaryOp};
use yardstick::span::FileId;

fn sexpr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Column(c) => c.name.clone(),
        ExprKind::Number { text, .. } => text.clone(),
        ExprKind::String(s) => format!("'{s}'"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Null => "null".into(),
        ExprKind::Date(d) => d.to_string(),
        ExprKind::Unary { op: UnaryOp::Not, expr } => format!("(not {})", sexpr(expr)),
        ExprKind::Unary { op: UnaryOp::Neg, expr } => format!("(- {})", sexpr(expr)),
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", op.symbol(), sexpr(lhs), sexpr(rhs)),
        ExprKind::IsNull { expr, negated } => format!("({} {})", if *negated { "notnull" } else { "isnull" }, sexpr(expr)),
        ExprKind::InList { expr, list, negated } => format!(
            "({} {} [{}])",
            if *negated { "notin" } else { "in" },
            sexpr(expr),
            list.iter().map(sexpr).collect::<Vec<_>>().join(" ")
        ),
        ExprKind::Call { name, args } => format!(
            "{}({})",
            name.name,
            args.iter()
                .map(|a| format!(
                    "{}{}{}",
                    if a.distinct { "distinct " } else { "" },
                    sexpr(&a.expr),
                    a.filter.as_ref().map(|f| format!(" where {}", sexpr(f))).unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::Interval { amount, unit } => format!("[{amount} {}]", unit.word()),
    }
}

fn parse(text: &str) -> String {
    sexpr(&yardstick::parse::parse_expr(FileId(0), text).unwrap_or_else(|e| panic!("{text}: {e}")))
}

#[test]
fn precedence() {
    assert_eq!(parse("a or b and c"), "(or a (and b c))");
    assert_eq!(parse("not a = 1 and b"), "(and (not (= a 1)) b)");
    assert_eq!(parse("a + b * c - d"), "(- (+ a (* b c)) d)");
    assert_eq!(parse("a + b is null"), "(isnull (+ a b))");
    assert_eq!(parse("x not in ('a', 'b') or y is not null"), "(or (notin x ['a' 'b']) (notnull y))");
    assert_eq!(parse("-a * 2 <= 10"), "(<= (* (- a) 2) 10)");
    assert_eq!(parse("(a or b) and c"), "(and (or a b) c)");
    assert_eq!(parse("d >= 2024-07-01"), "(>= d 2024-07-01)");
    assert_eq!(parse("`Call Type` = \"Fire\""), "(= Call Type 'Fire')");
    assert_eq!(parse("a <> b"), "(!= a b)");
    // Intervals bind like numbers; a name that only starts like a unit is a column.
    assert_eq!(parse("t + 30 days > u - 2 hours"), "(> (+ t [30 days]) (- u [2 hours]))");
    assert_eq!(parse("t + 1 month"), "(+ t [1 months])");
    assert_eq!(parse("x + 2 * dayspan"), "(+ x (* 2 dayspan))");
    assert_eq!(parse("count(distinct a, b where c)"), "count(distinct a, b where c)");
}

#[test]
fn calls_with_filters_and_distinct() {
    assert_eq!(
        parse("ratio(count() where closed_on_time, count() where closed)"),
        "ratio(count() where closed_on_time, count() where closed)"
    );
    assert_eq!(parse("count(distinct district)"), "count(distinct district)");
    assert_eq!(parse("sum(cost where paid and cost > 0)"), "sum(cost where (and paid (> cost 0)))");
}

#[test]
fn spans_cover_the_source_text() {
    let text = "share(seconds_between(a, b) <= 10)";
    let e = yardstick::parse::parse_expr(FileId(0), text).expect("parses");
    assert_eq!((e.span.start, e.span.end), (0, text.len() as u32));
    let ExprKind::Call { args, .. } = &e.kind else { panic!("call") };
    let inner = &args[0].expr;
    assert_eq!(&text[inner.span.range()], "seconds_between(a, b) <= 10");
}

#[test]
fn keywords_need_word_boundaries() {
    // `order`, `island`, `notes`, `timely` start with keywords but are plain names.
    assert_eq!(parse("order = island or notes = timely"), "(or (= order island) (= notes timely))");
}
