//! The columnar cache of parsed CSV files: a file's typed batches and its row accounting,
//! so that a build whose data did not change does not parse it again.
//!
//! One entry per (source declaration, file): its name is `<which>-<content>.ysc`, `which` a
//! hash of yardstick's version, the ingest format's version, the reading code itself
//! (`INGEST_CODE`), the source's declarations that reading depends on and the file's name, `content` the BLAKE3 hash of the file's bytes
//! (read in full on every build: never a size or date shortcut, so a changed byte is always
//! a miss). The entry is an Arrow IPC stream (LZ4) of the batches with each row's line, then
//! the file's counts as JSON, then the lengths, a BLAKE3 hash of all of it and a magic
//! number: an entry is checked in full before any of it is used, and one that does not
//! check out (truncated, corrupt, from another version) is deleted and rebuilt, never read
//! as data. Entries are written to a temporary file and renamed into place, so an
//! interrupted build leaves no half entry; writing a new entry deletes the older ones of the
//! same source file. Failing to write the cache never fails a build.

use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use indexmap::IndexMap;

use crate::config::SourceSpec;

/// Bump when what an entry holds changes.
const INGEST_FORMAT: u32 = 1;

/// The code that reads a CSV file into an entry, as text: its hash is part of every key, so
/// a build with changed reading code (a fix, even without a version bump) misses.
const INGEST_CODE: &[&str] = &[
    include_str!("cache.rs"),
    include_str!("csv.rs"),
    include_str!("csv_source.rs"),
    include_str!("filename.rs"),
    include_str!("freshness.rs"),
    include_str!("mod.rs"),
    include_str!("values.rs"),
];

fn ingest_code_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut h = blake3::Hasher::new();
        for code in INGEST_CODE {
            h.update(code.as_bytes());
        }
        h.finalize().to_hex().to_string()
    })
}
const MAGIC: &[u8; 8] = b"YSCSV\x00\x00\x01";
/// Lengths (2 x 8), hash (32), magic (8).
const TRAILER: u64 = 48 + 8;
/// The column of each row's line in an entry's batches.
const LINE: &str = "\u{1}line";

/// Where the cache lives (a directory the project may write to).
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// The counts of one file, as reading it added them to its source's [`super::SourceStats`].
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FileCounts {
    pub rows_read: u64,
    pub rows_skipped: u64,
    pub invalid_values: IndexMap<String, u64>,
    pub blank_lines: u64,
    pub trailing_notes: u64,
    /// Optional columns the file lacks (in the order found), with the file's rows.
    pub missing_optional: Vec<(String, u64)>,
    /// Per date or timestamp column: the latest value, as a number and as text.
    pub latest: Vec<(String, i64, String)>,
}

/// An entry's name: which source file (`which`) and which content.
pub struct Key {
    which: String,
    content: String,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Self {
        Cache { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry of file `shown` of a source declared as `spec`, with content `content`.
    pub fn key(spec: &SourceSpec, shown: &str, content: &blake3::Hash) -> Key {
        let mut h = blake3::Hasher::new();
        h.update(format!("yardstick {} ingest {INGEST_FORMAT} {}\n", env!("CARGO_PKG_VERSION"), ingest_code_hash()).as_bytes());
        h.update(fingerprint(spec).as_bytes());
        h.update(b"\n");
        h.update(shown.as_bytes());
        Key { which: h.finalize().to_hex()[..32].to_string(), content: content.to_hex().to_string() }
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}-{}.ysc", key.which, key.content))
    }

    /// The entry, checked in full, or `None` (a miss). An entry that fails its check is
    /// deleted (`Err` says why, for the progress line).
    pub fn open(&self, key: &Key, schema: &SchemaRef) -> Result<Option<Entry>, String> {
        let path = self.path(key);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(_) => return Ok(None),
        };
        match Entry::open(file, schema) {
            Ok(entry) => Ok(Some(entry)),
            Err(why) => {
                let _ = std::fs::remove_file(&path);
                Err(why)
            }
        }
    }

    /// A writer of the entry for `key` (`None` when the directory cannot be written).
    pub fn writer(&self, key: &Key, schema: &SchemaRef) -> Option<EntryWriter> {
        std::fs::create_dir_all(&self.dir).ok()?;
        let path = self.path(key);
        let temp = self.dir.join(format!(".{}-{}.tmp-{}", key.which, key.content, std::process::id()));
        let file = std::fs::File::create(&temp).ok()?;
        let options =
            IpcWriteOptions::default().try_with_compression(Some(datafusion::arrow::ipc::CompressionType::LZ4_FRAME)).unwrap_or_default();
        let out = Hashing { inner: BufWriter::with_capacity(1 << 20, file), hasher: blake3::Hasher::new(), written: 0 };
        let schema = cache_schema(schema);
        match StreamWriter::try_new_with_options(out, &schema, options) {
            Ok(ipc) => Some(EntryWriter { ipc: Some(ipc), schema, temp, path, which: key.which.clone() }),
            Err(_) => {
                let _ = std::fs::remove_file(&temp);
                None
            }
        }
    }
}

/// The source's declarations that reading its files depends on, as text (spans, names
/// shown to people and KPI-level settings left out; everything else in, so a new setting
/// cannot be forgotten: at worst it causes a miss).
fn fingerprint(spec: &SourceSpec) -> String {
    let mut s = spec.clone();
    s.path_span = Default::default();
    s.path = String::new();
    s.description = None;
    s.time = None;
    for c in s.columns.values_mut() {
        c.span = Default::default();
        c.pii = false;
        c.internal = false;
    }
    format!("{s:?}")
}

