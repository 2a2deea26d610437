//! What a header declares is checked before anything is built from it, damaged samples never get
//! past the decoder, and the RIFF/AIFF framing symphonia gets wrong is corrected (issue 11, 2, 3, 9).
//! Files are written byte by byte here, so each test says exactly what the header holds.

mod common;

use std::path::Path;

use roomtone::audio::{read_all, AudioBlock, AudioError, AudioReader, StreamResampler};

/// A PCM or float WAV: `fmt` 1 (16-bit PCM) or 3 (32-bit float), with the size fields given.
fn wav_bytes(
    rate: u32,
    channels: u16,
    float: bool,
    samples: &[f32],
    sizes: Option<(u32, u32)>,
) -> Vec<u8> {
    let bits: u16 = if float { 32 } else { 16 };
    let align = channels * bits / 8;
    let mut data = Vec::new();
    for &s in samples {
        if float {
            data.extend_from_slice(&s.to_le_bytes());
        } else {
            data.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes());
        }
    }
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&(if float { 3u16 } else { 1 }).to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&rate.wrapping_mul(u32::from(align)).to_le_bytes());
    fmt.extend_from_slice(&align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    let (riff_size, data_size) = sizes.unwrap_or((36 + data.len() as u32, data.len() as u32));
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_size.to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// A 16-bit AIFF, as sox and Logic write it (SSND is the last chunk).
fn aiff_bytes(rate: u32, channels: i16, samples: &[f32], extra_chunk: bool) -> Vec<u8> {
    let frames = samples.len() as u32 / channels as u32;
    let mut comm = Vec::new();
    comm.extend_from_slice(&channels.to_be_bytes());
    comm.extend_from_slice(&frames.to_be_bytes());
    comm.extend_from_slice(&16i16.to_be_bytes());
    // 80-bit extended sample rate: exponent 16383 + e, mantissa with the explicit integer bit.
    let e = 31 - rate.leading_zeros();
    comm.extend_from_slice(&((16383 + e) as u16).to_be_bytes());
    comm.extend_from_slice(&((u64::from(rate)) << (63 - e)).to_be_bytes());
    let mut ssnd = vec![0u8; 8];
    for &s in samples {
        ssnd.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_be_bytes());
    }
    let mut body = b"AIFF".to_vec();
    for (id, chunk) in [(b"COMM", &comm), (b"SSND", &ssnd)] {
        body.extend_from_slice(id);
        body.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        body.extend_from_slice(chunk);
    }
    if extra_chunk {
        body.extend_from_slice(b"ANNO");
        body.extend_from_slice(&8u32.to_be_bytes());
        body.extend_from_slice(b"roomtone");
    }
    let mut out = b"FORM".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

fn invalid_reason(path: &Path) -> String {
    match AudioReader::open(path) {
        Err(e @ AudioError::InvalidStream { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            text
        }
        Err(e) => panic!(
            "{}: expected an invalid-stream error, got {e}",
            path.display()
        ),
        Ok(_) => panic!("{}: opened", path.display()),
    }
}

#[test]
fn sample_rates_and_channel_counts_out_of_bounds_are_refused_before_anything_is_built() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = common::sine(440.0, 48_000, 4_000, 0.3);
    // 0 Hz panicked inside symphonia; 4,294,967,295 Hz asked the resampler for 6.9 GB.
    for (rate, needle) in [
        (0u32, "0 Hz"),
        (u32::MAX, "4294967295 Hz"),
        (768_001, "768001 Hz"),
    ] {
        let p = write(
            dir.path(),
            &format!("r{rate}.wav"),
            &wav_bytes(rate, 1, false, &x, None),
        );
        let reason = invalid_reason(&p);
        assert!(
            reason.contains(needle) && reason.contains("768 kHz"),
            "{reason}"
        );
    }
    for channels in [0u16, 65, 200] {
        let p = write(
            dir.path(),
            &format!("c{channels}.wav"),
            &wav_bytes(48_000, channels, false, &x, None),
        );
        assert!(
            invalid_reason(&p).contains(&format!("{channels} channels")),
            "{channels}"
        );
    }
    // The bounds themselves are accepted.
    for (rate, channels) in [(1u32, 1u16), (768_000, 2)] {
        let p = write(
            dir.path(),
            "ok.wav",
            &wav_bytes(rate, channels, false, &x, None),
        );
        let b = read_all(&p).unwrap_or_else(|e| panic!("{rate} Hz {channels} ch: {e}"));
        assert_eq!(b.frames(), x.len() / usize::from(channels));
    }
}

#[test]
fn a_header_claiming_hours_is_truncated_not_a_memory_bomb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = common::sine(440.0, 48_000, 1_000, 0.3);
    // Data size 2 GB (not the streaming marker): a truncated file, found at its real end.
    let p = write(
        dir.path(),
        "liar.wav",
        &wav_bytes(48_000, 2, false, &x, Some((0x7FFF_FFF0 + 36, 0x7FFF_FFF0))),
    );
    match read_all(&p) {
        Err(AudioError::Truncated { found_s, .. }) => assert!(found_s < 0.02, "{found_s}"),
        other => panic!("expected truncated, got {other:?}"),
    }
}

