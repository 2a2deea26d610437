#!/usr/bin/env python3
"""Writes the fuzz seed corpus fuzz/seeds/ (standard library only; run again to re-create it).

Tiny files made here cover what tests/data/media has no small example of (WAV 8/16/24/32-bit
integer, 32/64-bit float, A-law, mu-law, IMA ADPCM, WAVE_FORMAT_EXTENSIBLE with 6 channels, AIFF,
AIFF-C float, CAF); the compressed formats are the smallest fixtures of tests/data/media, copied.
Each seed stays small (AFL mutates small inputs much faster); the whole folder is well under 100 KB.
"""

import math
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
MEDIA = ROOT.parent / "tests" / "data" / "media"
OUT = ROOT / "seeds"

# Fixtures copied as they are (all under 10 KB).
COPIED = [
    "wav_u8_8000_1ch.wav",
    "flac_8000_1ch.flac",
    "flac_8000_2ch.flac",
    "vorbis_16000_1ch.ogg",
    "vorbis_48000_1ch.webm",
    "vorbis_44100_2ch.mkv",
    "aac_44100_1ch.m4a",
    "aac_48000_2ch.mov",
    "mp3_48000_1ch.mp3",
    "broken/noaudio.mp4",
]


def tone(frames, rate, channels, amp=0.5):
    """Planar -> interleaved floats: channel c is a sine at 440·(c+1) Hz."""
    out = []
    for n in range(frames):
        for c in range(channels):
            out.append(amp * math.sin(2 * math.pi * 440 * (c + 1) * n / rate))
    return out


