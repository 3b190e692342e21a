//! PostgreSQL tables as sources (cargo feature `postgres`): a DataFusion `TableProvider`
//! over one table that sends PostgreSQL only the columns a scan projects and the filters it
//! can evaluate exactly as DataFusion would, and streams the rows back as Arrow batches.
//!
//! A build reads the table through this provider the way it reads a Parquet file
//! (`parquet::load_frame`): the columns its queries read (plus those whose values can be
//! invalid), cast to the declared types, `valid_years` and `on_invalid` applied, every row
//! counted. It does not push the KPIs' own filters: every row a KPI does not count is
//! counted in its row accounting, so every row is read once (docs/configuration.md).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, RecordBatch,
    RecordBatchOptions, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use futures::StreamExt;
use tokio_postgres::types::{FromSql, Type};

use super::SourceStats;
use super::stream::Tee;
use crate::diagnostics::Diagnostic;

/// Rows per batch sent to the queries (as CSV's).
const BATCH_ROWS: usize = 8192;

/// How long connecting (name lookup, connection, sign-in), the session settings and
/// learning the table's columns may take, each, before the build stops with YS0306; also
/// the session's `lock_timeout`. Reading the rows has no limit: a large table takes its
/// time.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Read source `id`'s table into `sink`: the same conversions, checks and counts as a
/// Parquet file (`parquet::load_frame`).
pub async fn load_postgres(
    ctx: &datafusion::execution::context::SessionContext,
    id: &str,
    spec: &crate::config::SourceSpec,
    needed: &std::collections::HashSet<String>,
    sink: &mut Tee,
) -> Result<SourceStats, Diagnostic> {
    let table = PostgresTable::open(id, spec).await?;
    let shown = table.shown.clone();
    let df = ctx
        .read_table(Arc::new(table))
        .map_err(|e| Diagnostic::error("YS0306", format!("source `{id}`: cannot read {shown}: {}", e.strip_backtrace())))?;
    let mut stats = SourceStats::default();
    super::report_file(id, 0, 1, &shown, 0);
    let mut latest = super::freshness::Latest::new();
    super::parquet::load_frame(df, id, spec, &shown, needed, sink, &mut stats, &mut latest).await?;
    stats.record_file_latest(&shown, 0, latest);
    stats.check_optional(id, spec)?;
    Ok(stats)
}

/// How a PostgreSQL column is transferred and which Arrow type it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Bool,
    Text,
    Date,
    /// `timestamp` and `timestamptz` (the instant in UTC).
    Timestamp,
    /// Every other type (`numeric`, `bpchar`, `uuid`, ...) as PostgreSQL writes it as text
    /// (`::text`): `numeric` keeps all its digits until it is cast to the declared type,
    /// which fails loudly where it cannot hold the value.
    AsText,
}

impl Kind {
    fn of(ty: &Type) -> Kind {
        match *ty {
            Type::INT2 => Kind::Int16,
            Type::INT4 => Kind::Int32,
            Type::INT8 => Kind::Int64,
            Type::FLOAT4 => Kind::Float32,
            Type::FLOAT8 => Kind::Float64,
            Type::BOOL => Kind::Bool,
            Type::TEXT | Type::VARCHAR => Kind::Text,
            Type::DATE => Kind::Date,
            Type::TIMESTAMP | Type::TIMESTAMPTZ => Kind::Timestamp,
            _ => Kind::AsText,
        }
    }

    fn arrow(self) -> DataType {
        match self {
            Kind::Int16 => DataType::Int16,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Float32 => DataType::Float32,
            Kind::Float64 => DataType::Float64,
            Kind::Bool => DataType::Boolean,
            Kind::Text | Kind::AsText => DataType::Utf8,
            Kind::Date => DataType::Date32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

impl Column {
    /// The column in the SELECT list.
    fn select(&self) -> String {
        match self.kind {
            Kind::AsText => format!("{}::text", quote_ident(&self.name)),
            _ => quote_ident(&self.name),
        }
    }
}

/// One PostgreSQL table as a DataFusion table.
pub struct PostgresTable {
    client: Arc<tokio_postgres::Client>,
    /// `"schema"."name"`, quoted.
    table_sql: String,
    columns: Vec<Column>,
    schema: SchemaRef,
    /// `table x on host/db`, for messages (never the connection string).
    pub shown: String,
}

impl fmt::Debug for PostgresTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresTable").field("table", &self.table_sql).field("columns", &self.columns).finish()
    }
}

impl PostgresTable {
    /// Connect and learn the table's columns and their types (a statement prepared, never
    /// run).
    pub async fn open(id: &str, spec: &crate::config::SourceSpec) -> Result<PostgresTable, Diagnostic> {
        let written = spec.postgres.as_deref().unwrap_or_default();
        let table = spec.table.as_deref().unwrap_or_default();
        Self::connect(id, written, table).await
    }