#[test]
fn non_finite_and_absurd_samples_become_silence_and_are_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut x = common::sine(440.0, 44_100, 96_000, 0.1);
    x[5_000] = f32::NAN;
    x[5_001] = f32::INFINITY;
    x[60_000] = f32::NEG_INFINITY;
    x[70_000] = 1e30;
    x[80_000] = 999.0; // +60 dBFS is still a sample
    let p = write(dir.path(), "nan.wav", &wav_bytes(44_100, 1, true, &x, None));
    let mut reader = AudioReader::open(&p).expect("open");
    let mut block = AudioBlock::default();
    let mut all = Vec::new();
    // The resampler panicked on one NaN ("Imaginary part of first value was non-zero").
    let mut rs = StreamResampler::new(44_100, 16_000, 1).expect("resampler");
    let mut out = AudioBlock::default();
    let mut resampled = 0;
    while reader.next_block(&mut block).expect("decode") {
        all.extend_from_slice(&block.channels[0]);
        rs.process(&block.channels, &mut out).expect("resample");
        assert!(out.channels[0].iter().all(|s| s.is_finite()));
        resampled += out.frames();
    }
    rs.finish(&mut out).expect("finish");
    resampled += out.frames();
    assert_eq!(resampled as u64, rs.output_len(x.len() as u64));
    assert_eq!(all.len(), x.len());
    assert!(all.iter().all(|s| s.is_finite()));
    for i in [5_000, 5_001, 60_000, 70_000] {
        assert_eq!(all[i], 0.0, "sample {i}");
    }
    assert_eq!(all[80_000], 999.0);
    assert_eq!(all[4_999], x[4_999]);
    let d = reader.damaged_samples().expect("counted");
    assert_eq!((d.count, d.first_frame, d.first_channel), (4, 5_000, 0));
    assert!(
        d.describe(44_100).contains("4 damaged samples"),
        "{}",
        d.describe(44_100)
    );
    assert!(
        d.describe(44_100).contains("0.113 s"),
        "{}",
        d.describe(44_100)
    );
    // `info` reports them and a peak from the real samples (it said "silent" for one NaN).
    let info = roomtone::audio::inspect(&p).expect("inspect");
    assert_eq!(info.damaged_samples.map(|d| d.count), Some(4));
    assert!(
        info.peak_dbfs.is_some_and(|p| (p - 59.99).abs() < 0.01),
        "{:?}",
        info.peak_dbfs
    );
}

#[test]
fn the_first_packet_and_the_second_channel_are_checked_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut x = vec![0.25f32; 2 * 3_000];
    x[0] = f32::NAN; // frame 0, channel 1
    x[2 * 2_000 + 1] = f32::NAN; // frame 2000, channel 2
    let p = write(dir.path(), "st.wav", &wav_bytes(48_000, 2, true, &x, None));
    let (b, d) = roomtone::audio::read_all_checked(&p).expect("read");
    let d = d.expect("damaged");
    assert_eq!((d.count, d.first_frame, d.first_channel), (2, 0, 0));
    assert_eq!(b.channels[0][0], 0.0);
    assert_eq!(b.channels[1][2_000], 0.0);
    assert_eq!(b.channels[1][1_999], 0.25);
}

