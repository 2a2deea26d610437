//! The files of an output folder: reading them back (resume, merge) and writing them atomically.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BatchError, BatchRecord};
use crate::report::html::{BatchReport, ReportRow, PAGES_DIR};
use crate::report::tag_csv_row;

/// One record per line, sorted by path.
pub(crate) const LABELS_JSONL: &str = "labels.jsonl";
/// The same records as CSV.
pub(crate) const LABELS_CSV: &str = "labels.csv";
/// `{"path": ..., "png": base64}` per tagged file: the report's thumbnails, kept for `merge`.
pub(crate) const SPECTROGRAMS_JSONL: &str = "spectrograms.jsonl";
/// The HTML report.
pub(crate) const REPORT_HTML: &str = "report.html";
/// Records appended as files finish (removed when the final files are written).
pub(crate) const JOURNAL: &str = "labels.partial.jsonl";
/// The lock file a run holds in its output folder.
pub const LOCK: &str = ".roomtone.lock";
/// Header of `labels.csv`: the `roomtone tag` columns plus size and modification time.
pub const LABELS_CSV_HEADER: &str =
    "path,duration_s,ambience,labels,speech,segments,speech_segments,audioset_top,error,size_bytes,mtime_ns";

/// A record and its spectrogram thumbnail (base64 PNG), as kept in the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The labels.jsonl record.
    pub record: BatchRecord,
    /// The thumbnail, if the file was tagged.
    pub spectrogram: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SpectrogramLine {
    path: String,
    png: String,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BatchError {
    let path = path.to_path_buf();
    move |source| BatchError::Io { path, source }
}

/// An exclusive lock on an output folder, held while a run writes there and released when dropped.
///
/// It is an OS file lock ([`std::fs::File::try_lock`]) on `OUTDIR/.roomtone.lock`: the system drops
/// it when the process ends however it ends, so a killed run never leaves a stale lock. The file
/// itself stays (removing it would let a third run lock a new file while a second still holds the
/// old one); it holds the pid of the last run, for the message a refused run prints.
#[derive(Debug)]
pub(crate) struct OutdirLock {
    _file: std::fs::File,
}

impl OutdirLock {
    /// Takes the lock on `dir` (which must exist), or fails at once with
    /// [`BatchError::Locked`] naming the folder if another process holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, BatchError> {
        let path = dir.join(LOCK);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&path)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
                return Err(BatchError::Locked {
                    path: dir.to_path_buf(),
                    pid,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
        // For people only: which process holds it. The lock works without it.
        let _ = file
            .set_len(0)
            .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()));
        Ok(Self { _file: file })
    }
}

/// Appends finished entries, one whole line per write.
pub(super) struct Journal {
    file: std::fs::File,
    path: PathBuf,
}

impl Journal {
    /// Opens the journal at `path`: emptied, or with `append` continued after its last complete
    /// record (a torn last line, from a run killed mid-write, is cut off first, so the next record
    /// starts on a line of its own).
    pub(super) fn open(path: &Path, append: bool) -> Result<Self, BatchError> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true);
        let file = if append {
            let (_, complete) = scan_journal(path)?;
            let file = options.append(true).open(path).map_err(io_err(path))?;
            if file.metadata().map_err(io_err(path))?.len() != complete {
                file.set_len(complete).map_err(io_err(path))?;
            }
            file
        } else {
            options
                .write(true)
                .truncate(true)
                .open(path)
                .map_err(io_err(path))?
        };
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    pub(super) fn append(&mut self, entry: &Entry) -> Result<(), BatchError> {
        let mut line = serde_json::to_string(entry).map_err(|e| BatchError::Parse {
            path: self.path.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(io_err(&self.path))
    }
}

/// Reads lines of a file one at a time, numbering them and keeping each one's byte offset.
struct Lines {
    reader: std::io::BufReader<std::fs::File>,
    path: PathBuf,
    buf: Vec<u8>,
    /// 1-based number of the line in `buf`.
    number: usize,
    /// Byte offset of the line in `buf`, and of the next one.
    offset: u64,
    next_offset: u64,
}

impl Lines {
    /// Opens `path`; a missing file is `None`.
    fn open(path: &Path) -> Result<Option<Self>, BatchError> {
        match std::fs::File::open(path) {
            Ok(f) => Ok(Some(Self {
                reader: std::io::BufReader::with_capacity(1 << 16, f),
                path: path.to_path_buf(),
                buf: Vec::new(),
                number: 0,
                offset: 0,
                next_offset: 0,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(path)(e)),
        }
    }

    /// Reads the next line that is not blank ([`Lines::line`]); `Some(terminated)` says whether
    /// it ended with a newline, `None` is the end of the file.
    fn next_line(&mut self) -> Result<Option<bool>, BatchError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(io_err(&self.path))?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            self.offset = self.next_offset;
            self.next_offset += n as u64;
            let terminated = self.buf.last() == Some(&b'\n');
            if terminated {
                self.buf.pop();
            }
            if !self.buf.trim_ascii().is_empty() {
                return Ok(Some(terminated));
            }
        }
    }

    /// The line last read, without its newline.
    fn line(&self) -> &[u8] {
        &self.buf
    }

    /// Whether the file has nothing after the line last read.
    fn at_end(&mut self) -> Result<bool, BatchError> {
        Ok(self
            .reader
            .fill_buf()
            .map_err(io_err(&self.path))?
            .is_empty())
    }

    fn parse_error(&self, message: impl ToString) -> BatchError {
        BatchError::Parse {
            path: self.path.clone(),
            line: self.number,
            message: message.to_string(),
        }
    }
}

/// What planning needs of a record, read without the rest of it.
#[derive(Deserialize)]
struct StampFields<'a> {
    #[serde(borrow)]
    path: std::borrow::Cow<'a, str>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
    size_bytes: u64,
    mtime_ns: i64,
}

