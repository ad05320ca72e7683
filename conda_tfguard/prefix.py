"""Probe: what a conda prefix holds, read from disk with no conda needed.

conda records come from ``conda-meta/*.json``; pip-installed distributions are the
``*.dist-info`` / ``*.egg-info`` in site-packages that no conda record owns. A record
that cannot be read is skipped with a logged warning; a prefix that is not a conda
environment is a :class:`SpecError` with a one-line message.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from .errors import SpecError
from .versions import conda_spec_contains
from .packages import PIP_CHANNEL, PackageView, classify_channel, normalize_name
from .specs import parse_request

__all__ = ["Pinned", "PrefixContents", "append_pins", "owned_dist_dirs", "pip_views", "read_pinned", "read_prefix"]

log = logging.getLogger("conda.conda_tfguard.prefix")

_DIST = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)\.(dist-info|egg-info)$")


@dataclass(frozen=True)
class PrefixContents:
    prefix: str
    conda: tuple[PackageView, ...]
    pip: tuple[PackageView, ...]
    skipped: tuple[str, ...] = ()

    @property
    def views(self) -> tuple[PackageView, ...]:
        return self.conda + self.pip


def read_prefix(prefix: os.PathLike | str) -> PrefixContents:
    """Read a prefix's conda records and pip distributions."""
    root = Path(prefix).expanduser()
    if not root.exists():
        raise SpecError(f"prefix {root} does not exist")
    meta = root / "conda-meta"
    if not meta.is_dir():
        raise SpecError(f"{root} is not a conda environment (it has no conda-meta directory)")
    conda, files, skipped = [], [], []
    for path in sorted(meta.glob("*.json")):
        record = _read_record(path)
        if record is None:
            skipped.append(path.name)
            continue
        view, record_files = record
        conda.append(view)
        files.extend(record_files)
    pip = tuple(pip_views(root, owned_dist_dirs(files)))
    return PrefixContents(str(root), tuple(conda), pip, tuple(skipped))


def _read_record(path: Path) -> Optional[tuple[PackageView, list]]:
    if not path.is_file():  # a FIFO or device here would hang or flood us
        log.warning("tfguard: skipping %s: not a regular file", path)
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        log.warning("tfguard: skipping %s: not a readable conda record (%s)", path, _short(exc))
        return None
    if not isinstance(data, dict):
        log.warning("tfguard: skipping %s: not a conda record (a JSON object was expected)", path)
        return None
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        log.warning("tfguard: skipping %s: the record has no name or version", path)
        return None
    depends = data.get("depends")
    depends = tuple(d for d in depends if isinstance(d, str)) if isinstance(depends, list) else ()
    build = data.get("build") or data.get("build_string") or ""
    view = PackageView(
        name=name,
        version=version,
        build=build if isinstance(build, str) else "",
        channel=classify_channel(_text(data.get("channel")), _text(data.get("url"))),
        subdir=_text(data.get("subdir")),
        depends=depends,
    )
    files = data.get("files")
    return view, files if isinstance(files, list) else []


def owned_dist_dirs(files: Iterable[object]) -> set[str]:
    """The ``*.dist-info`` / ``*.egg-info`` directory names that conda records own."""
    owned = set()
    for entry in files:
        if isinstance(entry, str) and "-info/" in entry:
            owned.add(entry.split("-info/", 1)[0].rsplit("/", 1)[-1] + "-info")
    return owned


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _site_packages(root: Path) -> Iterable[Path]:
    yield from sorted(root.glob("lib/python*/site-packages"))
    win = root / "Lib" / "site-packages"
    if win.is_dir():
        yield win


def pip_views(root: Path, owned: set[str]) -> Iterable[PackageView]:
    """Distributions in site-packages that no conda record owns: pip put them there."""
    for site in _site_packages(root):
        try:
            entries = sorted(site.iterdir())
        except OSError:
            continue
        for entry in entries:
            match = _DIST.match(entry.name)
            if not match or entry.name in owned:
                continue
            name, version = _dist_identity(entry, match)
            if name:
                yield PackageView(name=name, version=version, channel=PIP_CHANNEL)


def _dist_identity(entry: Path, match: re.Match) -> tuple[str, str]:
    """Name and version from METADATA / PKG-INFO, else from the directory name."""
    from email.parser import HeaderParser

    name, version = match.group("name"), match.group("version")
    for meta in ("METADATA", "PKG-INFO"):
        path = entry / meta if entry.is_dir() else None
        if path is None or not path.is_file():
            continue
        try:
            headers = HeaderParser().parsestr(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            break
        name = headers.get("Name") or name
        version = headers.get("Version") or version
        break
    return normalize_name(name), version.strip()


# --------------------------------------------------------------------------- pinned
@dataclass(frozen=True)
class Pinned:
    """``conda-meta/pinned`` as it is: its bytes (kept as they are) and the names it pins."""

    path: Path
    data: bytes
    names: frozenset[str]

    @property
    def newline(self) -> bytes:
        return b"\r\n" if b"\r\n" in self.data else b"\n"


def read_pinned(prefix: os.PathLike | str) -> Pinned:
    """Read ``conda-meta/pinned``; lines conda may not read are named in a warning."""
    path = Path(prefix) / "conda-meta" / "pinned"
    try:
        data = path.read_bytes() if path.exists() else b""
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or _short(exc)}") from None
    names = set()
    for raw in data.split(b"\n"):
        line = raw.decode("utf-8", "replace").strip()
        if not line or line.startswith("#"):
            continue
        request = parse_request(line)
        if request is None or not _readable_version(request.version):
            log.warning("tfguard: %s has a line conda may not read: %r", path, line[:80])
            continue
        names.add(request.name)
    return Pinned(path, data, frozenset(names))


def _readable_version(version: str) -> bool:
    return version in ("", "*") or conda_spec_contains(version, "0") is not None


def append_pins(pinned: Pinned, pins: list[str]) -> Path:
    """Append ``pins`` to ``conda-meta/pinned`` atomically, keeping every byte already there."""
    newline = pinned.newline
    data = pinned.data
    if data and not data.endswith(b"\n"):
        data += newline
    data += b"".join(p.encode("utf-8") + newline for p in pins)
    return _replace(pinned.path, data)


def _replace(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` through a temporary file: the old file stays whole on any failure."""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=".pinned-", dir=target.parent)
    except OSError as exc:
        raise SpecError(f"cannot write {target}: {exc.strerror or _short(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise SpecError(f"cannot write {target}: {exc.strerror or _short(exc)}") from None
    return target
