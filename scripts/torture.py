#!/usr/bin/env python3
"""Builds odd and broken media files and runs every roomtone command on them (issue 11).

Checks, for every command and every file: the exit status is 0 or 1 (2 for usage errors; never a
signal, 101 or 134), nothing says "panicked", every error line names its file, no output holds a NaN,
no temporary file is left behind, inputs are unchanged, and a batch records every file exactly once.

Usage: scripts/torture.py --bin target/debug/roomtone [--work DIR] [--models dfn3,convtasnet,ensemble]
Standard library only. Exit status 0 when every check holds; otherwise each failure is printed.
"""

import argparse
import hashlib
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile


def wav(rate, channels, samples, float32=False, sizes=None, bits=16):
    """RIFF/WAVE bytes; `samples` interleaved floats; `sizes` = (riff, data) overrides."""
    if float32:
        data = struct.pack("<%df" % len(samples), *samples)
        bits, tag = 32, 3
    elif bits == 24:
        data = b"".join(int(max(-1, min(1, s)) * 8388607).to_bytes(3, "little", signed=True) for s in samples)
        tag = 1
    else:
        data = struct.pack("<%dh" % len(samples), *(int(max(-1, min(1, s)) * 32767) for s in samples))
        tag = 1
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels & 0xFFFF, rate & 0xFFFFFFFF, (rate * align) & 0xFFFFFFFF, align & 0xFFFF, bits)
    riff, size = sizes if sizes else (36 + len(data), len(data))
    return b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size) + data


def aiff(rate, channels, samples):
    frames = len(samples) // channels
    e = rate.bit_length() - 1
    comm = struct.pack(">hIh", channels, frames, 16) + struct.pack(">HQ", 16383 + e, rate << (63 - e))
    ssnd = b"\0" * 8 + struct.pack(">%dh" % len(samples), *(int(max(-1, min(1, s)) * 32767) for s in samples))
    body = b"AIFF" + b"COMM" + struct.pack(">I", len(comm)) + comm + b"SSND" + struct.pack(">I", len(ssnd)) + ssnd
    return b"FORM" + struct.pack(">I", len(body)) + body


def tone(rate, channels, frames, amp=0.3, seed=1):
    rnd = random.Random(seed)
    return [amp * math.sin(2 * math.pi * 220 * (c + 1) * i / rate) + 0.02 * rnd.uniform(-1, 1)
            for i in range(frames) for c in range(channels)]