#[derive(Deserialize)]
struct JournalStampFields<'a> {
    #[serde(borrow)]
    record: StampFields<'a>,
}

/// An earlier record as `--resume` plans with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The file's path as recorded.
    pub path: String,
    /// Size and modification time when it was recorded.
    pub size_bytes: u64,
    pub mtime_ns: i64,
    /// A tagged record with every field of today's (not an error, and not written before
    /// `speech_segments` existed): a file with the same size and time need not be done again.
    pub keepable: bool,
}

impl Stamp {
    fn of(fields: StampFields<'_>, line: &[u8]) -> Self {
        let ok = fields.error.is_none();
        Self {
            path: fields.path.into_owned(),
            size_bytes: fields.size_bytes,
            mtime_ns: fields.mtime_ns,
            keepable: ok && contains_bytes(line, b"\"speech_segments\":"),
        }
    }
}

/// Whether `needle` occurs in `hay` (a plain byte search).
fn contains_bytes(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Where a journal record is: its line's offset and length, and its stamp.
#[derive(Debug, Clone)]
struct JournalRef {
    stamp: Stamp,
    offset: u64,
    len: usize,
}

/// Scans a journal: where each of its complete records is (sorted by path; of two records of one
/// path the later is kept) and the length in bytes the complete records take.
///
/// A record is complete when its line ends with a newline and parses. The last line may be torn
/// (the process was killed while writing it: no newline, or not valid JSON): it is left out, and
/// its file is done again. A damaged line before the last is an error. A missing journal is empty.
fn scan_journal(path: &Path) -> Result<(Vec<JournalRef>, u64), BatchError> {
    let Some(mut lines) = Lines::open(path)? else {
        return Ok((Vec::new(), 0));
    };
    let mut refs = Vec::new();
    let mut complete = 0;
    while let Some(terminated) = lines.next_line()? {
        if !terminated {
            break;
        }
        let bytes = lines.line();
        let parsed = serde_json::from_slice::<JournalStampFields<'_>>(bytes)
            .map(|f| Stamp::of(f.record, bytes));
        match parsed {
            Ok(stamp) => refs.push(JournalRef {
                stamp,
                offset: lines.offset,
                len: bytes.len(),
            }),
            Err(_) if lines.at_end()? => break,
            Err(e) => return Err(lines.parse_error(e)),
        }
        complete = lines.next_offset;
    }
    // Stable: of equal paths the later line comes last, and is the one kept.
    refs.sort_by(|a, b| a.stamp.path.cmp(&b.stamp.path));
    let mut kept: Vec<JournalRef> = Vec::with_capacity(refs.len());
    for r in refs {
        match kept.last_mut() {
            Some(last) if last.stamp.path == r.stamp.path => *last = r,
            _ => kept.push(r),
        }
    }
    Ok((kept, complete))
}

/// The earlier records of an output folder as `--resume` plans with them, sorted by path:
/// `labels.jsonl`, with the journal of an interrupted run over it. Only the stamps are read (no
/// thumbnails, no tags), so a million records take about 100 MB. Also says whether the journal
/// holds any record.
pub(crate) fn read_stamps(dir: &Path) -> Result<(Vec<Stamp>, bool), BatchError> {
    let mut labels = Vec::new();
    if let Some(mut lines) = Lines::open(&dir.join(LABELS_JSONL))? {
        while lines.next_line()?.is_some() {
            let bytes = lines.line();
            let stamp = match serde_json::from_slice::<StampFields<'_>>(bytes) {
                Ok(f) => Stamp::of(f, bytes),
                Err(e) => return Err(lines.parse_error(e)),
            };
            if labels
                .last()
                .is_some_and(|last: &Stamp| last.path >= stamp.path)
            {
                return Err(lines.parse_error(unsorted(&stamp.path)));
            }
            labels.push(stamp);
        }
    }
    let (journal, _) = scan_journal(&dir.join(JOURNAL))?;
    let any_journal = !journal.is_empty();
    let mut out = Vec::with_capacity(labels.len() + journal.len());
    let mut journal = journal.into_iter().map(|r| r.stamp).peekable();
    for stamp in labels {
        while let Some(j) = journal.next_if(|j| j.path < stamp.path) {
            out.push(j);
        }
        match journal.next_if(|j| j.path == stamp.path) {
            Some(j) => out.push(j),
            None => out.push(stamp),
        }
    }
    out.extend(journal);
    Ok((out, any_journal))
}

