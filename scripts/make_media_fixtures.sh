#!/usr/bin/env bash
# Regenerates the committed decoder fixtures in tests/data/media/ (plus tests/data/media/broken/) and
# their manifest tests/data/media/cases.json. CI never runs this: the outputs are committed.
#
# Every case encodes the same analytic signal, which the Rust tests regenerate exactly:
#   x[c][n] = amp * sin(2.0 * PI * f_c * n / sample_rate),  f_c = base_hz * (c + 1),  c = 0-based channel,
#   amp = 0.5, base_hz = 440, n = 0 .. frames-1, frames = round(duration_s * sample_rate)
# duration_s is 0.5 for every coded case and 0.1 for the uncompressed PCM ones (the WAV extras and the
# PCM .mov), to keep the folder small; cases.json gives `frames` for each file.
# (evaluated in f64 in exactly that order: ((2*pi)*f_c)*n / sample_rate). The PCM handed to the encoder
# is that value quantised with round-half-away-from-zero (Rust's f64::round) to the stated bit depth:
#   s16: round(x * 32768), s24: round(x * 8388608), u8: round(x * 128) + 128, f64: x unchanged.
# A decoder that maps integers to floats by dividing by 2^(bits-1) (symphonia and ffmpeg do) gives back
# q / 2^(bits-1) exactly. Lossy cases are encoded from the s16 source (bits = 16 in cases.json).
#
# Needs: bash, python3 (stdlib for generation; numpy for the ffmpeg check that fills `ffmpeg_check`
# in cases.json: point PYTHON at an interpreter that has it), ffmpeg (with libmp3lame, libvorbis,
# libvpx), flac, oggenc (Debian: apt-get install -y ffmpeg flac vorbis-tools).
# Usage: PYTHON=/path/to/python-with-numpy scripts/make_media_fixtures.sh
# Output is deterministic for a given set of tool versions (fixed Ogg serials, ffmpeg -bitexact,
# single-threaded encoders); a different ffmpeg/libvorbis/lame may produce different lossy bytes.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=tests/data/media
PY=${PYTHON:-python3}

need() { command -v "$1" >/dev/null 2>&1 || { echo "make_media_fixtures.sh: $1 missing; apt-get install -y $2" >&2; exit 1; }; }
need ffmpeg ffmpeg
need flac flac
need oggenc vorbis-tools
need "$PY" python3
"$PY" -c 'import numpy' 2>/dev/null || {
    echo "make_media_fixtures.sh: $PY has no numpy (needed for the decode check); run with PYTHON=<python with numpy>" >&2
    exit 1
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

AMP=0.5
BASE_HZ=440
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
# Muxer/encoder flags that keep library version strings, random UIDs and dates out of the files.
FFBX=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact -flags:v +bitexact -threads 1)
FFVER=$(ffmpeg -version | head -1 | awk '{print $3}')
LAMEVER=$(dpkg-query -W -f='${Version}' libmp3lame0 2>/dev/null || echo unknown)
VORBISVER=$(dpkg-query -W -f='${Version}' libvorbisenc2 2>/dev/null || echo unknown)
FLACVER=$(flac --version | awk '{print $2}')
OGGENCVER=$(oggenc --version | awk '{print $NF}')
# Duration of the source signal for the cases that follow; changed for the uncompressed PCM cases.
DUR=0.5
# Tiny black video track for the video-container cases: 64x64, 10 fps, as long as the audio.
video() { VIDEO=(-f lavfi -i "color=c=black:s=64x64:r=10:d=$DUR"); }

# ---------------------------------------------------------------------------------------------------
# Python helpers.
cat >"$TMP/gen.py" <<'PYEOF'
"""gen.py OUT.wav RATE CHANNELS FMT AMP BASE_HZ DURATION_S   (FMT: u8 | s16 | s24 | f64)
Writes the analytic source as a RIFF/WAVE file: plain WAVEFORMAT (tag 1) for 8/16-bit <= 2 channels,
WAVEFORMATEXTENSIBLE for 24-bit or > 2 channels, IEEE float (tag 3) with a fact chunk for f64."""
import math, struct, sys

out, sr, ch, fmt, amp, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6])
frames = int(math.floor(float(sys.argv[7]) * sr + 0.5))
assert base * ch < 0.4 * sr, "highest channel frequency must stay below 0.4*sr"

def rnd(v):  # round half away from zero, like Rust's f64::round
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)

