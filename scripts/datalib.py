"""Shared helpers of the data builders (make_vad_set.py, make_tagset.py): standard library only.

Fetching: `apt-get download PKG=VERSION` into --debs unless the .deb is there, sha256 of the .deb
checked, `dpkg -x` once into --work with a `.PKG.done` stamp (or an already unpacked DIR/PKG tree);
every recording's own sha256 checked, read from the unpacked tree, from a zip archive (0 A.D.'s
public.zip, UFO:AI's 0snd.pk3, OpenArena's pak0.pk3: `zipfile`) or from OpenTTD's OpenSFX `.cat`
container (member "#N": entry N). Decoding and resampling with ffmpeg. The speech rules (frames,
active level, spans) are the ones make_vad_set.py documents.
"""
import array
import hashlib
import math
import operator
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FRAME_S = 0.01
ACTIVE_DB = 40.0
MERGE_GAP_S = 0.5
LOOP_FADE_S = 0.25
CLIP_FADE_S = 0.005
FULL = 1.0  # samples are floats, full scale 1.0; written as 16-bit PCM by ffmpeg


# ---------------------------------------------------------------- fetching (as make_devset.py)

def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def deb_path(debs, pkg, version):
    """The .deb of PKG=VERSION in `debs` as apt-get names it (epoch ':' as '%3a', any architecture)."""
    found = sorted(debs.glob(f"{pkg}_{version.replace(':', '%3a')}_*.deb"))
    return found[0] if found else None


def package_roots(packages, debs, work, unpacked):
    """Package -> folder that holds its unpacked tree; fetches and unpacks what is missing.
    `packages`: name -> (version, sha256 of the .deb)."""
    roots = {}
    for pkg, (version, digest) in packages.items():
        if unpacked is not None and (unpacked / pkg / "usr").is_dir():
            roots[pkg] = unpacked / pkg
            continue
        stamp = work / f".{pkg}.done"
        if not stamp.exists():
            debs.mkdir(parents=True, exist_ok=True)
            deb = deb_path(debs, pkg, version)
            if deb is None:
                print(f"apt-get download {pkg}={version}", file=sys.stderr)
                subprocess.run(["apt-get", "download", f"{pkg}={version}"], cwd=debs, check=True)
                deb = deb_path(debs, pkg, version)
            if sha256_file(deb) != digest:
                sys.exit(f"{deb}: sha256 mismatch (want {digest})")
            print(f"dpkg -x {deb.name}", file=sys.stderr)
            work.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg", "-x", str(deb), str(work)], check=True)
            stamp.touch()
        roots[pkg] = work
    return roots


def cat_entry(data, member):
    """Entry "#N" of an OpenTTD sound container (.cat): a table of (offset, size) pairs, each entry
    a 1-byte name length, the name (title, author, licence) and a RIFF WAV."""
    i = int(member.lstrip("#"))
    off, size = struct.unpack_from("<II", data, i * 8)
    off &= 0x7FFFFFFF
    nl = data[off]
    return data[off + 1 + nl: off + size]


def cat_name(data, member):
    i = int(member.lstrip("#"))
    off = struct.unpack_from("<I", data, i * 8)[0] & 0x7FFFFFFF
    return data[off + 1: off + 1 + data[off]].rstrip(b"\0").decode("latin1")


def recording_bytes(roots, work, pkg, path, member, digest, extracted=None):
    """Bytes of a file of a package (or of a member of an archive in it), sha256-checked.
    `extracted`: (package, archive) -> folders where members were already extracted."""
    root = roots[pkg]
    if member is None:
        data = (root / path).read_bytes()
    elif path.endswith(".cat"):
        data = cat_entry((root / path).read_bytes(), member)
    else:
        data = None
        for d in (extracted or {}).get((pkg, path), []):
            p = Path(d.format(root=root, work=work)) / member
            if p.exists():
                data = p.read_bytes()
                if sha256_bytes(data) == digest:
                    break
                data = None
        if data is None:
            with zipfile.ZipFile(root / path) as z:
                data = z.read(member)
    if sha256_bytes(data) != digest:
        sys.exit(f"{pkg}:{path}:{member or ''}: sha256 mismatch (want {digest})")
    return data


# ---------------------------------------------------------------- audio helpers (pure Python)