fn unsorted(path: &str) -> String {
    format!("{path}: not in path order (roomtone writes this file sorted by path; was it edited or joined by hand?)")
}

/// A stream of entries in strictly increasing path order.
pub(crate) type Entries<'a> = Box<dyn Iterator<Item = Result<Entry, BatchError>> + 'a>;

/// The records of `labels.jsonl` in order, each with its thumbnail from `spectrograms.jsonl`
/// (both files are written in path order, so they are read side by side).
struct LabelsStream {
    labels: Option<Lines>,
    thumbs: Option<Lines>,
    /// The thumbnail line read ahead of the records.
    thumb: Option<SpectrogramLine>,
    last: Option<String>,
}

impl LabelsStream {
    fn open(dir: &Path) -> Result<Self, BatchError> {
        Ok(Self {
            labels: Lines::open(&dir.join(LABELS_JSONL))?,
            thumbs: Lines::open(&dir.join(SPECTROGRAMS_JSONL))?,
            thumb: None,
            last: None,
        })
    }

    fn thumbnail(&mut self, path: &str) -> Result<Option<String>, BatchError> {
        loop {
            if let Some(t) = &self.thumb {
                match t.path.as_str().cmp(path) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => return Ok(self.thumb.take().map(|t| t.png)),
                    std::cmp::Ordering::Greater => return Ok(None),
                }
            }
            let Some(lines) = self.thumbs.as_mut() else {
                return Ok(None);
            };
            if lines.next_line()?.is_none() {
                self.thumbs = None;
                return Ok(None);
            }
            let parsed = serde_json::from_slice::<SpectrogramLine>(lines.line());
            self.thumb = Some(parsed.map_err(|e| lines.parse_error(e))?);
        }
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, BatchError> {
        let Some(lines) = self.labels.as_mut() else {
            return Ok(None);
        };
        if lines.next_line()?.is_none() {
            self.labels = None;
            return Ok(None);
        }
        let record: BatchRecord =
            serde_json::from_slice(lines.line()).map_err(|e| lines.parse_error(e))?;
        if self.last.as_deref().is_some_and(|l| l >= record.path()) {
            return Err(lines.parse_error(unsorted(record.path())));
        }
        self.last = Some(record.path().to_string());
        let spectrogram = self.thumbnail(record.path())?;
        Ok(Some(Entry {
            record,
            spectrogram,
        }))
    }
}

impl Iterator for LabelsStream {
    type Item = Result<Entry, BatchError>;
    fn next(&mut self) -> Option<Self::Item> {
        let next = self.next_entry();
        if next.is_err() {
            self.labels = None;
        }
        next.transpose()
    }
}

