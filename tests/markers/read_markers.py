#!/usr/bin/env python3
"""Reads a roomtone marker export back with OpenTimelineIO and prints one JSON object.

    PYTHONPATH=target/otio-py python3 tests/markers/read_markers.py FILE [--rate 30000/1001]

{"format", "rate", "clip_start_frame", "markers": [{"name", "start_frame", "duration_frames",
"rate", "colour", "comment"}], "resolve_markers": [...] (EDL only)}

Every time is in ABSOLUTE source-timecode frames at the clip's true rate (frames since
00:00:00:00), whatever each adapter's convention, so the same markers compare equal across
formats:

- otio_json: marked_range is in the clip's media time (absolute) already.
- cmx_3600 (.edl): markers come from `* LOC:` lines in media time; the adapter reads a LOC
  timecode only with `:` separators and then counts it as non-drop, so under
  `FCM: DROP FRAME` the label is re-read as drop frame. The EDL does not carry its rate:
  pass --rate (as OTIO's own read_from_file(rate=...) needs). Resolve's marker events (track V,
  `|C:... |M:... |D:...` comment lines) are also returned, as `resolve_markers`, at the
  record timecode less the clip event's record in plus the clip's start.
- fcpx_xml (.fcpxml): the adapter truncates the rate to an integer (29 for 29.97) and frames
  to whole ones at it; times are taken as seconds and rounded at the rate of the file's
  format frameDuration (read from the XML: the adapter does not keep it). Within one frame.
- fcp_xml (.xml): clipitem marker in/out are frames from the media's first frame, the
  adapter keeps them so; the file's start timecode (available_range start) is added.
- csv (.csv): read with the csv module, timecodes with opentime.from_timecode at the `fps`
  column's rate.
"""

import argparse
import csv
import json
import re
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction

import opentimelineio as otio

ot = otio.opentime


def parse_rate(text):
    """'25', '29.97df', '23.976', '30000/1001' -> float rate as OTIO wants it (30000/1001)."""
    t = text.strip().lower()
    t = re.sub(r"\s*n?df$", "", t)
    if "/" in t:
        n, d = t.split("/")
        return int(n) / int(d)
    f = float(t)
    for num in (24000, 30000, 48000, 60000, 120000):
        if abs(f - num / 1001) < 0.006:
            return num / 1001
    return float(round(f)) if abs(f - round(f)) < 1e-3 else f


def frames(rt, rate):
    """A RationalTime as whole frames at `rate`."""
    return int(round(rt.to_seconds() * rate))


def marker_record(m, rate, offset=0):
    return {
        "name": m.name,
        "start_frame": frames(m.marked_range.start_time, rate) + offset,
        "duration_frames": frames(m.marked_range.duration, rate),
        "rate": rate,
        "colour": m.color,
        "comment": getattr(m, "comment", "") or None,
    }


def only_clip(timeline, track_name=None):
    clips = []
    for track in timeline.tracks:
        if track_name is not None and track.name != track_name:
            continue
        clips += [c for c in track if isinstance(c, otio.schema.Clip)]
    if len(clips) != 1:
        raise SystemExit(f"expected one clip, found {len(clips)}")
    return clips[0]


def read_otio(path):
    tl = otio.adapters.read_from_file(path)
    clip = only_clip(tl)
    rate = clip.source_range.start_time.rate
    return {
        "format": "otio_json",
        "rate": rate,
        "clip_start_frame": frames(clip.source_range.start_time, rate),
        "markers": [marker_record(m, rate) for m in clip.markers],
    }


RESOLVE_LINE = re.compile(
    r"^(?P<note>.*?)\s*\|C:ResolveColor(?P<colour>\w+)\s*\|M:(?P<name>.*?)\s*\|D:(?P<dur>\d+)\s*$"
)