    /// Connect with `written` (`${NAME}` from the environment) to read `table` for source
    /// `id`. Errors do not point at the connection's line in yardstick.yaml: its excerpt
    /// would print a password written there.
    pub async fn connect(id: &str, written: &str, table: &str) -> Result<PostgresTable, Diagnostic> {
        let parts = crate::config::table_parts(table)
            .ok_or_else(|| Diagnostic::error("YS0002", format!("source `{id}`: `{table}` is not a table name")))?;
        let text = expand_env(written).map_err(|why| {
            Diagnostic::error("YS0306", format!("source `{id}`: {why}"))
                .help("set the variable in the environment of `yardstick build` (in CI, from a secret), or write the connection without it")
        })?;
        let mut config: tokio_postgres::Config = text.parse().map_err(|e: tokio_postgres::Error| {
            Diagnostic::error("YS0306", format!("source `{id}`: `postgres` is not a PostgreSQL connection string: {e}"))
                .help("write `postgresql://user@host:5432/database` or `host=... port=... user=... dbname=...` (libpq's forms)")
        })?;
        // An unreachable server is an error, never a hang (each address tried for this long;
        // the whole setup is bounded by SETUP_TIMEOUT below).
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(SETUP_TIMEOUT);
        }
        // Where, for messages: from the connection as written, so that nothing a variable
        // holds (a password with an `@` would shift the URL's parts) can be shown.
        let place = written
            .parse::<tokio_postgres::Config>()
            .map(|c| describe(&c))
            .unwrap_or_else(|_| "the server named in `postgres`".to_string());
        // The table's name in the source's stats (results.json, the report): not the host.
        let shown = format!("table {table}");
        let timed_out = || {
            Diagnostic::error("YS0306", format!("source `{id}`: PostgreSQL at {place} did not answer within {} seconds", SETUP_TIMEOUT.as_secs()))
                .help("check the host and port (a pooler or another service may accept the connection and never answer), or whether the table is locked")
        };
        let connected = tokio::time::timeout(SETUP_TIMEOUT, config.connect(tokio_postgres::NoTls)).await.map_err(|_| timed_out())?;
        let (client, connection) = connected.map_err(|e| {
            Diagnostic::error("YS0306", format!("source `{id}`: cannot connect to PostgreSQL at {place}: {}", error_text(&e)))
                .help("check that the server runs and accepts this user (the password, if any, is part of the connection string: put it in an environment variable)")
        })?;
        tokio::spawn(async move {
            // Ends when the client is dropped; an error here surfaces in the query that
            // needed the connection.
            let _ = connection.await;
        });
        // Timestamps with a time zone are compared and written in UTC, as yardstick
        // reads times.
        // Literals in pushed filters are standard SQL strings (a backslash is a character).
        // A table locked by another session is an error after the timeout, not a hang.
        let setup = format!("SET TIME ZONE 'UTC'; SET standard_conforming_strings = on; SET lock_timeout = '{}s'", SETUP_TIMEOUT.as_secs());
        tokio::time::timeout(SETUP_TIMEOUT, client.batch_execute(&setup)).await.map_err(|_| timed_out())?.map_err(|e| {
            Diagnostic::error("YS0306", format!("source `{id}`: PostgreSQL at {place} refused the session settings: {}", error_text(&e)))
        })?;
        let table_sql = parts.iter().map(|p| quote_ident(p)).collect::<Vec<_>>().join(".");
        let prepared = tokio::time::timeout(SETUP_TIMEOUT, client.prepare(&format!("SELECT * FROM {table_sql}"))).await;
        let statement = match prepared.map_err(|_| timed_out())? {
            Ok(s) => s,
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
                let tables = known_tables(&client).await;
                return Err(Diagnostic::error("YS0307", format!("source `{id}`: there is no table {table} on {place}")).help(
                    if tables.is_empty() {
                        "this user can read no table in this database: check `dbname` in the connection, and the user's grants".to_string()
                    } else {
                        crate::diagnostics::suggest("table", table, tables.iter().map(String::as_str))
                    },
                ));
            }
            Err(e) => {
                return Err(Diagnostic::error("YS0306", format!("source `{id}`: cannot read {shown} on {place}: {}", error_text(&e))));
            }
        };
        let columns: Vec<Column> =
            statement.columns().iter().map(|c| Column { name: c.name().to_string(), kind: Kind::of(c.type_()) }).collect();
        let fields: Vec<Field> = columns.iter().map(|c| Field::new(&c.name, c.kind.arrow(), true)).collect();
        Ok(PostgresTable { client: Arc::new(client), table_sql, columns, schema: Arc::new(Schema::new(fields)), shown })
    }

    /// The query a scan sends: the projected columns (none: `SELECT FROM`, rows only), the
    /// filters it can evaluate exactly, a limit.
    pub fn select_sql(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> String {
        let list: Vec<String> = projection.iter().filter_map(|&i| self.columns.get(i)).map(Column::select).collect();
        let mut sql = format!("SELECT {} FROM {}", list.join(", "), self.table_sql);
        let pushed: Vec<String> = filters.iter().filter_map(|f| self.filter_sql(f)).collect();
        if !pushed.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&pushed.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" AND "));
        }
        if let Some(n) = limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A filter as PostgreSQL SQL that keeps exactly the rows DataFusion's filter keeps, or
    /// `None` (then DataFusion filters). Only what both evaluate alike: comparisons of
    /// integers, dates, timestamps and booleans; text only by equality (PostgreSQL orders
    /// text by its collation, DataFusion by bytes); floats never (-0 and NaN compare
    /// differently); `and`, `or`, `not`, `is [not] null`, `in`, `between`.
    fn filter_sql(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op: op @ (Operator::And | Operator::Or), right }) => {
                let word = if *op == Operator::And { "AND" } else { "OR" };
                Some(format!("({}) {word} ({})", self.filter_sql(left)?, self.filter_sql(right)?))
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let sym = match op {
                    Operator::Eq => "=",
                    Operator::NotEq => "<>",
                    Operator::Lt => "<",
                    Operator::LtEq => "<=",
                    Operator::Gt => ">",
                    Operator::GtEq => ">=",
                    _ => return None,
                };
                let ordered = !matches!(op, Operator::Eq | Operator::NotEq);
                let l = self.operand(left)?;
                let r = self.operand(right)?;
                comparable(&l, &r, ordered).then(|| format!("{} {sym} {}", l.sql, r.sql))
            }
            Expr::Not(inner) => Some(format!("NOT ({})", self.filter_sql(inner)?)),
            Expr::IsNull(inner) => Some(format!("{} IS NULL", self.column_operand(inner)?.sql)),
            Expr::IsNotNull(inner) => Some(format!("{} IS NOT NULL", self.column_operand(inner)?.sql)),
            Expr::InList(list) => {
                let col = self.column_operand(&list.expr)?;
                let mut items = vec![];
                for item in &list.list {
                    let o = self.operand(item)?;
                    if !comparable(&col, &o, false) {
                        return None;
                    }
                    items.push(o.sql);
                }
                if items.is_empty() {
                    return None;
                }
                Some(format!("{} {}IN ({})", col.sql, if list.negated { "NOT " } else { "" }, items.join(", ")))
            }
            Expr::Between(b) => {
                let col = self.column_operand(&b.expr)?;
                let (low, high) = (self.operand(&b.low)?, self.operand(&b.high)?);
                (comparable(&col, &low, true) && comparable(&col, &high, true))
                    .then(|| format!("{} {}BETWEEN {} AND {}", col.sql, if b.negated { "NOT " } else { "" }, low.sql, high.sql))
            }
            _ => None,
        }
    }

    /// A column of a kind filters can compare in PostgreSQL (a widening integer cast
    /// DataFusion added is the column itself).
    fn column_operand(&self, e: &Expr) -> Option<Operand> {
        match e {
            Expr::Column(c) => {
                let col = self.column(&c.name)?;
                let class = match col.kind {
                    Kind::Int16 | Kind::Int32 | Kind::Int64 => Class::Integer,
                    Kind::Bool => Class::Boolean,
                    Kind::Text => Class::Text,
                    Kind::Date => Class::Date,
                    Kind::Timestamp => Class::Timestamp,
                    Kind::Float32 | Kind::Float64 | Kind::AsText => return None,
                };
                // Text by bytes, as DataFusion compares: a nondeterministic collation could
                // make 'a' = 'A'.
                let sql = if class == Class::Text { format!("{} COLLATE \"C\"", quote_ident(&col.name)) } else { quote_ident(&col.name) };
                Some(Operand { sql, class, column: true })
            }
            // A widening integer cast DataFusion added is the column itself (a narrowing one
            // could fail or wrap there: not pushed).
            Expr::Cast(c) => {
                let Expr::Column(inner) = c.expr.as_ref() else { return None };
                let width = |t: &DataType| match t {
                    DataType::Int16 => Some(16),
                    DataType::Int32 => Some(32),
                    DataType::Int64 => Some(64),
                    _ => None,
                };
                let from = width(&self.column(&inner.name)?.kind.arrow())?;
                let to = width(c.field.data_type())?;
                (to >= from).then(|| self.column_operand(&c.expr)).flatten()
            }
            _ => None,
        }
    }

    /// A column, or a literal.
    fn operand(&self, e: &Expr) -> Option<Operand> {
        if let Some(o) = self.column_operand(e) {
            return Some(o);
        }
        let Expr::Literal(value, _) = e else { return None };
        literal_sql(value)
    }
}