def decode(src, rate, channels):
    """Decode a file path or bytes with ffmpeg to `channels` float arrays (full scale = 1.0)."""
    piped = isinstance(src, (bytes, bytearray))
    cmd = ["ffmpeg", "-v", "error", "-i", "pipe:0" if piped else str(src),
           "-f", "f64le", "-acodec", "pcm_f64le", "-ac", str(channels), "-ar", str(rate), "-"]
    r = subprocess.run(cmd, input=src if piped else None, stdin=None if piped else subprocess.DEVNULL,
                       capture_output=True, check=True)
    a = array.array("d")
    a.frombytes(r.stdout[: len(r.stdout) // 8 * 8])
    if sys.byteorder == "big":
        a.byteswap()
    return [a] if channels == 1 else [a[c::channels] for c in range(channels)]


def decode_many(paths, rate, batch=40):
    """Decode many files to mono float arrays at `rate`, with one ffmpeg process per `batch` files."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for b0 in range(0, len(paths), batch):
            part = paths[b0:b0 + batch]
            cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
            for p in part:
                cmd += ["-i", str(p)]
            for i in range(len(part)):
                cmd += ["-map", f"{i}:a:0", "-ac", "1", "-ar", str(rate), "-f", "f64le", "-acodec", "pcm_f64le",
                        f"{tmp}/{i}.raw"]
            subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
            for i in range(len(part)):
                a = array.array("d")
                raw = Path(f"{tmp}/{i}.raw").read_bytes()
                a.frombytes(raw[: len(raw) // 8 * 8])
                if sys.byteorder == "big":
                    a.byteswap()
                out.append(a)
    return out


def power(x):
    return sum(map(operator.mul, x, x)) / max(1, len(x))


def power_ch(chs):
    return sum(power(c) for c in chs) / len(chs)


def db(p):
    return 10 * math.log10(max(p, 1e-30))


def loop_to(chs, n, rng, fade_n):
    """`n` samples from a random start; sources shorter than `n` are looped with linear crossfades."""
    length = len(chs[0])
    if length >= n:
        s = rng.randrange(0, length - n + 1)
        return [list(c[s:s + n]) for c in chs], s
    f = min(fade_n, length // 4)
    start = rng.randrange(0, length)
    out = []
    for c in chs:
        seq = list(c[start:]) + list(c[:start])  # rotate so the loop starts at a random point
        o = list(seq)
        while len(o) < n:
            if f:
                tail = o[-f:]
                head = seq[:f]
                o[-f:] = [t * (1 - (i + 0.5) / f) + h * ((i + 0.5) / f) for i, (t, h) in enumerate(zip(tail, head))]
            o.extend(seq[f:])
        out.append(o[:n])
    return out, start


def frame_energies(x, rate):
    fl = int(round(rate * FRAME_S))
    return [power(x[i:i + fl]) for i in range(0, len(x) - fl + 1, fl)], fl


def utterance_spans(x, rate):
    """Active spans (sample indices) of a clean utterance, and the mean power of its active frames."""
    e, fl = frame_energies(x, rate)
    if not e or max(e) <= 0:
        return [], 0.0, 0
    thr = max(e) * 10 ** (-ACTIVE_DB / 10)
    act = [i for i, v in enumerate(e) if v > thr]
    bridge = int(round(MERGE_GAP_S / FRAME_S))
    spans, a, b = [], act[0], act[0]
    for i in act[1:]:
        if i - b - 1 >= bridge:
            spans.append((a * fl, (b + 1) * fl))
            a = i
        b = i
    spans.append((a * fl, (b + 1) * fl))
    return spans, sum(e[i] for i in act) / len(act), len(act)


def merge(spans, gap):
    out = []
    for s, e in sorted(spans):
        if out and s - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def ogg_seconds(path):
    """Duration of an Ogg Vorbis file from its headers (no decoding); None when unsure."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read()
        j = head.find(b"\x01vorbis")
        i = tail.rfind(b"OggS")
        if j < 0 or i < 0:
            return None
        rate = int.from_bytes(head[j + 12:j + 16], "little")
        gran = int.from_bytes(tail[i + 6:i + 14], "little")
        return gran / rate if rate > 0 else None
    except OSError:
        return None


def write_wav(path, chs, rate):
    """16-bit PCM WAV through ffmpeg (float -> int16 with rounding and clipping, no dither)."""
    n, k = len(chs[0]), len(chs)
    a = array.array("d", bytes(8 * n * k))
    for c, x in enumerate(chs):
        a[c::k] = array.array("d", x)
    if sys.byteorder == "big":
        a.byteswap()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "f64le", "-ar", str(rate), "-ac", str(k), "-i", "pipe:0",
                    "-c:a", "pcm_s16le", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1",
                    str(path)], input=a.tobytes(), check=True, capture_output=True)