/// The journal's records in path order, read from where [`scan_journal`] found them.
struct JournalStream {
    file: Option<std::fs::File>,
    path: PathBuf,
    refs: std::vec::IntoIter<JournalRef>,
}

impl Iterator for JournalStream {
    type Item = Result<Entry, BatchError>;
    fn next(&mut self) -> Option<Self::Item> {
        use std::io::{Read, Seek, SeekFrom};
        let r = self.refs.next()?;
        let file = self.file.as_mut()?;
        let mut bytes = vec![0; r.len];
        let read = file
            .seek(SeekFrom::Start(r.offset))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(io_err(&self.path));
        Some(read.and_then(|()| {
            serde_json::from_slice(&bytes).map_err(|e| BatchError::Parse {
                path: self.path.clone(),
                line: 0,
                message: e.to_string(),
            })
        }))
    }
}

/// Two streams of entries in path order as one: of two entries with the same path, `top`'s.
pub(crate) struct Overlay<'a> {
    base: std::iter::Peekable<Entries<'a>>,
    top: std::iter::Peekable<Entries<'a>>,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(base: Entries<'a>, top: Entries<'a>) -> Self {
        Self {
            base: base.peekable(),
            top: top.peekable(),
        }
    }
}

impl Iterator for Overlay<'_> {
    type Item = Result<Entry, BatchError>;
    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering;
        let order = match (self.base.peek(), self.top.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            // An error comes out first, whichever side it is on.
            (Some(Err(_)), _) => Ordering::Less,
            (_, Some(Err(_))) => Ordering::Greater,
            (Some(Ok(b)), Some(Ok(t))) => b.record.path().cmp(t.record.path()),
        };
        match order {
            Ordering::Less => self.base.next(),
            Ordering::Equal => {
                self.base.next();
                self.top.next()
            }
            Ordering::Greater => self.top.next(),
        }
    }
}

/// The records of an output folder in path order: `labels.jsonl` with its thumbnails, and over
/// it the journal of an interrupted (or this) run. Nothing is held but the journal's index.
pub(crate) fn folder_entries(dir: &Path) -> Result<Overlay<'static>, BatchError> {
    let labels = LabelsStream::open(dir)?;
    let jpath = dir.join(JOURNAL);
    let (refs, _) = scan_journal(&jpath)?;
    let file = if refs.is_empty() {
        None
    } else {
        Some(std::fs::File::open(&jpath).map_err(io_err(&jpath))?)
    };
    let journal = JournalStream {
        file,
        path: jpath,
        refs: refs.into_iter(),
    };
    Ok(Overlay::new(Box::new(labels), Box::new(journal)))
}

/// An output file being written: a temporary file beside it, renamed into place by
/// [`Staged::persist`] (dropped unpersisted, it is removed).
struct Staged {
    writer: std::io::BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
}

impl Staged {
    fn new(target: PathBuf) -> Result<Self, BatchError> {
        let tmp = crate::audio::temp_file_beside(&target).map_err(io_err(&target))?;
        Ok(Self {
            writer: std::io::BufWriter::with_capacity(1 << 20, tmp),
            target,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), BatchError> {
        self.writer.write_all(bytes).map_err(io_err(&self.target))
    }

    /// Flushes and syncs the file (ready to be renamed).
    fn finish(self) -> Result<(tempfile::NamedTempFile, PathBuf), BatchError> {
        let target = self.target;
        let tmp = self
            .writer
            .into_inner()
            .map_err(|e| io_err(&target)(e.into_error()))?;
        tmp.as_file().sync_all().map_err(io_err(&target))?;
        Ok((tmp, target))
    }
}

/// What the outputs written by a batch or [`merge`] hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Records in `labels.jsonl`.
    pub records: usize,
    /// Of which error records.
    pub failed: usize,
}

/// Writes `labels.jsonl`, `labels.csv`, `spectrograms.jsonl` and the report (`report.html` and
/// `report/`) into `dir` from `entries` (in strictly increasing path order), one entry at a time:
/// memory stays flat at any library size. Each file goes to a temporary file first; only when all
/// are complete are they renamed into place (an error on the way leaves the old outputs as they
/// were). `each` sees every entry as it is written.
pub(crate) fn write_outputs(
    dir: &Path,
    entries: impl Iterator<Item = Result<Entry, BatchError>>,
    mut each: impl FnMut(&Entry),
) -> Result<Written, BatchError> {
    let mut writer = Writer::new(dir)?;
    for entry in entries {
        let e = entry?;
        writer.push(&e)?;
        each(&e);
    }
    writer.finish()
}

/// The outputs [`write_outputs`] is writing into `dir`: the staged data files, the report and its
/// pages, and what has been written so far.
struct Writer<'d> {
    dir: &'d Path,
    jsonl: Staged,
    csv: Staged,
    thumbs: Staged,
    report: BatchReport,
    pages: StagedPages<'d>,
    written: Written,
    /// The last entry's path (each must come after it).
    last: Option<String>,
    /// One JSON line, its allocation reused.
    line: Vec<u8>,
}