/// What a filter operand compares as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Integer,
    Boolean,
    Text,
    Date,
    Timestamp,
}

struct Operand {
    sql: String,
    class: Class,
    column: bool,
}

/// Whether a comparison of these operands means the same in PostgreSQL and DataFusion: at
/// least one column, both of one class; text and booleans only by equality.
fn comparable(left: &Operand, right: &Operand, ordered: bool) -> bool {
    (left.column || right.column) && left.class == right.class && !(ordered && matches!(left.class, Class::Text | Class::Boolean))
}

/// A literal as PostgreSQL SQL (never a float: see [`PostgresTable::filter_sql`]).
fn literal_sql(value: &ScalarValue) -> Option<Operand> {
    let lit = |sql: String, class: Class| Some(Operand { sql, class, column: false });
    match value {
        ScalarValue::Int8(Some(v)) => lit(v.to_string(), Class::Integer),
        ScalarValue::Int16(Some(v)) => lit(v.to_string(), Class::Integer),
        ScalarValue::Int32(Some(v)) => lit(v.to_string(), Class::Integer),
        ScalarValue::Int64(Some(v)) => lit(v.to_string(), Class::Integer),
        ScalarValue::Boolean(Some(b)) => lit(if *b { "TRUE" } else { "FALSE" }.to_string(), Class::Boolean),
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) if !s.contains('\0') => {
            lit(format!("'{}'", s.replace('\'', "''")), Class::Text)
        }
        ScalarValue::Date32(Some(d)) => {
            let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(*d as i64))?;
            lit(format!("DATE '{}'", day.format("%Y-%m-%d")), Class::Date)
        }
        ScalarValue::TimestampMicrosecond(Some(us), None) => {
            let t = chrono::DateTime::from_timestamp_micros(*us)?.naive_utc();
            lit(format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S%.6f")), Class::Timestamp)
        }
        _ => None,
    }
}