bits = {"u8": 8, "s16": 16, "s24": 24, "f64": 64}[fmt]
scale = float(1 << (bits - 1))
near_ties = 0
body = bytearray()
for n in range(frames):
    for c in range(ch):
        f = base * (c + 1)
        x = amp * math.sin(2.0 * math.pi * f * n / sr)
        if fmt == "f64":
            body += struct.pack("<d", x)
            continue
        v = x * scale
        if abs(abs(v - math.floor(v)) - 0.5) < 1e-6:
            near_ties += 1
        q = rnd(v)
        if fmt == "u8":
            body += struct.pack("<B", max(0, min(255, q + 128)))
        elif fmt == "s16":
            body += struct.pack("<h", max(-32768, min(32767, q)))
        else:
            q = max(-(1 << 23), min((1 << 23) - 1, q))
            body += struct.pack("<i", q)[:3]
if near_ties:
    print(f"gen.py: warning: {out}: {near_ties} samples within 1e-6 of a rounding tie", file=sys.stderr)

block = ch * bits // 8
chunks = []
if fmt == "f64":
    chunks.append(b"fmt " + struct.pack("<IHHIIHHH", 18, 3, ch, sr, sr * block, block, bits, 0))
    chunks.append(b"fact" + struct.pack("<II", 4, frames))
elif ch > 2 or bits > 16:
    mask = {1: 0x4, 2: 0x3, 6: 0x3F}[ch]  # 6: FL FR FC LFE BL BR
    guid = struct.pack("<IHH", 1, 0, 0x10) + bytes([0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])
    chunks.append(b"fmt " + struct.pack("<IHHIIHHHHI", 40, 0xFFFE, ch, sr, sr * block, block, bits, 22, bits, mask) + guid)
else:
    chunks.append(b"fmt " + struct.pack("<IHHIIHH", 16, 1, ch, sr, sr * block, block, bits))
data = b"data" + struct.pack("<I", len(body)) + bytes(body) + (b"\0" if len(body) % 2 else b"")
riff = b"WAVE" + b"".join(chunks) + data
with open(out, "wb") as fh:
    fh.write(b"RIFF" + struct.pack("<I", len(riff)) + riff)
PYEOF

cat >"$TMP/broken_mp3.py" <<'PYEOF'
"""broken_mp3.py SRC.mp3 OUT.mp3: the first MPEG audio frame header of SRC (4 valid bytes, ID3 skipped),
then pseudo-random bytes (sha256 counter stream, seed b'roomtone-corrupt-mp3') up to 8192 bytes."""
import hashlib, sys

src = open(sys.argv[1], "rb").read()
i = 0
if src[:3] == b"ID3":
    i = 10 + ((src[6] << 21) | (src[7] << 14) | (src[8] << 7) | src[9])
while not (src[i] == 0xFF and src[i + 1] & 0xE0 == 0xE0):
    i += 1
out = bytearray(src[i:i + 4])
k = 0
while len(out) < 8192:
    out += hashlib.sha256(b"roomtone-corrupt-mp3" + k.to_bytes(4, "little")).digest()
    k += 1
open(sys.argv[2], "wb").write(bytes(out[:8192]))
PYEOF

cat >"$TMP/manifest.py" <<'PYEOF'
"""manifest.py OUTDIR CASES.tsv AMP BASE_HZ: decodes every case with ffmpeg, checks it against the
analytic source, and writes OUTDIR/cases.json. Exits non-zero if a check fails."""
import json, math, os, subprocess, sys
import numpy as np

outdir, tsv, amp, base = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])

def container_of(path):
    b = open(path, "rb").read(16)
    if b[:4] == b"RIFF" and b[8:12] == b"WAVE":
        return "wav"
    if b[:4] == b"fLaC":
        return "flac"
    if b[:4] == b"OggS":
        return "ogg"
    if b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0):
        return "mpeg-audio"
    if b[4:8] == b"ftyp":
        return {b"qt  ": "mov", b"M4A ": "m4a"}.get(b[8:12], "mp4")
    if b[:4] == bytes.fromhex("1A45DFA3"):
        return "matroska"
    raise SystemExit(f"manifest.py: {path}: unknown container {b.hex()}")

def source(sr, ch, frames):
    n = np.arange(frames, dtype=np.float64)
    return np.stack([amp * np.sin(2.0 * np.pi * (base * (c + 1)) * n / sr) for c in range(ch)], axis=1)

def quantised(x, bits):
    if bits is None:
        return x
    s = float(1 << (bits - 1))
    v = x * s
    q = np.where(v >= 0, np.floor(v + 0.5), -np.floor(-v + 0.5))
    return np.clip(q, -s, s - 1) / s

