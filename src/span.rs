//! Source files and spans. Every stage carries [`Span`]s so that any error, at any stage,
//! can point at the exact bytes of the `.kpi` or `yardstick.yaml` file it is about.
//!
//! Spans come from many places (pest, serde_yaml, text scans); [`SourceMap::clamp`] is the one
//! place that turns any span into a range that is inside its file and on char boundaries, and
//! every lookup (slice, line and column, rendering) goes through it.

use std::ops::Range;

/// Index of a file in the [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A byte range in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Self {
        let start = u32::try_from(range.start).unwrap_or(u32::MAX);
        let end = u32::try_from(range.end).unwrap_or(u32::MAX);
        Span { file, start, end }
    }

    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(&self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// One loaded text file: its name as shown to users (relative to the project dir) and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Byte offset of the start of every line (`\n` ends a line); the first is 0.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { name: name.into(), text, line_starts }
    }

    /// `range` moved inside the text, its ends moved outwards to char boundaries.
    pub fn clamp(&self, range: Range<usize>) -> Range<usize> {
        let start = self.text.floor_char_boundary(range.start.min(self.text.len()));
        let end = self.text.ceil_char_boundary(range.end.clamp(start, self.text.len()));
        start..end
    }

    /// Number of lines (a final line without `\n` counts; an empty file has one line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 0-based line holding byte `offset` (clamped to the text).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    /// Byte range of 0-based line `line`, without its `\n` (and without a `\r` before it).
    pub fn line_range(&self, line: usize) -> Range<usize> {
        let start = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        let end = self.line_starts.get(line + 1).map(|s| s - 1).unwrap_or(self.text.len());
        let end = if self.text[start..end].ends_with('\r') { end - 1 } else { end };
        start..end
    }

    /// 1-based line and column (in chars) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset..offset).start;
        let line = self.line_of(offset);
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        (line + 1, col)
    }
}

/// All files of a project, addressed by [`FileId`]. Files are added in a deterministic order
/// (sorted paths), so ids and therefore diagnostics order are stable between runs.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(name, text));
        FileId((self.files.len() - 1) as u32)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The file a span is in, if the map has it.
    pub fn try_get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f))
    }

    /// A span's byte range inside its file and on char boundaries (empty if the file is unknown).
    pub fn clamp(&self, span: Span) -> Range<usize> {
        self.try_get(span.file).map(|f| f.clamp(span.range())).unwrap_or(0..0)
    }

    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        match self.try_get(span.file) {
            Some(f) => &f.text[f.clamp(span.range())],
            None => "",
        }
    }

    /// 1-based line and column (in chars) of a span's start.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        self.try_get(span.file).map(|f| f.line_col(span.start as usize)).unwrap_or((1, 1))
    }
}

impl SourceMap {
    /// The same files under other names (`rename(name)`), for showing them relative to
    /// another directory than the project's (the current one, a repository's top).
    pub fn renamed(&self, rename: impl Fn(&str) -> String) -> SourceMap {
        SourceMap { files: self.files.iter().map(|f| SourceFile { name: rename(&f.name), ..f.clone() }).collect() }
    }

    /// 1-based line and column of a span's end (exclusive: the column after its last
    /// character; a span ending with a newline ends on that line).
    pub fn end_line_col(&self, span: Span) -> (usize, usize) {
        let Some(f) = self.try_get(span.file) else { return (1, 1) };
        let range = f.clamp(span.range());
        let end = if range.end > range.start && f.text[..range.end].ends_with('\n') { range.end - 1 } else { range.end };
        f.line_col(end)
    }
}