fn cache_schema(schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(LINE, DataType::Int64, true));
    Arc::new(Schema::new(fields))
}

/// A writer that hashes and counts what it writes.
struct Hashing<W> {
    inner: W,
    hasher: blake3::Hasher,
    written: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// An entry being written, batch by batch as the file is parsed.
pub struct EntryWriter {
    ipc: Option<StreamWriter<Hashing<BufWriter<std::fs::File>>>>,
    schema: SchemaRef,
    temp: PathBuf,
    path: PathBuf,
    which: String,
}

impl EntryWriter {
    /// Add a batch; a failure abandons the entry (the build goes on without it).
    pub fn write(&mut self, batch: &RecordBatch, lines: &ArrayRef) {
        let Some(ipc) = self.ipc.as_mut() else { return };
        let mut columns = batch.columns().to_vec();
        columns.push(lines.clone());
        let ok = RecordBatch::try_new(self.schema.clone(), columns).ok().is_some_and(|b| ipc.write(&b).is_ok());
        if !ok {
            self.ipc = None;
        }
    }

    /// Finish the entry with the file's counts and move it into place (replacing the older
    /// entries of the same source file). Whether it was written.
    pub fn commit(mut self, counts: &FileCounts) -> bool {
        let done = self.finish(counts).is_some();
        if done {
            if let Some(dir) = self.path.parent() {
                remove_older(dir, &self.which, &self.path);
            }
        }
        done
    }

    fn finish(&mut self, counts: &FileCounts) -> Option<()> {
        let mut ipc = self.ipc.take()?;
        ipc.finish().ok()?;
        let mut out = ipc.into_inner().ok()?;
        let ipc_len = out.written;
        let meta = serde_json::to_vec(counts).ok()?;
        out.write_all(&meta).ok()?;
        out.write_all(&ipc_len.to_le_bytes()).ok()?;
        out.write_all(&(meta.len() as u64).to_le_bytes()).ok()?;
        let hash = out.hasher.finalize();
        let mut file = out.inner;
        file.write_all(hash.as_bytes()).ok()?;
        file.write_all(MAGIC).ok()?;
        file.flush().ok()?;
        std::fs::rename(&self.temp, &self.path).ok()
    }
}

impl Drop for EntryWriter {
    fn drop(&mut self) {
        // Not committed (or failed): no trace.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// Entries (and leftover temporary files) of the same source file but other content.
fn remove_older(dir: &Path, which: &str, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_string();
        let mine = name.starts_with(&format!("{which}-")) || name.starts_with(&format!(".{which}-"));
        if mine && e.path() != keep {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A checked entry: the file's counts, and its batches to read.
pub struct Entry {
    pub counts: FileCounts,
    /// The source's declared schema (the batches' without the lines).
    schema: SchemaRef,
    batches: StreamReader<BufReader<std::io::Take<std::fs::File>>>,
}

impl Entry {
    fn open(mut file: std::fs::File, schema: &SchemaRef) -> Result<Entry, String> {
        let size = file.metadata().map_err(|e| e.to_string())?.len();
        if size < TRAILER {
            return Err(format!("{size} bytes, shorter than an entry"));
        }
        let mut trailer = [0u8; TRAILER as usize];
        file.seek(SeekFrom::Start(size - TRAILER)).and_then(|_| file.read_exact(&mut trailer)).map_err(|e| e.to_string())?;
        if &trailer[48..] != MAGIC {
            return Err("not an entry of this version".into());
        }
        let number = |i: usize| u64::from_le_bytes(trailer[i..i + 8].try_into().unwrap_or_default());
        let (ipc_len, meta_len) = (number(0), number(8));
        if ipc_len.checked_add(meta_len).and_then(|n| n.checked_add(TRAILER)) != Some(size) {
            return Err("its lengths do not add up to its size".into());
        }
        // The hash covers everything before it: checked before anything is used.
        file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        let mut hasher = blake3::Hasher::new();
        let mut rest = (&mut file).take(size - 40);
        std::io::copy(&mut rest, &mut hasher).map_err(|e| e.to_string())?;
        if hasher.finalize().as_bytes() != &trailer[16..48] {
            return Err("its checksum does not match (a damaged or cut file)".into());
        }
        file.seek(SeekFrom::Start(ipc_len)).map_err(|e| e.to_string())?;
        let mut meta = vec![0u8; meta_len as usize];
        file.read_exact(&mut meta).map_err(|e| e.to_string())?;
        let counts: FileCounts = serde_json::from_slice(&meta).map_err(|e| e.to_string())?;
        file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        let batches = StreamReader::try_new(BufReader::with_capacity(1 << 20, file.take(ipc_len)), None).map_err(|e| e.to_string())?;
        if batches.schema().fields() != cache_schema(schema).fields() {
            return Err("its columns are not the source's".into());
        }
        Ok(Entry { counts, schema: schema.clone(), batches })
    }

    /// The next batch and its rows' lines.
    pub fn next_batch(&mut self) -> Option<Result<(RecordBatch, ArrayRef), String>> {
        let batch = match self.batches.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(e.to_string())),
        };
        let n = batch.num_columns() - 1;
        let lines = batch.column(n).clone();
        Some(RecordBatch::try_new(self.schema.clone(), batch.columns()[..n].to_vec()).map(|b| (b, lines)).map_err(|e| e.to_string()))
    }
}