def decode(path, ch, dtype, extra_in=()):
    fmt = {"f32": "f32le", "f64": "f64le"}[dtype]
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *extra_in, "-i", path,
           "-map", "0:a:0", "-f", fmt, "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    a = np.frombuffer(raw, dtype=np.float32 if dtype == "f32" else np.float64).astype(np.float64)
    return a.reshape(-1, ch)

def best_lag(dec, ref, lo=-2048, hi=4096):
    """lag L maximising sum_n dec[n+L]*ref[n] (summed over channels): dec is ref delayed by L frames."""
    best, best_c = 0, -np.inf
    n = len(ref)
    size = 1 << int(np.ceil(np.log2(len(dec) + n + abs(lo) + 1)))
    acc = np.zeros(size)
    for c in range(ref.shape[1]):
        D = np.fft.rfft(dec[:, c], size)
        R = np.fft.rfft(ref[:, c], size)
        acc += np.fft.irfft(D * np.conj(R), size)
    for L in range(lo, hi + 1):
        v = acc[L % size]
        if v > best_c:
            best, best_c = L, v
    return best

def db(sig, err):
    return float("inf") if err == 0 else round(float(10 * np.log10(sig / err)), 2)

def snr_at(dec, ref, L, skip=()):
    """(SNR over the kept channels, per-channel SNRs, overlap frames) with dec[n+L] against ref[n]."""
    n0 = max(0, -L)
    n1 = min(len(ref), len(dec) - L)
    r = ref[n0:n1]
    d = dec[n0 + L:n1 + L]
    sig = np.sum(r ** 2, axis=0)
    err = np.sum((d - r) ** 2, axis=0)
    keep = [c for c in range(ref.shape[1]) if c not in skip]
    return db(sig[keep].sum(), err[keep].sum()), [db(sig[c], err[c]) for c in range(ref.shape[1])], n1 - n0

# Input options that stop ffmpeg from trimming encoder delay, to show what a decoder that ignores
# edit lists / the LAME gapless tag sees.
RAW_OPTS = {"mp4": ["-ignore_editlist", "1"], "m4a": ["-ignore_editlist", "1"], "mov": ["-ignore_editlist", "1"],
            "mpeg-audio": ["-flags2", "+skip_manual"]}

cases, failed = [], False
for line in open(tsv):
    (file, codec, sr, ch, bits, lossless, encoder, video, note, dur) = line.rstrip("\n").split("\t")
    sr, ch = int(sr), int(ch)
    bits = None if bits == "float" else int(bits)
    lossless = lossless == "1"
    path = os.path.join(outdir, file)
    frames = int(math.floor(float(dur) * sr + 0.5))
    container = container_of(path)
    ref = quantised(source(sr, ch, frames), bits)
    dec = decode(path, ch, "f64" if bits is None else "f32")
    chk = {"decoded_frames": len(dec)}
    if lossless:
        exact = len(dec) == frames and bool(np.array_equal(dec, ref))
        m = min(len(dec), frames)
        chk.update(bit_exact=exact, max_abs_err=float(np.max(np.abs(dec[:m] - ref[:m]))) if m else None)
        if not exact:
            failed = True
            print(f"FAIL {file}: not bit-exact (decoded {len(dec)} frames, expected {frames})", file=sys.stderr)
    else:
        # AAC 5.1: the LFE element (channel 3 in WAV order) only carries low frequencies, so its
        # 1760 Hz tone is not reproduced; it is left out of the pass/fail SNR.
        skip = (3,) if codec == "aac" and ch == 6 else ()
        keep = [c for c in range(ch) if c not in skip]
        L = best_lag(dec[:, keep], ref[:, keep])
        snr, per_ch, overlap = snr_at(dec, ref, L, skip)
        # Same, over the interior only (2048 frames off each end), where the codec's onset/offset
        # smearing does not count.
        interior = snr_at(dec[2048:len(ref) - 2048 + max(L, 0)], ref[2048:len(ref) - 2048], L, skip)[0]
        chk.update(lag=L, snr_db=snr, snr_db_interior=interior, snr_db_per_channel=per_ch, overlap_frames=overlap)
        if skip:
            chk["snr_excludes_channels"] = list(skip)
        if container in RAW_OPTS:
            rd = decode(path, ch, "f32", RAW_OPTS[container])
            rl = best_lag(rd[:, keep], ref[:, keep])
            chk["untrimmed"] = {"ffmpeg_input_opts": " ".join(RAW_OPTS[container]), "decoded_frames": len(rd),
                                "lag": rl, "snr_db": snr_at(rd, ref, rl, skip)[0]}
        if not snr > 20:
            failed = True
            print(f"FAIL {file}: SNR {snr:.2f} dB at lag {L}", file=sys.stderr)
    case = {"file": file, "codec": codec, "container": container, "sample_rate": sr, "channels": ch,
            "frames": frames, "duration_s": float(dur), "base_hz": base, "amp": amp, "lossless": lossless, "bits": bits,
            "encoder": encoder, "video_track": video == "1", "size_bytes": os.path.getsize(path),
            "ffmpeg_check": chk}
    if note:
        case["note"] = note
    cases.append(case)
    print(f"{file:44s} {container:10s} {os.path.getsize(path):7d} B  {json.dumps(chk)}")

