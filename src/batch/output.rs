//! The files of an output folder: reading them back (resume, merge) and writing them atomically.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BatchError, BatchRecord};
use crate::report::html::{write_batch_report, ReportRow, PAGES_DIR};
use crate::report::{tag_csv_row, write_text_atomic};

/// One record per line, sorted by path.
pub const LABELS_JSONL: &str = "labels.jsonl";
/// The same records as CSV.
pub const LABELS_CSV: &str = "labels.csv";
/// `{"path": ..., "png": base64}` per tagged file: the report's thumbnails, kept for `merge`.
pub const SPECTROGRAMS_JSONL: &str = "spectrograms.jsonl";
/// The HTML report.
pub const REPORT_HTML: &str = "report.html";
/// Records appended as files finish (removed when the final files are written).
pub const JOURNAL: &str = "labels.partial.jsonl";
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
    /// Read from a labels.jsonl written before its record had every field of today's (tagged
    /// before `speech_segments` existed): `--resume` tags the file again instead of keeping it.
    #[serde(skip)]
    pub(crate) outdated: bool,
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
    pub fn acquire(dir: &Path) -> Result<Self, BatchError> {
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
            let (_, complete) = read_journal(path)?;
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

/// Reads a journal: the entries of its complete records and the length in bytes they take.
///
/// A record is complete when its line ends with a newline and parses. The last line may be torn
/// (the process was killed while writing it: no newline, or not valid JSON): it is left out, and
/// its file is done again. A damaged line before the last is an error. A missing journal is empty.
fn read_journal(path: &Path) -> Result<(Vec<Entry>, u64), BatchError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut entries = Vec::new();
    let mut complete = 0;
    let mut start = 0;
    let mut number = 0;
    // Only lines that end with a newline: a tail without one is torn.
    while let Some(len) = bytes[start..].iter().position(|&b| b == b'\n') {
        number += 1;
        let line = &bytes[start..start + len];
        let end = start + len + 1;
        if !line.trim_ascii().is_empty() {
            match serde_json::from_slice::<Entry>(line) {
                Ok(e) => entries.push(e),
                Err(_) if end == bytes.len() => break,
                Err(e) => {
                    return Err(BatchError::Parse {
                        path: path.to_path_buf(),
                        line: number,
                        message: e.to_string(),
                    })
                }
            }
        }
        complete = end;
        start = end;
    }
    Ok((entries, complete as u64))
}