impl<'d> Writer<'d> {
    /// Makes `dir`'s pages folder and starts every output (the CSV with its header).
    fn new(dir: &'d Path) -> Result<Self, BatchError> {
        let pages_dir = dir.join(PAGES_DIR);
        std::fs::create_dir_all(&pages_dir).map_err(io_err(&pages_dir))?;
        let jsonl = Staged::new(dir.join(LABELS_JSONL))?;
        let mut csv = Staged::new(dir.join(LABELS_CSV))?;
        let thumbs = Staged::new(dir.join(SPECTROGRAMS_JSONL))?;
        csv.write(format!("{LABELS_CSV_HEADER}\n").as_bytes())?;
        let report = BatchReport::new(&format!("roomtone batch report: {}", dir.display()), dir);
        Ok(Self {
            dir,
            jsonl,
            csv,
            thumbs,
            report,
            pages: StagedPages {
                dir,
                pages: Vec::new(),
                failed_at: None,
            },
            written: Written::default(),
            last: None,
            line: Vec::with_capacity(4096),
        })
    }

    /// Writes entry `e` into every output; an entry not after the last one in path order is an
    /// error.
    fn push(&mut self, e: &Entry) -> Result<(), BatchError> {
        let dir = self.dir;
        let path = e.record.path();
        if self.last.as_deref().is_some_and(|l| l >= path) {
            return Err(BatchError::Parse {
                path: dir.join(LABELS_JSONL),
                line: self.written.records + 1,
                message: unsorted(path),
            });
        }
        self.written.records += 1;
        self.written.failed += usize::from(!e.record.is_ok());
        let line = &mut self.line;
        line.clear();
        serde_json::to_writer(&mut *line, &e.record).map_err(|err| BatchError::Parse {
            path: dir.join(LABELS_JSONL),
            line: self.written.records,
            message: err.to_string(),
        })?;
        line.push(b'\n');
        self.jsonl.write(line)?;
        let row = format!(
            "{},{},{}\n",
            tag_csv_row(&e.record.record),
            e.record.size_bytes,
            e.record.mtime_ns
        );
        self.csv.write(row.as_bytes())?;
        if let Some(png) = &e.spectrogram {
            line.clear();
            serde_json::to_writer(
                &mut *line,
                &SpectrogramLine {
                    path: path.to_string(),
                    png: png.clone(),
                },
            )
            .unwrap_or_default();
            line.push(b'\n');
            self.thumbs.write(line)?;
        }
        let row = ReportRow {
            record: &e.record.record,
            spectrogram_png_base64: e.spectrogram.as_deref(),
        };
        let pages = &mut self.pages;
        self.report
            .push(row, &mut |name: &str, text: &str| pages.write(name, text))
            .map_err(|source| pages.error(source))?;
        self.last = Some(path.to_string());
        Ok(())
    }

    /// Completes the report, then renames every output into place (the data first, `report.html`
    /// last) and removes the pages of an earlier, longer run.
    fn finish(self) -> Result<Written, BatchError> {
        let Self {
            dir,
            jsonl,
            csv,
            thumbs,
            report,
            mut pages,
            written,
            ..
        } = self;
        let names = report
            .finish(|name: &str, text: &str| pages.write(name, text))
            .map_err(|source| pages.error(source))?;
        // All complete: into place, the data first, report.html last.
        for staged in [jsonl, csv, thumbs] {
            let (tmp, target) = staged.finish()?;
            tmp.persist(&target).map_err(|e| io_err(&target)(e.error))?;
        }
        for (tmp, target) in pages.pages {
            tmp.persist(&target).map_err(|e| io_err(&target)(e.error))?;
        }
        remove_old_pages(dir, &names)?;
        Ok(written)
    }
}