with open(os.path.join(outdir, "cases.json"), "w") as fh:
    json.dump(cases, fh, indent=1)
    fh.write("\n")
sys.exit(1 if failed else 0)
PYEOF

# ---------------------------------------------------------------------------------------------------
mkdir -p "$OUT/broken"
find "$OUT" -mindepth 1 -type f ! -name README.md -delete
: >"$TMP/cases.tsv"

# src RATE CH FMT -> path of a cached source WAV ($DUR seconds) in $TMP
src() {
    local p="$TMP/src_${3}_${1}_${2}ch_${DUR}s.wav"
    [ -f "$p" ] || "$PY" "$TMP/gen.py" "$p" "$1" "$2" "$3" "$AMP" "$BASE_HZ" "$DUR"
    echo "$p"
}
# record FILE CODEC RATE CH BITS(16|24|8|float) LOSSLESS(0|1) ENCODER VIDEO(0|1) [NOTE]  (duration: $DUR)
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "${9:-}" "$DUR" >>"$TMP/cases.tsv"; }

# --- WAV extras (plain s16 WAV is generated by the Rust tests themselves); 0.1 s ---
DUR=0.1
cp "$(src 8000 1 u8)" "$OUT/wav_u8_8000_1ch.wav";        record wav_u8_8000_1ch.wav pcm_u8 8000 1 8 1 "python stdlib" 0
cp "$(src 96000 2 s24)" "$OUT/wav_s24_96000_2ch.wav";    record wav_s24_96000_2ch.wav pcm_s24le 96000 2 24 1 "python stdlib" 0
cp "$(src 44100 1 f64)" "$OUT/wav_f64_44100_1ch.wav";    record wav_f64_44100_1ch.wav pcm_f64le 44100 1 float 1 "python stdlib" 0 "WAVE_FORMAT_IEEE_FLOAT, 64-bit, with fact chunk"

DUR=0.5

# --- FLAC (reference libFLAC encoder, no padding block) ---
flac_case() { # RATE CH FMT NAME
    flac --silent --force -8 --no-padding -o "$OUT/$4" "$(src "$1" "$2" "$3")"
    record "$4" flac "$1" "$2" "${3#s}" 1 "libFLAC $FLACVER (flac -8)" 0
}
for r in 8000 44100 96000 192000; do
    for c in 1 2; do flac_case "$r" "$c" s16 "flac_${r}_${c}ch.flac"; done
done
flac_case 48000 6 s16 flac_48000_6ch.flac
flac_case 96000 2 s24 flac_s24_96000_2ch.flac

# --- MP3 (libmp3lame CBR via ffmpeg; Xing/LAME tag carries delay/padding for gapless trimming) ---
mp3_case() { # RATE CH KBPS
    local f="mp3_${1}_${2}ch.mp3"
    "${FF[@]}" -i "$(src "$1" "$2" s16)" "${FFBX[@]}" -c:a libmp3lame -b:a "${3}k" -write_xing 1 -id3v2_version 0 "$OUT/$f"
    record "$f" mp3 "$1" "$2" 16 0 "lame $LAMEVER (ffmpeg $FFVER libmp3lame, CBR ${3} kbps)" 0 \
        "LAME encoder delay 576 + 529 decoder delay; LAME/Xing tag present for gapless trimming"
}
mp3_case 44100 2 192
mp3_case 48000 1 128
mp3_case 22050 1 128

