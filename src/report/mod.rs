//! How results are shown: one human line or one JSON object per file.

use serde::Serialize;

pub mod html;
pub mod markers;

use crate::audio::FileInfo;

/// A failed file as a JSON record: `{"path": "...", "error": "..."}`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRecord<'a> {
    /// The file as given.
    pub path: &'a str,
    /// One-line reason.
    pub error: String,
}

/// `roomtone info`'s human line: path, container/codec, rate, channels, bits, duration, peak.
pub fn info_line(info: &FileInfo) -> String {
    let bits = info
        .bits_per_sample
        .map(|b| format!(", {b}-bit"))
        .unwrap_or_default();
    let peak = info
        .peak_dbfs
        .map_or_else(|| "silent".to_string(), |p| format!("peak {p:.1} dBFS"));
    let skipped = if info.skipped_packets > 0 {
        format!(", {} damaged packets skipped", info.skipped_packets)
    } else {
        String::new()
    };
    let damaged = info
        .damaged_samples
        .map(|d| format!(", {}", d.describe(info.sample_rate)))
        .unwrap_or_default();
    let via = match info.decoder {
        crate::audio::DecodedBy::Ffmpeg => " (read by ffmpeg)",
        crate::audio::DecodedBy::Symphonia => "",
    };
    format!(
        "{}: {}/{}{via}, {} Hz, {} ch{bits}, {}, {peak}{skipped}{damaged}",
        info.path,
        info.container,
        info.codec,
        info.sample_rate,
        info.channels,
        format_duration(info.duration_s),
    )
}

/// `h:mm:ss.mmm` (or `m:ss.mmm` under an hour).
pub(crate) fn format_duration(seconds: f64) -> String {
    let ms_total = (seconds * 1000.0).round() as u64;
    let (h, rem) = (ms_total / 3_600_000, ms_total % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, ms) = (rem / 1000, rem % 1000);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{ms:03}")
    } else {
        format!("{m}:{s:02}.{ms:03}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_timecode() {
        assert_eq!(format_duration(0.0), "0:00.000");
        assert_eq!(format_duration(61.5), "1:01.500");
        assert_eq!(format_duration(3.0 * 3600.0 + 2.25), "3:00:02.250");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_defused_and_quoted() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http:x\",\"y\").wav"),
            "\"'=HYPERLINK(\"\"http:x\"\",\"\"y\"\").wav\""
        );
        for lead in ["=", "+", "-", "@", "\t", "\r"] {
            let cell = format!("{lead}1+1");
            assert_eq!(csv_field(&cell), format!("\"'{cell}\""), "{lead:?}");
        }
        // Plain cells are unchanged; a comma or quote is quoted as before.
        assert_eq!(csv_field("take 1.wav"), "take 1.wav");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        // Every text cell of a row goes through it: path and error alike.
        let row = tag_csv_row(&TagRecord::Failed {
            path: "@SUM(A1).wav".into(),
            error: "-cannot read".into(),
        });
        assert_eq!(row, "\"'@SUM(A1).wav\",,,,,,,,\"'-cannot read\"");
    }
}

use crate::classify::TagResult;

/// One line of `roomtone tag` output: a result, or the error for that file.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum TagRecord {
    /// The file was tagged.
    Tagged(TagResult),
    /// It could not be read.
    Failed {
        /// The file as given.
        path: String,
        /// One-line reason.
        error: String,
    },
}

/// Header of `roomtone tag --format csv`.
pub const TAG_CSV_HEADER: &str =
    "path,duration_s,ambience,labels,speech,segments,speech_segments,audioset_top,error";

/// One CSV row: lists are joined with `;`, each item `name:score` (segments `start-end:label`,
/// speech segments `start-end:score`).
pub fn tag_csv_row(record: &TagRecord) -> String {
    match record {
        TagRecord::Tagged(t) => {
            let labels: Vec<String> = t
                .labels
                .iter()
                .map(|l| format!("{}:{:.3}", l.label, l.score))
                .collect();
            let segments: Vec<String> = t
                .segments
                .iter()
                .map(|s| format!("{:.2}-{:.2}:{}", s.start_s, s.end_s, s.label))
                .collect();
            let speech_segments: Vec<String> = t
                .speech_segments
                .iter()
                .map(|s| format!("{:.2}-{:.2}:{:.3}", s.start_s, s.end_s, s.score))
                .collect();
            let top: Vec<String> = t
                .audioset_top
                .iter()
                .map(|c| format!("{}:{:.3}", c.class, c.score))
                .collect();
            [
                csv_field(&t.path),
                format!("{:.3}", t.duration_s),
                csv_field(&t.ambience),
                csv_field(&labels.join(";")),
                t.speech.to_string(),
                csv_field(&segments.join(";")),
                csv_field(&speech_segments.join(";")),
                csv_field(&top.join(";")),
                String::new(),
            ]
            .join(",")
        }
        TagRecord::Failed { path, error } => {
            format!("{},,,,,,,,{}", csv_field(path), csv_field(error))
        }
    }
}

