#!/usr/bin/env python3
"""What a batch's bookkeeping costs on libraries of 10k, 100k and 1M files, tagging aside.

    python3 scripts/bench_bookkeeping.py [--sizes 10000,100000,1000000] [--work /tmp/rt-scale] [--roomtone target/release/roomtone] [--chromium]

For each size N (standard library only):
  1. a library of N empty files (not audio, and no disk blocks: tagging is not what is measured),
     1,000 per folder, in WORK/N/lib;
  2. WORK/N/out/labels.jsonl and spectrograms.jsonl as a finished batch leaves them: one realistic tag
     record per file (its real size and modification time, three labels, two segments, two dialogue
     regions, five AudioSet classes) and one 240x32 thumbnail each (a real PNG's size, ~3 KB of
     base64);
  3. under /usr/bin/time -v, `roomtone batch LIB --out OUT --resume --quiet`:
     a. the first time, with labels.csv and the report missing: discovery, the plan (nothing to tag),
        and all outputs written from the records (streamed);
     b. again: nothing to do, the outputs are left alone (the target's case);
     c. after 10 files were made into short real WAVs (new size and time): those 10 tagged, and every
        output written again;
  4. the same records split into 64 shard folders (by the batch's own hash of the relative path, as
     `--shard K/64` would) and `roomtone merge` of them, under /usr/bin/time -v.
Prints one Markdown row per size and step: wall seconds, peak RSS, and the size of report.html.
With --chromium, also opens the resumed batch's report.html in headless Chromium (chromium on PATH, or
CHROMIUM): the time from navigation to the end of the index page's script (performance.now(), written by
the page into <body data-ready>), and report.html#label=rain (the label index loaded on demand), which
must find every file.
Targets (issue 15): a resume over 1M files with nothing to do plans in under 30 s and 1 GB; a merge of
64 shards of 1M files in total in under 60 s. Disk: about 20 GB at 1M (thumbnails and report pages
in three folders).
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import struct
import time
import wave
from pathlib import Path

PNG_B64 = 3000  # bytes of base64 per thumbnail (a real 240x32 indexed PNG is 1.5-3 KB)


def fnv1a(s: str) -> int:
    h = 0xCBF29CE484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def record(path: str, st: os.stat_result, rng: random.Random) -> dict:
    d = round(rng.uniform(5, 60), 3)
    return {
        "path": path, "duration_s": d, "ambience": "rain",
        "labels": [{"label": "rain", "score": 0.91}, {"label": "speech", "score": 0.62},
                   {"label": "wind", "score": 0.21}],
        "speech": True,
        "segments": [{"start_s": 0.0, "end_s": d / 2, "label": "rain", "score": 0.9},
                     {"start_s": d / 2, "end_s": d, "label": "wind", "score": 0.4}],
        "speech_segments": [{"start_s": 1.2, "end_s": 2.6, "score": 0.93},
                            {"start_s": 3.5, "end_s": 4.5, "score": 0.88}],
        "audioset_top": [{"class": c, "score": 0.5} for c in
                         ["Rain", "Speech", "Rain on surface", "Wind", "Raindrop"]],
        "size_bytes": st.st_size, "mtime_ns": st.st_mtime_ns,
    }


def make(n: int, base: Path) -> tuple[Path, Path]:
    lib, out = base / "lib", base / "out"
    stamp = base / ".made"
    if stamp.exists():
        return lib, out
    shutil.rmtree(base, ignore_errors=True)
    out.mkdir(parents=True)
    rng = random.Random(n)
    png = "iVBORw0KGgo" + "A" * (PNG_B64 - 11)
    with open(out / "labels.jsonl", "w") as labels, open(out / "spectrograms.jsonl", "w") as thumbs:
        rows = []
        for i in range(n):
            d = lib / f"d{i // 1000:04d}"
            if i % 1000 == 0:
                d.mkdir(parents=True)
            p = d / f"f{i:07d}.wav"
            p.touch()
            rows.append((str(p), p.stat()))
        rows.sort(key=lambda r: r[0])
        for path, st in rows:
            labels.write(json.dumps(record(path, st, rng), separators=(",", ":")) + "\n")
            thumbs.write(json.dumps({"path": path, "png": png}, separators=(",", ":")) + "\n")
    # 64 shard folders with the same records, split as --shard K/64 would.
    shards = [open(base / f"s{k:02d}.jsonl", "w") for k in range(64)]
    sthumbs = [open(base / f"t{k:02d}.jsonl", "w") for k in range(64)]
    with open(out / "labels.jsonl") as labels, open(out / "spectrograms.jsonl") as thumbs:
        for line, tline in zip(labels, thumbs):
            path = json.loads(line)["path"]
            k = fnv1a(os.path.relpath(path, lib)) % 64
            shards[k].write(line)
            sthumbs[k].write(tline)
    for k in range(64):
        shards[k].close()
        sthumbs[k].close()
        sd = base / "shards" / f"shard-{k}"
        sd.mkdir(parents=True)
        (base / f"s{k:02d}.jsonl").rename(sd / "labels.jsonl")
        (base / f"t{k:02d}.jsonl").rename(sd / "spectrograms.jsonl")
    stamp.write_text("ok\n")
    return lib, out


def rng_sample(k: int) -> int:
    """Half a second of noise, the same every time."""
    return ((k * 1103515245 + 12345) >> 8) % 8000 - 4000


def timed(cmd: list[str]) -> tuple[float, int, int]:
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.monotonic() - t
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr[-2000:]}")
    return wall, rss, p.returncode


def chromium_check(n: int, out: Path) -> None:
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium")
    profile = out.parent / "chromium-profile"

    def dump(url: str) -> tuple[str, float]:
        t = time.monotonic()
        p = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--virtual-time-budget=30000", f"--user-data-dir={profile}", "--dump-dom", url],
                           capture_output=True, text=True)
        return p.stdout, time.monotonic() - t

    dom, wall = dump(f"file://{out}/report.html")
    ready = re.search(r'data-ready="(\d+)"', dom)
    print(f"| {n:,} | report.html in Chromium: script done at | {int(ready.group(1)) / 1000 if ready else float('nan'):.3f} "
          f"(whole headless run {wall:.1f} s) | | |", flush=True)
    dom, wall = dump(f"file://{out}/report.html#label=rain")
    found = re.search(r'data-matches="rain:(\d+)"', dom)
    got = int(found.group(1)) if found else -1
    # Every synthetic record says rain; the 10 files made real WAVs were tagged for what they are.
    want = 0
    with open(out / "labels.jsonl") as f:
        for line in f:
            r = json.loads(line)
            want += r.get("ambience") == "rain" or any(l["label"] == "rain" for l in r.get("labels", []))
    print(f"| {n:,} | report.html#label=rain: files found | {got:,} of {want:,} with rain, {n:,} in all "
          f"(headless run {wall:.1f} s) | | |", flush=True)
    if got != want:
        sys.exit(f"the label filter found {got} of {want} files with rain")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--work", default="/tmp/rt-scale")
    ap.add_argument("--roomtone", default="target/release/roomtone")
    ap.add_argument("--chromium", action="store_true")
    a = ap.parse_args()
    rt = str(Path(a.roomtone).resolve())
    print("| files | step | wall s | peak RSS MB | report.html KB |")
    print("|---:|---|---:|---:|---:|")
    for n in [int(x) for x in a.sizes.split(",")]:
        base = Path(a.work) / str(n)
        t = time.monotonic()
        lib, out = make(n, base)
        made = time.monotonic() - t
        print(f"<!-- {n}: library and records made in {made:.1f} s -->", file=sys.stderr)
        batch = [rt, "batch", str(lib), "--out", str(out), "--resume", "--quiet"]
        for step in ["resume, outputs written", "resume, nothing to do", "resume, 10 files changed"]:
            if step.startswith("resume, 10"):
                for i in range(0, n, n // 10):
                    p = lib / f"d{i // 1000:04d}" / f"f{i:07d}.wav"
                    with wave.open(str(p), "wb") as w:
                        w.setnchannels(1)
                        w.setsampwidth(2)
                        w.setframerate(16000)
                        w.writeframes(b"".join(struct.pack("<h", rng_sample(k)) for k in range(8000)))
            before = (out / "labels.csv").stat().st_mtime_ns if (out / "labels.csv").exists() else None
            wall, rss, _ = timed(batch)
            after = (out / "labels.csv").stat().st_mtime_ns
            report = (out / "report.html").stat().st_size / 1e3
            note = " (outputs untouched)" if before == after else ""
            print(f"| {n:,} | {step}{note} | {wall:.2f} | {rss / 1024:.0f} | {report:.1f} |", flush=True)
        if a.chromium:
            chromium_check(n, out)
        merged = base / "merged"
        shutil.rmtree(merged, ignore_errors=True)
        shards = sorted(str(p) for p in (base / "shards").iterdir())
        wall, rss, _ = timed([rt, "merge", *shards, "--out", str(merged)])
        report = (merged / "report.html").stat().st_size / 1e3
        print(f"| {n:,} | merge of 64 shards | {wall:.2f} | {rss / 1024:.0f} | {report:.1f} |", flush=True)


if __name__ == "__main__":
    main()