# --- AAC-LC in .m4a (ffmpeg native aac) ---
m4a_case() { # RATE CH KBPS
    local f="aac_${1}_${2}ch.m4a"
    "${FF[@]}" -i "$(src "$1" "$2" s16)" "${FFBX[@]}" -c:a aac -b:a "${3}k" "$OUT/$f"
    record "$f" aac "$1" "$2" 16 0 "ffmpeg $FFVER aac (native, ${3} kbps)" 0 \
        "1024 priming frames, hidden by an edit list (elst)"
}
m4a_case 48000 2 128
m4a_case 44100 1 96
m4a_case 48000 6 256

# --- Ogg Vorbis (oggenc q5, fixed stream serial) ---
ogg_case() { # RATE CH
    local f="vorbis_${1}_${2}ch.ogg"
    oggenc --quiet -q 5 --serial 20240 -o "$OUT/$f" "$(src "$1" "$2" s16)"
    record "$f" vorbis "$1" "$2" 16 0 "libvorbis $VORBISVER (oggenc $OGGENCVER -q 5)" 0
}
ogg_case 44100 2
ogg_case 48000 1
ogg_case 16000 1

# --- Video containers: tiny black video track + one audio track ---
av_case() { # FILE CODEC RATE CH BITS LOSSLESS ENCODER NOTE -- ffmpeg output args...
    local f=$1 codec=$2 r=$3 c=$4 bits=$5 ll=$6 enc=$7 note=$8
    shift 9
    video
    "${FF[@]}" "${VIDEO[@]}" -i "$(src "$r" "$c" s16)" -map 0:v -map 1:a "${FFBX[@]}" "$@" "$OUT/$f"
    record "$f" "$codec" "$r" "$c" "$bits" "$ll" "$enc" 1 "$note"
}
av_case aac_48000_2ch.mp4 aac 48000 2 16 0 "ffmpeg $FFVER aac (native, 128 kbps)" \
    "video: mpeg4 64x64 10 fps; 1024 priming frames hidden by an edit list" -- \
    -c:v mpeg4 -q:v 31 -c:a aac -b:a 128k
av_case aac_48000_2ch.mov aac 48000 2 16 0 "ffmpeg $FFVER aac (native, 128 kbps)" \
    "video: mpeg4 64x64 10 fps; 1024 priming frames hidden by an edit list" -- \
    -c:v mpeg4 -q:v 31 -c:a aac -b:a 128k
DUR=0.1
av_case pcm_s16le_48000_2ch_experimental.mov pcm_s16le 48000 2 16 1 "ffmpeg $FFVER pcm_s16le" \
    "EXPERIMENTAL: QuickTime 'sowt' PCM sample entry; video: mpeg4 64x64 10 fps" -- \
    -c:v mpeg4 -q:v 31 -c:a pcm_s16le
DUR=0.5
av_case flac_48000_2ch.mkv flac 48000 2 16 1 "ffmpeg $FFVER flac (native)" \
    "video: mpeg4 64x64 10 fps" -- \
    -c:v mpeg4 -q:v 31 -c:a flac
av_case vorbis_44100_2ch.mkv vorbis 44100 2 16 0 "libvorbis $VORBISVER (ffmpeg $FFVER libvorbis -q:a 5)" \
    "video: mpeg4 64x64 10 fps" -- \
    -c:v mpeg4 -q:v 31 -c:a libvorbis -q:a 5
av_case vorbis_48000_1ch.webm vorbis 48000 1 16 0 "libvorbis $VORBISVER (ffmpeg $FFVER libvorbis -q:a 5)" \
    "webm; video: vp8 (libvpx) 64x64 10 fps" -- \
    -c:v libvpx -b:v 20k -deadline good -cpu-used 0 -c:a libvorbis -q:a 5

# --- Broken files for error tests (not in cases.json) ---
video
python_trunc() { "$PY" -c 'import sys; b=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(b[:len(b)*6//10])' "$@"; }
python_trunc "$OUT/flac_44100_2ch.flac" "$OUT/broken/truncated.flac"
"$PY" "$TMP/broken_mp3.py" "$OUT/mp3_44100_2ch.mp3" "$OUT/broken/corrupt.mp3"
"${FF[@]}" "${VIDEO[@]}" "${FFBX[@]}" -c:v mpeg4 -q:v 31 "$OUT/broken/noaudio.mp4"

# --- Check every case with ffmpeg and write the manifest ---
"$PY" "$TMP/manifest.py" "$OUT" "$TMP/cases.tsv" "$AMP" "$BASE_HZ"
du -cb "$OUT"/* "$OUT"/broken/* | tail -1