/// The report's files, each written whole to a temporary file beside its place in `dir`.
struct StagedPages<'d> {
    dir: &'d Path,
    /// Each written file and where it goes.
    pages: Vec<(tempfile::NamedTempFile, PathBuf)>,
    /// The file a write failed on, for the error.
    failed_at: Option<PathBuf>,
}

impl StagedPages<'_> {
    /// Writes `text` as the report's file `name` (relative to `dir`).
    fn write(&mut self, name: &str, text: &str) -> std::io::Result<()> {
        let path = self.dir.join(name);
        let tmp = crate::audio::temp_file_beside(&path)
            .and_then(|mut t| t.write_all(text.as_bytes()).map(|()| t))
            .inspect_err(|_| self.failed_at = Some(path.clone()))?;
        self.pages.push((tmp, path));
        Ok(())
    }

    /// The report's error `source`, at the file a write failed on (else at `report.html`).
    fn error(&mut self, source: std::io::Error) -> BatchError {
        BatchError::Io {
            path: self
                .failed_at
                .take()
                .unwrap_or_else(|| self.dir.join(REPORT_HTML)),
            source,
        }
    }
}

/// Removes the pages in `dir`'s pages folder that are not among the report's files `names` (those
/// of an earlier, longer run).
fn remove_old_pages(dir: &Path, names: &[String]) -> Result<(), BatchError> {
    let pages_dir = dir.join(PAGES_DIR);
    let keep: std::collections::HashSet<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    for entry in std::fs::read_dir(&pages_dir)
        .map_err(io_err(&pages_dir))?
        .flatten()
    {
        let path = entry.path();
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("page-") && n.ends_with(".html"));
        if ours && !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    Ok(())
}

/// A k-way merge of the folders' streams (each in path order) into one; the same path in two
/// folders is [`BatchError::Duplicate`].
struct KMerge<'d> {
    heads: Vec<Option<Entry>>,
    streams: Vec<Overlay<'static>>,
    dirs: &'d [PathBuf],
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(String, usize)>>,
    started: bool,
    failed: bool,
}

impl KMerge<'_> {
    fn pull(&mut self, k: usize) -> Result<(), BatchError> {
        if let Some(e) = self.streams[k].next().transpose()? {
            self.heap
                .push(std::cmp::Reverse((e.record.path().to_string(), k)));
            self.heads[k] = Some(e);
        }
        Ok(())
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, BatchError> {
        if !self.started {
            self.started = true;
            for k in 0..self.streams.len() {
                self.pull(k)?;
            }
        }
        let Some(std::cmp::Reverse((path, k))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(std::cmp::Reverse((other, j))) = self.heap.peek() {
            if *other == path {
                let (first, second) = (k.min(*j), k.max(*j));
                return Err(BatchError::Duplicate {
                    path,
                    first: self.dirs[first].clone(),
                    second: self.dirs[second].clone(),
                });
            }
        }
        let entry = self.heads[k].take();
        self.pull(k)?;
        Ok(entry)
    }
}

impl Iterator for KMerge<'_> {
    type Item = Result<Entry, BatchError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_entry();
        self.failed = next.is_err();
        next.transpose()
    }
}