def build(lib):
    """Writes the library; returns {name: expectation}: 'ok', 'error' or 'warn' (ok with a warning)."""
    files = {}

    def put(name, data, expect):
        path = os.path.join(lib, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        files[name] = expect

    put("rate0.wav", wav(0, 1, tone(8000, 1, 800)), "error")
    put("rate4294967295.wav", wav(4294967295, 1, tone(8000, 1, 16000)), "error")
    put("rate768001.wav", wav(768001, 1, tone(8000, 1, 800)), "error")
    put("channels0.wav", wav(48000, 0, []), "error")
    put("channels65.wav", wav(48000, 65, tone(48000, 65, 10)), "error")
    put("align0.wav", wav(48000, 1, tone(48000, 1, 100), bits=0), "error")
    nan = tone(44100, 1, 96000)
    nan[5000] = float("nan")
    put("nan_44100.wav", wav(44100, 1, nan, float32=True), "warn")
    nan48 = tone(48000, 2, 48000)
    nan48[777] = float("inf")
    nan48[778] = float("-inf")
    put("inf_48000_2ch.wav", wav(48000, 2, nan48, float32=True), "warn")
    huge = tone(22050, 1, 30000)
    huge[100] = 1e30
    put("huge_22050.wav", wav(22050, 1, huge, float32=True), "warn")
    put("all_nan.wav", wav(16000, 1, [float("nan")] * 16000, float32=True), "warn")
    put("denormal.wav", wav(48000, 1, [1e-40] * 24000, float32=True), "ok")
    put("silence.wav", wav(48000, 2, [0.0] * 96000), "ok")
    put("fullscale.wav", wav(44100, 1, [1.0 if (i // 50) % 2 else -1.0 for i in range(44100)], float32=True), "ok")
    put("one_frame.wav", wav(48000, 1, [0.5]), "ok")
    put("zero_frames.wav", wav(48000, 1, []), "error")
    put("streamed.wav", wav(48000, 2, tone(48000, 2, 24001), sizes=(0xFFFFFFFF, 0xFFFFFFFF)), "ok")
    put("truncated.wav", wav(48000, 2, tone(48000, 2, 4800))[:-3000], "error")
    put("claims_2gb.wav", wav(48000, 2, tone(48000, 2, 480), sizes=(0x7FFFFFF0 + 36, 0x7FFFFFF0)), "error")
    put("t.aiff", aiff(48000, 2, tone(48000, 2, 48000)), "ok")
    put("t_mono.aif", aiff(44100, 1, tone(44100, 1, 1151)), "ok")
    put("odd_11025_6ch.wav", wav(11025, 6, tone(11025, 6, 11025 * 2 + 1)), "ok")
    put("rate_8000.wav", wav(8000, 1, tone(8000, 1, 8000 * 3 + 7)), "ok")
    put("rate_192000.wav", wav(192000, 2, tone(192000, 2, 192000 + 3), bits=24), "ok")
    put("rate_88200.wav", wav(88200, 1, tone(88200, 1, 88200 * 2 - 1)), "ok")
    put("empty.wav", b"", "error")
    put("text.mp3", b"this is not an mp3 file\n" * 40, "error")
    rnd = random.Random(7)
    put("random.wav", bytes(rnd.getrandbits(8) for _ in range(4096)), "error")
    put("random.flac", b"fLaC" + bytes(rnd.getrandbits(8) for _ in range(4096)), "error")
    put("riff_only.wav", b"RIFF\x04\x00\x00\x00WAVE", "error")
    put("=HYPERLINK(\"http x\",\"y\").wav", wav(16000, 1, tone(16000, 1, 16000)), "ok")
    put("space and ünïcode.wav", wav(16000, 1, tone(16000, 1, 8000)), "ok")
    put("sub/take.wav", wav(16000, 1, tone(16000, 1, 8000, seed=2)), "ok")
    put("sub/take.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 200, "error")
    put("other/take.wav", wav(16000, 1, tone(16000, 1, 8000, seed=3)), "ok")
    os.makedirs(os.path.join(lib, "folder.wav"), exist_ok=True)  # a folder with a media name: skipped
    try:
        os.symlink(".", os.path.join(lib, "loop"))
        os.symlink("..", os.path.join(lib, "sub", "up"))
        os.symlink("missing.wav", os.path.join(lib, "dangling.wav"))
    except OSError:
        pass
    return files


def digest(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def wav_peak_24(path):
    """Peak (0..1) of a 24-bit integer WAV as roomtone's remix writes it."""
    with open(path, "rb") as f:
        data = f.read()
    pos = data.find(b"data")
    if pos < 0:
        return 0.0
    body = data[pos + 8:]
    peak = 0
    for i in range(0, len(body) - 2, 3):
        peak = max(peak, abs(int.from_bytes(body[i:i + 3], "little", signed=True)))
    return peak / 8388608


def wav_has_nan(path):
    """True if a float WAV holds a NaN or an infinity (integer WAVs cannot)."""
    with open(path, "rb") as f:
        data = f.read()
    pos, fmt_tag, start, size = 12, None, None, None
    while pos + 8 <= len(data):
        cid, csize = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            fmt_tag = struct.unpack("<H", data[pos + 8:pos + 10])[0]
            if fmt_tag == 0xFFFE:
                fmt_tag = struct.unpack("<H", data[pos + 32:pos + 34])[0]
        if cid == b"data":
            start, size = pos + 8, csize
            break
        pos += 8 + csize + (csize & 1)
    if fmt_tag != 3 or start is None:
        return False
    n = min(size, len(data) - start) // 4
    return any(not math.isfinite(v) for v in struct.unpack_from("<%df" % n, data, start))


class Checker:
    def __init__(self, binary, work):
        self.binary, self.work, self.failures, self.runs = binary, work, [], 0

    def fail(self, what):
        self.failures.append(what)
        print("FAIL:", what, file=sys.stderr)

    def run(self, args, allowed=(0, 1), timeout=600):
        self.runs += 1
        try:
            p = subprocess.run([self.binary] + args, cwd=self.work, capture_output=True, text=True,
                               timeout=timeout, errors="replace")
        except subprocess.TimeoutExpired:
            self.fail(f"{args}: still running after {timeout} s (a hang)")
            return None
        label = " ".join(args[:3])
        if p.returncode not in allowed:
            self.fail(f"{label}: exit status {p.returncode} (allowed {allowed})\n{p.stderr[-2000:]}")
        if "panicked" in p.stderr or "RUST_BACKTRACE" in p.stderr:
            self.fail(f"{label}: a panic reached the user:\n{p.stderr[-2000:]}")
        for line in p.stderr.splitlines():
            if line.startswith("roomtone: ") and ("error" in line or "cannot" in line or "invalid" in line) \
                    and "failed" not in line and "internal error at" not in line:
                if ".wav" not in line and ".mp3" not in line and ".aif" not in line and ".flac" not in line \
                        and "--" not in line and "folder" not in line:
                    self.fail(f"{label}: an error line that names no file: {line!r}")
        return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="the roomtone binary to torture")
    ap.add_argument("--work", help="working folder (default: a temporary one, removed after)")
    ap.add_argument("--models", default="dfn3,convtasnet,ensemble",
                    help="separation models to run separate and remix with")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    tmp = None
    if a.work:
        work = os.path.abspath(a.work)
        os.makedirs(work, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="roomtone-torture-")
        work = tmp.name
    lib = os.path.join(work, "lib")
    files = build(lib)
    before = digest(lib)
    c = Checker(binary, work)
    names = sorted(files)
    paths = [os.path.join("lib", n) for n in names]

    # info: one line per file, on stdout or stderr; the good ones on stdout.
    p = c.run(["info", "--json"] + paths)
    if p:
        records = [json.loads(line) for line in p.stdout.splitlines()]
        if len(records) != len(names):
            c.fail(f"info --json: {len(records)} records for {len(names)} files")
        for n, r in zip(names, records):
            bad = "error" in r
            if bad != (files[n] == "error"):
                c.fail(f"info {n}: expected {files[n]}, got {r}")
            if files[n] == "warn" and not r.get("damaged_samples"):
                c.fail(f"info {n}: damaged samples not reported: {r}")

    # tag: files, and the folder (walked: the loop link and the folder named .wav must not repeat files).
    p = c.run(["tag", "--format", "jsonl", "--jobs", "2"] + paths)
    if p:
        records = [json.loads(line) for line in p.stdout.splitlines()]
        if len(records) != len(names):
            c.fail(f"tag: {len(records)} records for {len(names)} files")
        for n, r in zip(names, records):
            if ("error" in r) != (files[n] == "error"):
                c.fail(f"tag {n}: expected {files[n]}, got {str(r)[:300]}")
            if files[n] == "warn" and not r.get("warnings"):
                c.fail(f"tag {n}: no warning for its damaged samples")
    p = c.run(["tag", "--format", "csv", "-o", "labels.csv", "lib"])
    if p:
        with open(os.path.join(work, "labels.csv"), encoding="utf-8") as f:
            rows = f.read().splitlines()[1:]
        if len(rows) != len(names):
            c.fail(f"tag lib: {len(rows)} rows for {len(names)} files (the walk repeats or loses files)")
        for row in rows:
            cell = row.split(",")[0].lstrip('"')
            if cell[:1] in ("=", "+", "-", "@"):
                c.fail(f"tag csv: a cell a spreadsheet would run as a formula: {row[:80]}")

    # separate and remix with every model, on the files that decode.
    # Two inputs that would write the same stems are refused up front, naming both, writing nothing.
    p = c.run(["separate", "--out-dir", "stems-clash", "lib/sub/take.wav", "lib/other/take.wav"], allowed=(1,))
    if p and not ("sub/take.wav" in p.stderr and "other/take.wav" in p.stderr):
        c.fail(f"separate with clashing stem names: both inputs not named: {p.stderr}")
    if os.path.exists(os.path.join(work, "stems-clash")) and os.listdir(os.path.join(work, "stems-clash")):
        c.fail("separate with clashing stem names wrote stems")
    good = [os.path.join("lib", n) for n in names if files[n] != "error" and n != "other/take.wav"]
    for model in a.models.split(","):
        out = f"stems-{model}"
        c.run(["separate", "--model", model, "--out-dir", out] + good, allowed=(0,))
        for dirpath, _, fs in os.walk(os.path.join(work, out)):
            for f in fs:
                path = os.path.join(dirpath, f)
                if not f.endswith(".wav"):
                    c.fail(f"separate {model}: stray file {path}")
                elif wav_has_nan(path):
                    c.fail(f"separate {model}: NaN or Inf in {path}")
        stem_count = sum(len(fs) for _, _, fs in os.walk(os.path.join(work, out)))
        if stem_count != 2 * len(good):
            c.fail(f"separate {model}: {stem_count} stems for {len(good)} files (names collide?)")
        for n in ["nan_44100.wav", "inf_48000_2ch.wav", "all_nan.wav", "silence.wav", "denormal.wav",
                  "t.aiff", "one_frame.wav", "odd_11025_6ch.wav"]:
            o = f"remix-{model}-{n}.wav"
            c.run(["remix", "--model", model, "--target-lufs", "-23", os.path.join("lib", n), "-o", o],
                  allowed=(0,))
            if n == "nan_44100.wav" and os.path.exists(os.path.join(work, o)) \
                    and wav_peak_24(os.path.join(work, o)) < 0.01:
                c.fail(f"remix {model} {n}: one damaged sample silenced the remix")
    c.run(["separate", "--out-dir", "stems-bad"] + [os.path.join("lib", n) for n in names if files[n] == "error"],
          allowed=(1,))

    # batch with stems, twice (--resume), with its output folder inside the library.
    for extra in ([], ["--resume"]):
        c.run(["batch", "--quiet", "--separate", "--jobs", "2", "--out", "lib/out"] + extra + ["lib"], allowed=(1,))
    labels = os.path.join(lib, "out", "labels.jsonl")
    if os.path.exists(labels):
        with open(labels, encoding="utf-8") as f:
            recs = [json.loads(line) for line in f]
        keys = [r["path"] for r in recs]
        if len(keys) != len(set(keys)):
            c.fail("batch: a file recorded twice")
        if len(recs) != len(names):
            c.fail(f"batch: {len(recs)} records for {len(names)} files")
        if any("/out/" in k for k in keys):
            c.fail("batch: took its own outputs for inputs")
    else:
        c.fail("batch: no labels.jsonl")

    # Nothing left half-written, inputs untouched.
    for dirpath, _, fs in os.walk(work):
        for f in fs:
            if f.endswith(".tmp") or f.startswith(".tmp"):
                c.fail(f"temporary file left: {os.path.join(dirpath, f)}")
    after = {k: v for k, v in digest(lib).items() if not k.startswith("out" + os.sep)}
    if after != before:
        c.fail("inputs changed: " + ", ".join(sorted(set(before) ^ set(after)) or
                                               [k for k in before if before[k] != after.get(k)]))

    print(f"torture: {len(names)} files, {c.runs} runs, {len(c.failures)} failures", file=sys.stderr)
    if tmp:
        tmp.cleanup()
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