def read_edl(path, rate):
    if rate is None:
        raise SystemExit("an EDL does not carry its rate: pass --rate")
    text = open(path, encoding="utf-8").read()
    drop = "FCM: DROP FRAME" in text
    tl = otio.adapters.read_from_file(path, rate=rate)
    a1 = next(t for t in tl.tracks if t.name == "A1")
    clip = only_clip(tl, "A1")
    start = frames(clip.source_range.start_time, rate)
    markers = []
    for m in clip.markers:
        rec = marker_record(m, rate)
        if drop:
            # The adapter read the `:` label as non-drop: read the same digits as drop frame.
            label = ot.to_timecode(m.marked_range.start_time, rate, False)
            label = label[:8] + ";" + label[9:]
            rec["start_frame"] = frames(ot.from_timecode(label, rate), rate)
        markers.append(rec)
    # Resolve's marker events: one-frame clips on track V, with the marker in a comment.
    record_in = -frames(a1.source_range.start_time, rate)
    resolve = []
    for track in tl.tracks:
        if track.name != "V":
            continue
        for c in track:
            if not isinstance(c, otio.schema.Clip):
                continue
            for comment in c.metadata.get("cmx_3600", {}).get("comments", []):
                m = RESOLVE_LINE.match(comment)
                if m:
                    resolve.append({
                        "name": m["name"],
                        "start_frame": frames(c.source_range.start_time, rate) - record_in + start,
                        "duration_frames": int(m["dur"]),
                        "rate": rate,
                        "colour": m["colour"],
                        "comment": m["note"] or None,
                    })
    return {
        "format": "cmx_3600",
        "rate": rate,
        "clip_start_frame": start,
        "record_in_frame": record_in,
        "markers": markers,
        "resolve_markers": resolve,
    }


def read_fcpx(path):
    fd = ET.parse(path).getroot().find("./resources/format").get("frameDuration")
    rate = float(1 / Fraction(fd.rstrip("s")))
    result = otio.adapters.read_from_file(path, adapter_name="fcpx_xml")
    timelines = list(result) if isinstance(result, otio.schema.SerializableCollection) else [result]
    if len(timelines) != 1:
        raise SystemExit(f"expected one project, found {len(timelines)}")
    clip = only_clip(timelines[0])
    return {
        "format": "fcpx_xml",
        "rate": rate,
        "clip_start_frame": frames(clip.source_range.start_time, rate),
        "markers": [marker_record(m, rate) for m in clip.markers],
    }


def read_fcp7(path):
    tl = otio.adapters.read_from_file(path, adapter_name="fcp_xml")
    clip = only_clip(tl)
    rate = clip.source_range.start_time.rate
    media_start = frames(clip.media_reference.available_range.start_time, rate)
    markers = []
    for m in clip.markers:
        rec = marker_record(m, rate, offset=media_start)
        comment = m.metadata.get("fcp_xml", {}).get("comment")
        rec["comment"] = comment or rec["comment"]
        markers.append(rec)
    return {
        "format": "fcp_xml",
        "rate": rate,
        "clip_start_frame": frames(clip.source_range.start_time, rate),
        "media_start_frame": media_start,
        "markers": markers,
    }


def read_csv(path, rate_arg):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    header = ["name", "start", "duration", "colour", "comment"]
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip().split(",")
    if first[: len(header)] != header:
        raise SystemExit(f"csv header {first} does not start with {header}")
    rate = parse_rate(rows[0]["fps"]) if rows else rate_arg

    def cell(text):
        # Cells spreadsheet-defused with a leading quote read back without it.
        return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@") else text

    markers = [
        {
            "name": cell(r["name"]),
            "start_frame": frames(ot.from_timecode(r["start"], rate), rate),
            "duration_frames": frames(ot.from_timecode(r["duration"], rate), rate),
            "rate": rate,
            "colour": r["colour"],
            "comment": cell(r["comment"]) or None,
        }
        for r in rows
    ]
    return {"format": "csv", "rate": rate, "clip_start_frame": None, "markers": markers}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--rate", help="frame rate (needed for .edl): 25, 29.97, 30000/1001 ...")
    args = ap.parse_args()
    rate = parse_rate(args.rate) if args.rate else None
    ext = args.file.rsplit(".", 1)[-1].lower()
    if ext == "otio":
        out = read_otio(args.file)
    elif ext == "edl":
        out = read_edl(args.file, rate)
    elif ext == "fcpxml":
        out = read_fcpx(args.file)
    elif ext == "xml":
        out = read_fcp7(args.file)
    elif ext == "csv":
        out = read_csv(args.file, rate)
    else:
        raise SystemExit(f"unknown extension .{ext}")
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