/// Combines the output folders of shards into `out`: every record once, sorted by path, with the
/// CSV and report made anew. A folder may hold `labels.jsonl`, or only the journal of a shard that
/// was killed (its complete records are taken), or both. A file recorded in two folders is an
/// error (and nothing is written). `out` is locked as a batch run locks it.
///
/// The folders are read side by side (a k-way merge of their sorted records), so memory does not
/// grow with the library: a million records merge in a few hundred MB.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Written, BatchError> {
    for d in dirs {
        if !d.is_dir() {
            return Err(BatchError::Missing { path: d.clone() });
        }
        if !d.join(LABELS_JSONL).exists() && !d.join(JOURNAL).exists() {
            return Err(BatchError::NoResults { path: d.clone() });
        }
    }
    let streams = dirs
        .iter()
        .map(|d| folder_entries(d))
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let _lock = OutdirLock::acquire(out)?;
    let merged = KMerge {
        heads: vec![None; streams.len()],
        streams,
        dirs,
        heap: std::collections::BinaryHeap::new(),
        started: false,
        failed: false,
    };
    write_outputs(out, merged, |_| {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TagRecord;

    fn entry(path: &str, ok: bool, thumb: Option<&str>) -> Entry {
        let record = if ok {
            let mut t: crate::classify::TagResult = serde_json::from_value(serde_json::json!({
                "path": path, "duration_s": 1.5, "ambience": "rain",
                "labels": [{"label": "rain", "score": 0.9}], "speech": false,
                "segments": [], "speech_segments": [], "audioset_top": []
            }))
            .expect("a tag result");
            t.path = path.into();
            TagRecord::Tagged(t)
        } else {
            TagRecord::Failed {
                path: path.into(),
                error: "x".into(),
            }
        };
        Entry {
            record: BatchRecord {
                record,
                size_bytes: 1,
                mtime_ns: 2,
            },
            spectrogram: thumb.map(str::to_string),
        }
    }

    fn line(path: &str) -> String {
        serde_json::to_string(&entry(path, false, None)).unwrap_or_default() + "\n"
    }

    fn paths(refs: &[JournalRef]) -> Vec<&str> {
        refs.iter().map(|r| r.stamp.path.as_str()).collect()
    }

    /// Writes `entries` as a finished folder (labels, CSV, thumbnails, report).
    fn finished(dir: &Path, entries: &[Entry]) {
        write_outputs(dir, entries.iter().cloned().map(Ok), |_| {}).expect("write");
    }

    fn read_all(dir: &Path) -> Vec<Entry> {
        folder_entries(dir)
            .expect("open")
            .collect::<Result<Vec<_>, _>>()
            .expect("read")
    }

    #[test]
    fn a_folder_reads_back_in_path_order_with_thumbnails_and_the_journal_over_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let before = [
            entry("a", true, Some("AAA")),
            entry("b", false, None),
            entry("c", true, None),
            entry("d", true, Some("DDD")),
        ];
        finished(dir.path(), &before);
        assert_eq!(read_all(dir.path()), before);
        // An error record is never kept as it is; a tagged one with today's fields may be; one
        // written before dialogue regions existed may not.
        let (stamps, journal) = read_stamps(dir.path()).expect("stamps");
        assert!(!journal);
        let keepable: Vec<bool> = stamps.iter().map(|s| s.keepable).collect();
        assert_eq!(keepable, [true, false, true, true]);
        let old = serde_json::to_string(&before[0].record)
            .expect("json")
            .replace(",\"speech_segments\":[]", "");
        let stamp = Stamp::of(serde_json::from_str(&old).expect("fields"), old.as_bytes());
        assert!(!stamp.keepable, "{old}");
        // An interrupted run: b done again (twice; the later counts), e new, a torn last line.
        let mut j = Journal::open(&dir.path().join(JOURNAL), true).expect("journal");
        j.append(&entry("e", true, Some("EEE"))).expect("append");
        j.append(&entry("b", true, Some("B1"))).expect("append");
        j.append(&entry("b", true, Some("B2"))).expect("append");
        drop(j);
        let mut torn = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(JOURNAL))
            .expect("open");
        torn.write_all(b"{\"record\":{\"path\":\"a").expect("torn");
        let want = [
            before[0].clone(),
            entry("b", true, Some("B2")),
            before[2].clone(),
            before[3].clone(),
            entry("e", true, Some("EEE")),
        ];
        assert_eq!(read_all(dir.path()), want);
        let (stamps, journal) = read_stamps(dir.path()).expect("stamps");
        assert!(journal);
        let ps: Vec<&str> = stamps.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(ps, ["a", "b", "c", "d", "e"]);
        // Written again from the stream, it reads back the same; the journal can go.
        let out = tempfile::tempdir().expect("tempdir");
        write_outputs(out.path(), read_all(dir.path()).into_iter().map(Ok), |_| {}).expect("write");
        assert_eq!(read_all(out.path()), want);
        let csv = std::fs::read_to_string(out.path().join(LABELS_CSV)).expect("csv");
        assert_eq!(csv.lines().count(), 1 + want.len());
    }

    #[test]
    fn records_out_of_path_order_are_an_error_naming_the_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        finished(
            dir.path(),
            &[entry("a", false, None), entry("b", false, None)],
        );
        let labels = dir.path().join(LABELS_JSONL);
        let text = std::fs::read_to_string(&labels).expect("read");
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        std::fs::write(&labels, lines.join("\n") + "\n").expect("write");
        let want = format!(
            "{}:2: not a batch record: a: not in path order",
            labels.display()
        );
        let err = read_stamps(dir.path()).expect_err("unsorted");
        assert!(err.to_string().starts_with(&want), "{err}");
        let err = folder_entries(dir.path())
            .expect("open")
            .collect::<Result<Vec<_>, _>>()
            .expect_err("unsorted");
        assert!(err.to_string().starts_with(&want), "{err}");
        // And so is a stream handed to the writer out of order: nothing is written.
        let out = tempfile::tempdir().expect("tempdir");
        let unsorted = [entry("b", false, None), entry("a", false, None)];
        write_outputs(out.path(), unsorted.into_iter().map(Ok), |_| {}).expect_err("unsorted");
        assert!(!out.path().join(LABELS_JSONL).exists());
    }

    #[test]
    fn merge_interleaves_the_folders_and_refuses_a_file_in_two_without_writing() {
        let root = tempfile::tempdir().expect("tempdir");
        let dirs: Vec<PathBuf> = (0..3).map(|k| root.path().join(format!("s{k}"))).collect();
        for (k, d) in dirs.iter().enumerate() {
            std::fs::create_dir_all(d).expect("mkdir");
            // Shard k holds every third file; the last shard only as a journal (it was killed).
            let mine: Vec<Entry> = (0..10)
                .filter(|i| i % 3 == k)
                .map(|i| entry(&format!("f{i:02}"), i % 4 != 0, Some("T")))
                .collect();
            if k == 2 {
                let mut j = Journal::open(&d.join(JOURNAL), false).expect("journal");
                for e in mine.iter().rev() {
                    j.append(e).expect("append");
                }
            } else {
                finished(d, &mine);
            }
        }
        let out = root.path().join("all");
        let written = merge(&dirs, &out).expect("merge");
        assert_eq!(
            written,
            Written {
                records: 10,
                failed: 3
            }
        );
        let got: Vec<String> = read_all(&out)
            .iter()
            .map(|e| e.record.path().to_string())
            .collect();
        let want: Vec<String> = (0..10).map(|i| format!("f{i:02}")).collect();
        assert_eq!(got, want);
        // The same file in two shards: an error naming both, and no output at all.
        let mut j = Journal::open(&dirs[0].join(JOURNAL), false).expect("journal");
        j.append(&entry("f05", true, None)).expect("append");
        drop(j);
        let again = root.path().join("again");
        let err = merge(&dirs, &again).expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            format!(
                "f05 is in both {} and {}",
                dirs[0].display(),
                dirs[2].display()
            )
        );
        assert!(!again.join(LABELS_JSONL).exists());
    }

    #[test]
    fn a_torn_last_journal_line_is_dropped_and_cut_off_before_appending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(JOURNAL);
        let (a, b) = (line("a"), line("b"));
        let whole = a.len() as u64;
        // No newline (even if it parses), or not JSON: both are a write cut short.
        for tail in [
            &b[..b.len() - 1],
            "{\"record\":{\"pa",
            "{\"record\":{\"pa\n",
            "\0\0\0",
        ] {
            std::fs::write(&path, format!("{a}{tail}")).expect("write");
            let (entries, len) = scan_journal(&path).expect("read");
            assert_eq!(paths(&entries), ["a"], "{tail:?}");
            assert_eq!(len, whole, "{tail:?}");
            let mut j = Journal::open(&path, true).expect("open");
            j.append(&serde_json::from_str(&line("c")).expect("entry"))
                .expect("append");
            drop(j);
            let (entries, _) = scan_journal(&path).expect("read again");
            assert_eq!(paths(&entries), ["a", "c"], "{tail:?}");
        }
        // A whole journal is kept as it is.
        std::fs::write(&path, format!("{a}\n{b}")).expect("write");
        let (entries, len) = scan_journal(&path).expect("read");
        assert_eq!(paths(&entries), ["a", "b"]);
        assert_eq!(len, (a.len() + 1 + b.len()) as u64);
        // A damaged line before the last is an error naming the file and line.
        std::fs::write(&path, format!("{a}garbage\n{b}")).expect("write");
        let err = scan_journal(&path).expect_err("damaged");
        assert!(
            err.to_string()
                .contains(&format!("{}:2: not a batch record", path.display())),
            "{err}"
        );
    }
}
