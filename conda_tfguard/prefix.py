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
import tempfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Iterable, Optional

from .errors import SpecError
from .packages import PIP_CHANNEL, PackageView, classify_channel, parse_request

__all__ = ["PrefixContents", "owned_dist_dirs", "pip_views", "read_pinned", "read_prefix", "write_pinned"]

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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
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
    return _normalize(name), version.strip()


def _normalize(name: str) -> str:
    """PEP 503 normalisation, which is also how conda spells these packages."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


# --------------------------------------------------------------------------- pinned
def read_pinned(prefix: os.PathLike | str) -> list[str]:
    """The lines of ``conda-meta/pinned`` (empty when there is none)."""
    path = Path(prefix) / "conda-meta" / "pinned"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {_short(exc)}") from None
    lines = text.splitlines()
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and parse_request(stripped) is None:
            log.warning("tfguard: %s has a line conda may not read: %r", path, stripped[:80])
    return lines


def write_pinned(prefix: os.PathLike | str, lines: list[str]) -> Path:
    """Replace ``conda-meta/pinned`` atomically: the old file stays whole on any failure."""
    meta = Path(prefix) / "conda-meta"
    target = meta / "pinned"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".pinned-", dir=meta)
    except OSError as exc:
        raise SpecError(f"cannot write {target}: {exc.strerror or _short(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise SpecError(f"cannot write {target}: {exc.strerror or _short(exc)}") from None
    return target
