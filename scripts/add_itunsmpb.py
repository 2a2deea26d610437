#!/usr/bin/env python3
"""Add an iTunes gapless tag (iTunSMPB) to an MP4/M4A file whose `moov` comes after its media data
(ffmpeg's default layout), as iTunes-family encoders write it, for the decoding tests.

    python3 scripts/add_itunsmpb.py IN.m4a OUT.m4a PRIMING PADDING FRAMES

Appends `moov/udta/meta/ilst/----` (mean "com.apple.iTunes", name "iTunSMPB", data
" 00000000 PPPPPPPP QQQQQQQQ LLLLLLLLLLLLLLLL"), creating `udta`, `meta` and `ilst` if missing, and
grows the sizes of the boxes around it. Chunk offsets stay valid because nothing before `moov`
moves. Standard library only.
"""
import struct
import sys


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def children(b: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", b[pos:pos + 8])
        if size < 8 or pos + size > end:
            sys.exit(f"damaged box {kind!r} at {pos}")
        yield kind, pos, size
        pos += size


def main() -> None:
    src, dst, priming, padding, frames = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    b = open(src, "rb").read()
    value = f" 00000000 {priming:08X} {padding:08X} {frames:016X}".encode()
    tag = box(b"----", box(b"mean", b"\0\0\0\0com.apple.iTunes") + box(b"name", b"\0\0\0\0iTunSMPB")
              + box(b"data", struct.pack(">II", 1, 0) + value))
    top = {k: (p, s) for k, p, s in children(b, 0, len(b))}
    if "moov".encode() not in top:
        sys.exit("no moov box")
    mp, ms = top[b"moov"]
    if any(p > mp for k, (p, s) in top.items() if k == b"mdat"):
        sys.exit("moov comes before mdat: offsets would move")
    moov = b[mp:mp + ms]
    # The path to ilst: (kind, header length) from moov down; created where missing.
    def grow(container: bytes, path):
        kind, *rest = path
        header = 12 if kind == b"meta" else 8
        inner = [(k, p, s) for k, p, s in children(container, 8 + (4 if container[4:8] == b"meta" else 0), len(container))]
        for k, p, s in inner:
            if k == kind:
                child = container[p:p + s]
                new = grow(child, rest) if rest else child + tag
                new = struct.pack(">I", len(new)) + new[4:]
                out = container[:p] + new + container[p + s:]
                return struct.pack(">I", len(out)) + out[4:]
        # Missing: make it (meta gets version/flags and a handler, as iTunes writes it).
        if kind == b"meta":
            hdlr = box(b"hdlr", b"\0" * 8 + b"mdirappl" + b"\0" * 9)
            made = box(b"meta", b"\0\0\0\0" + hdlr)
        else:
            made = box(kind, b"")
        made = grow(made, rest) if rest else made + tag
        made = struct.pack(">I", len(made)) + made[4:]
        out = container + made
        return struct.pack(">I", len(out)) + out[4:]

    new_moov = grow(moov, [b"udta", b"meta", b"ilst"])
    open(dst, "wb").write(b[:mp] + new_moov + b[mp + ms:])


if __name__ == "__main__":
    main()