/// How `roomtone tag` writes its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagFormat {
    /// One JSON array, a record per line.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header ([`TAG_CSV_HEADER`], rows as [`tag_csv_row`]).
    Csv,
}

/// Writes tag records in a [`TagFormat`] one line at a time, handing each line to `emit` as soon
/// as it is complete (the JSON array's comma needs the next record, so its lines lag one behind).
///
/// ```
/// use roomtone::report::{TagFormat, TagRecord, TagWriter};
///
/// let mut lines = Vec::new();
/// let mut writer = TagWriter::new(TagFormat::Json, |line| lines.push(line));
/// for path in ["a.wav", "b.wav"] {
///     let error = "cannot read".to_string();
///     writer.record(&TagRecord::Failed { path: path.into(), error });
/// }
/// writer.finish();
/// assert_eq!(lines.len(), 4);
/// assert_eq!(lines[1], r#"  {"path":"a.wav","error":"cannot read"},"#);
/// assert_eq!(lines[3], "]");
/// ```
pub struct TagWriter<F: FnMut(String)> {
    format: TagFormat,
    emit: F,
    held: Option<String>,
}

impl<F: FnMut(String)> TagWriter<F> {
    /// Starts the output: `[` for JSON, the header for CSV.
    pub fn new(format: TagFormat, mut emit: F) -> Self {
        match format {
            TagFormat::Json => emit("[".to_string()),
            TagFormat::Csv => emit(TAG_CSV_HEADER.to_string()),
            TagFormat::Jsonl => {}
        }
        Self {
            format,
            emit,
            held: None,
        }
    }

    /// One record.
    pub fn record(&mut self, record: &TagRecord) {
        match self.format {
            TagFormat::Csv => (self.emit)(tag_csv_row(record)),
            TagFormat::Jsonl => (self.emit)(json_line(record)),
            TagFormat::Json => {
                if let Some(before) = self.held.replace(format!("  {}", json_line(record))) {
                    (self.emit)(format!("{before},"));
                }
            }
        }
    }

    /// Ends the output: the last record and `]` for JSON.
    pub fn finish(mut self) {
        if self.format == TagFormat::Json {
            if let Some(last) = self.held.take() {
                (self.emit)(last);
            }
            (self.emit)("]".to_string());
        }
    }
}

/// `value` as one line of JSON (an error object if it cannot be serialised, which our records
/// always can).
pub fn json_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise: {e}\"}}"))
}

/// A text cell of a CSV file: quoted when it holds a comma, quote or line break (RFC 4180), and
/// defused when a spreadsheet would run it as a formula.
///
/// A cell starting with `=`, `+`, `-`, `@`, tab or carriage return (a file named
/// `=HYPERLINK(...).wav`, say) gets a leading `'` and is quoted, as OWASP's "CSV injection" advice
/// says: spreadsheets then show it as text. Only text cells (paths, labels, messages) go through
/// here; numbers are written as they are.
pub(crate) fn csv_field(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("\"'{}\"", s.replace('"', "\"\""))
    } else if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `text` to `path` through a temporary file in the same folder
/// (short name, mode 0644 less the umask), renamed into place;
/// an existing file is replaced only with `force`.
pub fn write_text_atomic(path: &std::path::Path, text: &str, force: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = crate::audio::temp_file_beside(path)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    let result = if force {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    result.map(|_| ()).map_err(|e| e.error)
}

/// One-paragraph human summary of a remix (printed on stderr without `--json`).
pub fn remix_summary(output: &std::path::Path, r: &crate::mix::RemixReport) -> String {
    let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.1}"));
    let mut s = format!(
        "{}: loudness {} -> {} LUFS, LRA {} -> {} LU, true peak {} -> {} dBTP; speech {:+.1} dB, background {:+.1} dB",
        output.display(),
        f(r.before.integrated_lufs),
        f(r.after.integrated_lufs),
        f(r.before.lra_lu),
        f(r.after.lra_lu),
        f(r.before.true_peak_dbtp),
        f(r.after.true_peak_dbtp),
        r.speech_gain_db,
        r.background_gain_db
    );
    if let Some(d) = &r.ducking {
        s.push_str(&format!(", ducked {:.1} dB under speech", d.depth_db));
    }
    if let Some(l) = &r.limiter {
        s.push_str(&format!(", limiter max {:.1} dB", l.max_reduction_db));
    }
    for (name, c) in [
        ("speech", &r.cleanup_speech),
        ("background", &r.cleanup_background),
    ] {
        if let Some(h) = c.hum.as_ref().filter(|h| h.found) {
            let freqs: Vec<String> = h
                .lines
                .iter()
                .map(|l| format!("{:.1}", l.freq_hz))
                .collect();
            s.push_str(&format!(
                "; hum in {name} notched at {} Hz",
                freqs.join(", ")
            ));
        }
    }
    s
}