fn read_lines(path: &Path) -> Result<Option<Vec<String>>, BatchError> {
    match std::fs::File::open(path) {
        Ok(f) => std::io::BufReader::new(f)
            .lines()
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(io_err(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Reads an output folder back: `labels.jsonl` with `spectrograms.jsonl`, then the journal of an
/// interrupted run (its entries replace earlier ones for the same path; a torn last line is
/// ignored: only complete lines are read). A missing folder or file reads as empty.
pub(crate) fn load_outdir(dir: &Path) -> Result<Vec<Entry>, BatchError> {
    let mut thumbs: HashMap<String, String> = HashMap::new();
    let spath = dir.join(SPECTROGRAMS_JSONL);
    for (n, line) in read_lines(&spath)?.unwrap_or_default().iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let s: SpectrogramLine = serde_json::from_str(line).map_err(|e| BatchError::Parse {
            path: spath.clone(),
            line: n + 1,
            message: e.to_string(),
        })?;
        thumbs.insert(s.path, s.png);
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut put = |e: Entry, entries: &mut Vec<Entry>| match index.get(e.record.path()) {
        Some(&k) => entries[k] = e,
        None => {
            index.insert(e.record.path().to_string(), entries.len());
            entries.push(e);
        }
    };
    let lpath = dir.join(LABELS_JSONL);
    for (n, line) in read_lines(&lpath)?.unwrap_or_default().iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: BatchRecord = serde_json::from_str(line).map_err(|e| BatchError::Parse {
            path: lpath.clone(),
            line: n + 1,
            message: e.to_string(),
        })?;
        let spectrogram = thumbs.remove(record.path());
        let outdated = record.is_ok() && !line.contains("\"speech_segments\":");
        put(
            Entry {
                record,
                spectrogram,
                outdated,
            },
            &mut entries,
        );
    }
    for e in read_journal(&dir.join(JOURNAL))?.0 {
        put(e, &mut entries);
    }
    Ok(entries)
}

/// Sorts `entries` by path and writes `labels.jsonl`, `labels.csv`, `spectrograms.jsonl` and
/// `report.html` into `dir`, each through a temporary file renamed into place.
pub(crate) fn write_outputs(dir: &Path, entries: &mut [Entry]) -> Result<(), BatchError> {
    entries.sort_by(|a, b| a.record.path().cmp(b.record.path()));
    let mut jsonl = String::new();
    let mut csv = String::from(LABELS_CSV_HEADER);
    csv.push('\n');
    let mut thumbs = String::new();
    for e in entries.iter() {
        let line = serde_json::to_string(&e.record).map_err(|err| BatchError::Parse {
            path: dir.join(LABELS_JSONL),
            line: 0,
            message: err.to_string(),
        })?;
        jsonl.push_str(&line);
        jsonl.push('\n');
        csv.push_str(&tag_csv_row(&e.record.record));
        csv.push_str(&format!(",{},{}\n", e.record.size_bytes, e.record.mtime_ns));
        if let Some(png) = &e.spectrogram {
            let line = serde_json::to_string(&SpectrogramLine {
                path: e.record.path().to_string(),
                png: png.clone(),
            })
            .unwrap_or_default();
            thumbs.push_str(&line);
            thumbs.push('\n');
        }
    }
    let rows: Vec<ReportRow<'_>> = entries
        .iter()
        .map(|e| ReportRow {
            record: &e.record.record,
            size_bytes: e.record.size_bytes,
            spectrogram_png_base64: e.spectrogram.as_deref(),
        })
        .collect();
    for (name, text) in [
        (LABELS_JSONL, &jsonl),
        (LABELS_CSV, &csv),
        (SPECTROGRAMS_JSONL, &thumbs),
    ] {
        let path = dir.join(name);
        write_text_atomic(&path, text, true).map_err(io_err(&path))?;
    }
    let title = format!("roomtone batch report: {}", dir.display());
    let pages = dir.join(PAGES_DIR);
    std::fs::create_dir_all(&pages).map_err(io_err(&pages))?;
    let mut failed_at = None;
    let written = write_batch_report(&title, dir, &rows, |name, text| {
        let path = dir.join(name);
        write_text_atomic(&path, text, true).inspect_err(|_| failed_at = Some(path))
    });
    let written = written.map_err(|source| BatchError::Io {
        path: failed_at.unwrap_or_else(|| dir.join(REPORT_HTML)),
        source,
    })?;
    // Pages of an earlier, longer run are not left behind.
    let keep: std::collections::HashSet<PathBuf> = written.iter().map(|n| dir.join(n)).collect();
    for entry in std::fs::read_dir(&pages).map_err(io_err(&pages))?.flatten() {
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

/// Combines the output folders of shards into `out`: every record once, sorted by path, with the
/// CSV and report made anew. A folder may hold `labels.jsonl`, or only the journal of a shard that
/// was killed (its complete records are taken), or both. A file recorded in two folders is an
/// error. `out` is locked as a batch run locks it. Returns the entries.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Vec<Entry>, BatchError> {
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut all = Vec::new();
    for d in dirs {
        if !d.is_dir() {
            return Err(BatchError::Missing { path: d.clone() });
        }
        if !d.join(LABELS_JSONL).exists() && !d.join(JOURNAL).exists() {
            return Err(BatchError::NoResults { path: d.clone() });
        }
        for e in load_outdir(d)? {
            let key = e.record.path().to_string();
            if let Some(first) = seen.get(&key) {
                return Err(BatchError::Duplicate {
                    path: key,
                    first: first.clone(),
                    second: d.clone(),
                });
            }
            seen.insert(key, d.clone());
            all.push(e);
        }
    }
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let _lock = OutdirLock::acquire(out)?;
    write_outputs(out, &mut all)?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TagRecord;

    fn line(path: &str) -> String {
        let e = Entry {
            record: BatchRecord {
                record: TagRecord::Failed {
                    path: path.into(),
                    error: "x".into(),
                },
                size_bytes: 1,
                mtime_ns: 2,
            },
            spectrogram: None,
            outdated: false,
        };
        serde_json::to_string(&e).unwrap_or_default() + "\n"
    }

    fn paths(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.record.path()).collect()
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
            let (entries, len) = read_journal(&path).expect("read");
            assert_eq!(paths(&entries), ["a"], "{tail:?}");
            assert_eq!(len, whole, "{tail:?}");
            let mut j = Journal::open(&path, true).expect("open");
            j.append(&serde_json::from_str(&line("c")).expect("entry"))
                .expect("append");
            drop(j);
            let (entries, _) = read_journal(&path).expect("read again");
            assert_eq!(paths(&entries), ["a", "c"], "{tail:?}");
        }
        // A whole journal is kept as it is.
        std::fs::write(&path, format!("{a}\n{b}")).expect("write");
        let (entries, len) = read_journal(&path).expect("read");
        assert_eq!(paths(&entries), ["a", "b"]);
        assert_eq!(len, (a.len() + 1 + b.len()) as u64);
        // A damaged line before the last is an error naming the file and line.
        std::fs::write(&path, format!("{a}garbage\n{b}")).expect("write");
        let err = read_journal(&path).expect_err("damaged");
        assert!(
            err.to_string()
                .contains(&format!("{}:2: not a batch record", path.display())),
            "{err}"
        );
    }
}