/// `"name"` with `"` doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `${NAME}` replaced by the environment variable NAME.
fn expand_env(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("`${` without its closing `}` in `postgres`")?;
        let name = &after[..end];
        let value = std::env::var(name).map_err(|_| format!("the environment variable `{name}` named in `postgres` is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `user@host:port/db`, without a password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = config.get_dbname().unwrap_or("(the user's database)");
    format!("{user}{host}:{port}/{db}")
}

/// The server's own message when it sent one (tokio-postgres' Display says only "db error").
fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

/// The tables and views a user can read, `schema.name` (`name` alone in `public`), for
/// did-you-mean.
async fn known_tables(client: &tokio_postgres::Client) -> Vec<String> {
    let sql = "SELECT table_schema, table_name FROM information_schema.tables \
               WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2 LIMIT 10000";
    match client.query(sql, &[]).await {
        Ok(rows) => rows
            .iter()
            .map(|r| {
                let (schema, name): (String, String) = (r.get(0), r.get(1));
                if schema == "public" { name } else { format!("{schema}.{name}") }
            })
            .collect(),
        Err(_) => vec![],
    }
}

#[async_trait::async_trait]
impl TableProvider for PostgresTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(
                |f| {
                    if self.filter_sql(f).is_some() { TableProviderFilterPushDown::Exact } else { TableProviderFilterPushDown::Unsupported }
                },
            )
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize> = (0..self.columns.len()).collect();
        let projection = projection.unwrap_or(&all);
        let schema = Arc::new(self.schema.project(projection)?);
        let kinds: Vec<Kind> = projection.iter().filter_map(|&i| self.columns.get(i)).map(|c| c.kind).collect();
        let partition = Arc::new(TablePartition {
            client: self.client.clone(),
            sql: self.select_sql(projection, filters, limit),
            schema: schema.clone(),
            kinds,
        });
        Ok(Arc::new(StreamingTableExec::try_new(schema, vec![partition], None, Vec::new(), false, None)?))
    }
}

/// One scan's query, run when the plan executes.
struct TablePartition {
    client: Arc<tokio_postgres::Client>,
    sql: String,
    schema: SchemaRef,
    kinds: Vec<Kind>,
}

impl fmt::Debug for TablePartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TablePartition").field("sql", &self.sql).finish()
    }
}

