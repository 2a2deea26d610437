//! How results are shown: one human line or one JSON object per file.

use serde::Serialize;

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
    format!(
        "{}: {}/{}, {} Hz, {} ch{bits}, {}, {peak}{skipped}",
        info.path,
        info.container,
        info.codec,
        info.sample_rate,
        info.channels,
        format_duration(info.duration_s),
    )
}

/// `h:mm:ss.mmm` (or `m:ss.mmm` under an hour).
pub fn format_duration(seconds: f64) -> String {
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
}