#[test]
fn aiff_decodes_every_frame_bit_exact() {
    // symphonia counted the SSND prefix as audio: "truncated: declares 3.000 s … ends at 3.000 s".
    let dir = tempfile::tempdir().expect("tempdir");
    for (rate, channels, frames, extra) in [
        (48_000u32, 2i16, 144_000usize, false),
        (44_100, 1, 1_000, false),
        (44_100, 1, 1_151, false),
        (44_100, 1, 1_153, true),
        (8_000, 6, 2_304, true),
        (96_000, 2, 1, false),
    ] {
        let x: Vec<f32> = (0..frames * channels as usize)
            .map(|i| ((i * 7919 % 2001) as f32 / 1000.0 - 1.0) * 0.5)
            .collect();
        let p = write(dir.path(), "t.aiff", &aiff_bytes(rate, channels, &x, extra));
        let b = read_all(&p).unwrap_or_else(|e| panic!("{rate} Hz {channels} ch {frames}: {e}"));
        assert_eq!(b.sample_rate, rate);
        assert_eq!(b.frames(), frames, "{rate} Hz {channels} ch {frames}");
        for (i, &s) in x.iter().enumerate() {
            let q = (s * 32767.0).round() / 32768.0;
            let got = b.channels[i % channels as usize][i / channels as usize];
            assert!((got - q).abs() < 1e-6, "frame {i}: {got} vs {q}");
        }
    }
}

#[test]
fn streamed_wavs_are_read_to_their_end() {
    // `ffmpeg … -f wav -` leaves 0xFFFFFFFF in both size fields; such files were called truncated
    // at 22369.621 s, and the last partial packet was lost.
    let dir = tempfile::tempdir().expect("tempdir");
    for frames in [1usize, 1_151, 1_152, 1_153, 48_000, 48_001] {
        let x: Vec<f32> = (0..frames * 2).map(|i| (i % 100) as f32 / 200.0).collect();
        let sizes = (u32::MAX, u32::MAX);
        let p = write(
            dir.path(),
            "p.wav",
            &wav_bytes(48_000, 2, false, &x, Some(sizes)),
        );
        let b = read_all(&p).unwrap_or_else(|e| panic!("{frames}: {e}"));
        assert_eq!(b.frames(), frames);
        assert_eq!(
            b.channels[1][frames - 1],
            (x[2 * frames - 1] * 32767.0).round() / 32768.0
        );
    }
}

#[test]
fn a_stream_after_an_id3_tag_is_read_and_junk_before_a_marker_is_not_probed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flac = std::fs::read(common::data("media").join("flac_44100_1ch.flac")).expect("fixture");
    let plain = read_all(&common::data("media").join("flac_44100_1ch.flac")).expect("fixture");
    // ID3v2.4 tag, 20 bytes of body (syncsafe size), then the FLAC stream.
    let mut tagged = b"ID3\x04\x00\x00\x00\x00\x00\x14".to_vec();
    tagged.extend_from_slice(&[0u8; 20]);
    tagged.extend_from_slice(&flac);
    let p = write(dir.path(), "tagged.flac", &tagged);
    let b = read_all(&p).expect("FLAC after an ID3 tag");
    assert_eq!(b, plain);
    // Two bytes of junk, then a FLAC stream: symphonia's probe would search on and parse it with
    // no header check; roomtone decides the reader from the first bytes and refuses it.
    let mut junk = vec![0x10, 0x00];
    junk.extend_from_slice(&flac);
    let p = write(dir.path(), "junk.flac", &junk);
    let e = read_all(&p).expect_err("junk first");
    assert!(e.to_string().contains("first bytes"), "{e}");
}