impl PartitionStream for TablePartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        enum State {
            Start,
            Rows(std::pin::Pin<Box<tokio_postgres::RowStream>>),
            Done,
        }
        let (client, sql, schema, kinds) = (self.client.clone(), self.sql.clone(), self.schema.clone(), Arc::new(self.kinds.clone()));
        let out_schema = schema.clone();
        let stream = futures::stream::try_unfold(State::Start, move |state| {
            let (client, sql, schema, kinds) = (client.clone(), sql.clone(), schema.clone(), kinds.clone());
            async move {
                let mut rows = match state {
                    State::Start => {
                        let none: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![];
                        Box::pin(client.query_raw(sql.as_str(), none).await.map_err(query_failed)?)
                    }
                    State::Rows(rows) => rows,
                    State::Done => return Ok(None),
                };
                let mut batch = Builders::new(&kinds);
                while batch.rows < BATCH_ROWS {
                    match rows.next().await {
                        Some(row) => batch.push(&row.map_err(query_failed)?)?,
                        None => {
                            return if batch.rows == 0 { Ok(None) } else { Ok(Some((batch.finish(&schema)?, State::Done))) };
                        }
                    }
                }
                Ok(Some((batch.finish(&schema)?, State::Rows(rows))))
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(out_schema, stream))
    }
}

fn query_failed(e: tokio_postgres::Error) -> DataFusionError {
    DataFusionError::Execution(format!("PostgreSQL: {}", error_text(&e)))
}

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// A value past every `valid_years` for `infinity` (-`infinity`: its negation): read as a
/// date outside the valid years, so an invalid value under `on_invalid`, never a real date
/// (about the year 246,000: inside what dates and timestamps can hold, so a `timestamptz`
/// declared `date` converts before it is judged).
const INFINITE_DAYS: i32 = 90_000_000;

/// A `date` as days from 1970 (binary: days from 2000, `i32::MAX`/`MIN` the infinities).
struct Days(i32);

impl<'a> FromSql<'a> for Days {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let v = i32::from_sql(&Type::INT4, raw)?;
        Ok(Days(match v {
            i32::MAX => INFINITE_DAYS,
            i32::MIN => -INFINITE_DAYS,
            v => i32::try_from(v as i64 + PG_EPOCH_DAYS).unwrap_or(INFINITE_DAYS),
        }))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
}