def pcm(samples, bits, fmt):
    if fmt == "float":
        code = "<f" if bits == 32 else "<d"
        return b"".join(struct.pack(code, s) for s in samples)
    if bits == 8:
        return bytes(int(round(s * 127)) + 128 for s in samples)
    scale = 2 ** (bits - 1) - 1
    data = bytearray()
    for s in samples:
        q = int(round(s * scale))
        data += q.to_bytes(bits // 8, "little", signed=True)
    return bytes(data)


def riff(chunks):
    body = b"WAVE" + b"".join(
        tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
        for tag, data in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav(rate, channels, bits, fmt="int", frames=200, extensible=False):
    data = pcm(tone(frames, rate, channels), bits, fmt)
    code = 3 if fmt == "float" else 1
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", 0xFFFE if extensible else code, channels, rate, rate * block, block, bits)
    if extensible:
        mask = (1 << channels) - 1
        guid = struct.pack("<H", code) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt_chunk += struct.pack("<HHI", 22, bits, mask) + guid
    return riff([(b"fmt ", fmt_chunk), (b"data", data)])


def g711(samples, law):
    """A-law or mu-law bytes (ITU-T G.711), from floats in [-1, 1]."""
    out = bytearray()
    for s in samples:
        x = max(-32768, min(32767, int(s * 32767)))
        if law == "ulaw":
            sign = 0x80 if x < 0 else 0
            x = min(abs(x) + 0x84, 32767)
            exp = max(0, x.bit_length() - 8)
            mant = (x >> (exp + 3)) & 0x0F
            out.append(~(sign | (exp << 4) | mant) & 0xFF)
        else:
            sign = 0x80 if x >= 0 else 0
            x = abs(x) >> 3
            if x < 32:
                byte = x >> 1
            else:
                exp = x.bit_length() - 5
                byte = (exp << 4) | ((x >> exp) & 0x0F)
            out.append((sign | byte) ^ 0x55)
    return bytes(out)


def wav_g711(law, rate=8000, frames=200):
    data = g711(tone(frames, rate, 1), law)
    fmt_chunk = struct.pack("<HHIIHHH", 6 if law == "alaw" else 7, 1, rate, rate, 1, 8, 0)
    return riff([(b"fmt ", fmt_chunk), (b"fact", struct.pack("<I", frames)), (b"data", data)])


def wav_ima_adpcm(rate=8000, blocks=2):
    """IMA ADPCM, mono, 256-byte blocks of 505 samples (nibbles from a fixed pattern)."""
    block_align, per_block = 256, 505
    fmt_chunk = struct.pack("<HHIIHHHH", 0x11, 1, rate, rate * block_align // per_block, block_align, 4, 2, per_block)
    data = bytearray()
    for b in range(blocks):
        data += struct.pack("<hBB", 0, 20, 0)
        data += bytes(((i * 7 + b) * 37) & 0xFF for i in range(block_align - 4))
    fact = struct.pack("<I", blocks * per_block)
    return riff([(b"fmt ", fmt_chunk), (b"fact", fact), (b"data", bytes(data))])


def extended80(x):
    """IEEE 754 80-bit extended, as AIFF stores its sample rate."""
    exp = int(math.floor(math.log2(x)))
    mant = int(x / 2**exp * 2**63)
    return struct.pack(">HQ", exp + 16383, mant)


def aiff(rate, channels, bits=16, frames=200, float32=False, trailer=False):
    """AIFF (or AIFF-C float). With `trailer`, an ANNO chunk follows the sound data: symphonia 0.5
    counts SSND's 8-byte offset/block-size header as audio, so it declares more frames than an AIFF
    ending at its sound data holds (roomtone then says "truncated"), and reads 8 bytes past it."""
    samples = tone(frames, rate, channels)
    if float32:
        data = b"".join(struct.pack(">f", s) for s in samples)
        name = b"32-bit float"
        pstring = bytes([len(name)]) + name + (b"" if len(name) % 2 else b"\0")
        comm = struct.pack(">hIh", channels, frames, 32) + extended80(rate) + b"fl32" + pstring
        form = b"AIFC"
        extra = [(b"FVER", struct.pack(">I", 0xA2805140))]
    else:
        scale = 2 ** (bits - 1) - 1
        data = b"".join(int(round(s * scale)).to_bytes(bits // 8, "big", signed=True) for s in samples)
        comm = struct.pack(">hIh", channels, frames, bits) + extended80(rate)
        form = b"AIFF"
        extra = []
    ssnd = struct.pack(">II", 0, 0) + data
    chunks = extra + [(b"COMM", comm), (b"SSND", ssnd)] + ([(b"ANNO", b"fuzz")] if trailer else [])
    body = form + b"".join(
        tag + struct.pack(">I", len(d)) + d + (b"\0" if len(d) % 2 else b"") for tag, d in chunks
    )
    return b"FORM" + struct.pack(">I", len(body)) + body


def caf(rate, channels, frames=200):
    """Core Audio Format, 16-bit big-endian linear PCM."""
    data = b"".join(int(round(s * 32767)).to_bytes(2, "big", signed=True) for s in tone(frames, rate, channels))
    desc = struct.pack(">dIIIIII", float(rate), int.from_bytes(b"lpcm", "big"), 2, 2 * channels, 1, channels, 16)
    chunk = lambda tag, d: tag + struct.pack(">q", len(d)) + d
    return b"caff" + struct.pack(">HH", 1, 0) + chunk(b"desc", desc) + chunk(b"data", struct.pack(">I", 0) + data)


# afl-fuzz takes the seeds in name order, and a seed that keeps finding new paths keeps the fuzzer
# to itself for minutes (an MP4 does: symphonia's MP4 reader is deep). A short run should start
# where most files come from and where the sample values are the fuzzer's to choose (PCM WAV,
# straight into the resampler and the mel front end), so each seed's name starts with its rank.
RANK = ["wav_s16", "wav_f32", "flac", "mp3", "vorbis_16000", "wav", "aif", "caf", "vorbis", "aac", "noaudio"]


def prioritised(name):
    rank = next(i for i, prefix in enumerate(RANK + [""]) if name.startswith(prefix))
    return f"{rank:02d}-{name}"


def main():
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    made = {
        "wav_s16_8000_1ch.wav": wav(8000, 1, 16),
        "wav_s16_44100_2ch.wav": wav(44100, 2, 16, frames=100),
        "wav_s24_16000_2ch.wav": wav(16000, 2, 24, frames=100),
        "wav_s32_22050_1ch.wav": wav(22050, 1, 32, frames=100),
        "wav_f32_48000_2ch.wav": wav(48000, 2, 32, "float", frames=100),
        "wav_f64_11025_1ch.wav": wav(11025, 1, 64, "float", frames=100),
        "wav_ext_s16_48000_6ch.wav": wav(48000, 6, 16, frames=50, extensible=True),
        "wav_alaw_8000_1ch.wav": wav_g711("alaw"),
        "wav_ulaw_8000_1ch.wav": wav_g711("ulaw"),
        "wav_ima_adpcm_8000_1ch.wav": wav_ima_adpcm(),
        "aiff_s16_11025_1ch.aiff": aiff(11025, 1),
        "aiff_s24_96000_2ch.aiff": aiff(96000, 2, bits=24, frames=100, trailer=True),
        "aifc_f32_32000_1ch.aifc": aiff(32000, 1, float32=True, frames=100, trailer=True),
        "caf_s16_44100_2ch.caf": caf(44100, 2, frames=100),
    }
    for name, data in made.items():
        (OUT / prioritised(name)).write_bytes(data)
    for name in COPIED:
        shutil.copyfile(MEDIA / name, OUT / prioritised(Path(name).name))
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(list(OUT.iterdir()))} seeds, {total} bytes in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