/// A `timestamp` (or `timestamptz`, in UTC) as microseconds from 1970.
struct Micros(i64);

impl<'a> FromSql<'a> for Micros {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let v = i64::from_sql(&Type::INT8, raw)?;
        let infinite = INFINITE_DAYS as i64 * 86_400_000_000;
        Ok(Micros(match v {
            i64::MAX => infinite,
            i64::MIN => -infinite,
            v => v.saturating_add(PG_EPOCH_DAYS * 86_400_000_000),
        }))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ
    }
}

/// One batch being filled, a builder per column.
struct Builders {
    columns: Vec<Builder>,
    rows: usize,
}

enum Builder {
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Builders {
    fn new(kinds: &[Kind]) -> Builders {
        let columns = kinds
            .iter()
            .map(|k| match k {
                Kind::Int16 => Builder::Int16(Int16Builder::new()),
                Kind::Int32 => Builder::Int32(Int32Builder::new()),
                Kind::Int64 => Builder::Int64(Int64Builder::new()),
                Kind::Float32 => Builder::Float32(Float32Builder::new()),
                Kind::Float64 => Builder::Float64(Float64Builder::new()),
                Kind::Bool => Builder::Bool(BooleanBuilder::new()),
                Kind::Text | Kind::AsText => Builder::Text(StringBuilder::new()),
                Kind::Date => Builder::Date(Date32Builder::new()),
                Kind::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
            })
            .collect();
        Builders { columns, rows: 0 }
    }

    fn push(&mut self, row: &tokio_postgres::Row) -> DfResult<()> {
        let bad = |i: usize, e: tokio_postgres::Error| {
            DataFusionError::Execution(format!("PostgreSQL: cannot read column `{}`: {}", row.columns()[i].name(), error_text(&e)))
        };
        for (i, b) in self.columns.iter_mut().enumerate() {
            match b {
                Builder::Int16(b) => b.append_option(row.try_get::<_, Option<i16>>(i).map_err(|e| bad(i, e))?),
                Builder::Int32(b) => b.append_option(row.try_get::<_, Option<i32>>(i).map_err(|e| bad(i, e))?),
                Builder::Int64(b) => b.append_option(row.try_get::<_, Option<i64>>(i).map_err(|e| bad(i, e))?),
                Builder::Float32(b) => b.append_option(row.try_get::<_, Option<f32>>(i).map_err(|e| bad(i, e))?),
                Builder::Float64(b) => b.append_option(row.try_get::<_, Option<f64>>(i).map_err(|e| bad(i, e))?),
                Builder::Bool(b) => b.append_option(row.try_get::<_, Option<bool>>(i).map_err(|e| bad(i, e))?),
                Builder::Text(b) => b.append_option(row.try_get::<_, Option<&str>>(i).map_err(|e| bad(i, e))?),
                Builder::Date(b) => b.append_option(row.try_get::<_, Option<Days>>(i).map_err(|e| bad(i, e))?.map(|d| d.0)),
                Builder::Timestamp(b) => b.append_option(row.try_get::<_, Option<Micros>>(i).map_err(|e| bad(i, e))?.map(|t| t.0)),
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(self, schema: &SchemaRef) -> DfResult<RecordBatch> {
        let rows = self.rows;
        let arrays: Vec<ArrayRef> = self
            .columns
            .into_iter()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Int16(mut b) => Arc::new(b.finish()),
                    Builder::Int32(mut b) => Arc::new(b.finish()),
                    Builder::Int64(mut b) => Arc::new(b.finish()),
                    Builder::Float32(mut b) => Arc::new(b.finish()),
                    Builder::Float64(mut b) => Arc::new(b.finish()),
                    Builder::Bool(mut b) => Arc::new(b.finish()),
                    Builder::Text(mut b) => Arc::new(b.finish()),
                    Builder::Date(mut b) => Arc::new(b.finish()),
                    Builder::Timestamp(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        // A scan of no columns (a count) still has its rows.
        Ok(RecordBatch::try_new_with_options(schema.clone(), arrays, &RecordBatchOptions::new().with_row_count(Some(rows)))?)
    }
}
