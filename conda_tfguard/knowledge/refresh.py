"""``python -m conda_tfguard.knowledge refresh``: regenerate the upstream facts from PyPI.

One command rewrites ``pypi-tensorflow.yaml``: for every final TensorFlow release on PyPI,
the CPython versions with a Linux x86_64 wheel, the Requires-Dist of the packages that
``packages.yaml`` judges, the release date, the tf-keras line that declares it fits, and
the newest tensorflow / keras / tf-keras. It prints a unified diff against the file it
replaces, then writes it (``--check``: writes nothing, exits 1 when the facts changed).
Hand-written facts (``breaks``, ``gpu``, channel builds) live in other files and are
never touched.

What is read, and how (all of it public PyPI, nothing installed):

* the project's file list from the simple API, PEP 691 JSON
  (``https://pypi.org/simple/<name>/``): file names (wheel tags), ``upload-time``,
  ``yanked``, and whether PEP 658 metadata is served;
* one wheel's METADATA per release: the PEP 658 ``<wheel url>.metadata`` file when the
  index advertises it, else the ``*.dist-info/METADATA`` member read out of the wheel with
  HTTP range requests: the zip's last 64 KiB, the central directory when METADATA's entry
  is not in them (~1.2 MB for a TensorFlow wheel), then that one member; never the
  ~500 MB wheel (a full refresh reads ~65 MB).

The rules that turn that into facts (each is the one the hand-written files used):

* releases: final versions only (no pre-releases; ``2.15.0.post1`` is final); yanked
  files are ignored;
* ``python.supported``: the CPython versions with a Linux x86_64 wheel (``manylinux*`` /
  ``linux`` ``_x86_64`` platform tags; ``cp27mu`` counts as 2.7), the reference platform;
* ``requires``: the Requires-Dist of the Linux x86_64 wheel for the newest CPython of the
  release, for the judged packages only, specifiers reordered lowest bound first
  (``>=a,!=b,<c``; the version text as written). Markers are evaluated for Linux x86_64,
  no extras, and the *oldest* CPython of the release: where the wheel declares
  ``python_version`` branches (numpy in 2.16/2.17), the branch of the oldest supported
  Python is recorded (``numpy >=1.23.5,<2.0.0`` for 2.16, not the ``>=1.26.0`` of 3.12);
  platform-only variants (``tensorflow-intel`` on Windows) fall away;
* ``requires.tf-keras``: TensorFlow does not declare it; a tf-keras release whose
  Requires-Dist on tensorflow admits a TensorFlow release makes that release require
  its tf-keras line (``>=2.15,<2.16``), cited to the first tf-keras release declaring it;
* ``released``: the UTC date of the earliest file of ``X.Y.0`` (a line without a final
  ``X.Y.0``, like 2.16, has none);
* one ``releases:`` entry per line holds the facts of its first final release; a
  ``patches:`` entry (``>=X.Y.Z`` or ``>=X.Y.Z,<X.Y.W``) where a later release differs.

``--record DIR`` saves each response it used (``DIR/simple/<name>.json`` and
``DIR/metadata/<wheel>.metadata``); ``--offline DIR`` replays such a directory, and a
response that is not there is a one-line error. Every failure is one line and exit 2.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import email.parser
import io
import json
import os
import re
import socket
import struct
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import Specifier
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..errors import TfguardError

__all__ = ["RefreshError", "generate", "main"]

SIMPLE_URL = "https://pypi.org/simple/{name}/"
PROJECT_URL = "https://pypi.org/project/{name}/"
RELEASE_URL = "https://pypi.org/project/{name}/{version}/"
GENERATED = "pypi-tensorflow.yaml"
COMMAND = "python -m conda_tfguard.knowledge refresh"
RECORDED_ON = "recorded-on.txt"  # in a --record directory: the date of the recording

_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_USER_AGENT = "conda-tfguard-refresh (+https://github.com/conda-incubator)"
_TIMEOUT = 60
_MAX_BODY = 32 * 1024 * 1024  # a simple-API page or a slice of a wheel; never a whole wheel
_TAIL = 64 * 1024
_LINUX_X86_64 = re.compile(r"^(many)?linux[0-9a-z_]*_x86_64$")
_CPYTHON = re.compile(r"^cp([0-9])([0-9]+)$")


class RefreshError(TfguardError):
    """Anything that stops a refresh: ``str(error)`` is the one line to print."""


# --------------------------------------------------------------------------- reading PyPI
class _Pypi:
    """The two kinds of response the refresh reads, from the network, or replayed."""

    def __init__(self, offline: Optional[Path] = None, record: Optional[Path] = None) -> None:
        self.offline = offline
        self.record = record

    def project(self, name: str) -> dict:
        """The PEP 691 JSON project page: ``{"files": [...], "versions": [...]}``."""
        url = SIMPLE_URL.format(name=name)
        where = Path("simple") / f"{name}.json"
        body = self._replay(url, where) if self.offline else self._get(url, accept=_SIMPLE_JSON)
        try:
            page = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RefreshError(f"{url}: not a PEP 691 JSON project page ({_first_line(exc)})") from None
        if (
            not isinstance(page, dict)
            or not isinstance(page.get("files"), list)
            or not all(isinstance(f, dict) and isinstance(f.get("filename"), str) for f in page["files"])
        ):
            raise RefreshError(f"{url}: not a PEP 691 JSON project page (no `files` list of file entries)")
        self._save(where, body)
        return page

    def metadata(self, file: dict) -> str:
        """One wheel's METADATA text (PEP 658, else read out of the wheel by byte ranges)."""
        filename, url = file["filename"], str(file.get("url", ""))
        where = Path("metadata") / f"{filename}.metadata"
        if self.offline:
            body = self._replay(f"{url}.metadata", where)
        elif file.get("core-metadata") or file.get("data-dist-info-metadata"):
            body = self._get(f"{url}.metadata")
        else:
            body = self._metadata_by_range(url, filename, file.get("size"))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RefreshError(f"{filename}: its METADATA is not UTF-8 text") from None
        self._save(where, body)
        return text

    # -- network
    def _get(self, url: str, accept: Optional[str] = None, byte_range: Optional[tuple[int, int]] = None) -> bytes:
        headers = {"User-Agent": _USER_AGENT}
        if accept:
            headers["Accept"] = accept
        if byte_range:
            headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        try:
            request = urllib.request.Request(url, headers=headers)
        except ValueError:
            raise RefreshError(f"{url!r} is not an http(s) URL") from None
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                if byte_range and response.status != 206:
                    raise RefreshError(f"{url}: the server ignored the byte-range request (HTTP {response.status})")
                body = response.read(_MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            raise RefreshError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise RefreshError(f"{url}: cannot reach the index ({_first_line(exc.reason)})") from None
        except (OSError, HTTPException, socket.timeout) as exc:
            raise RefreshError(f"{url}: network error ({_first_line(exc)})") from None
        if len(body) > _MAX_BODY:
            raise RefreshError(f"{url}: response is over {_MAX_BODY // (1024 * 1024)} MiB")
        return body

    def _metadata_by_range(self, url: str, filename: str, size: Any) -> bytes:
        """``*.dist-info/METADATA`` out of a remote wheel: its zip tail, then that one member."""
        if not isinstance(size, int) or size < 22:
            size = self._size(url)
        start = max(0, size - _TAIL)
        tail = self._get(url, byte_range=(start, size - 1))
        cd_offset, cd_size = _central_directory(tail, filename)
        if cd_offset >= start:
            directory = tail[cd_offset - start: cd_offset - start + cd_size]
        else:
            # dist-info comes last in a wheel: its entries are usually in the tail already
            member = _find_metadata(tail[: max(0, cd_offset + cd_size - start)], filename, strict=False)
            if member is not None:
                return self._member(url, filename, member, size)
            directory = self._get(url, byte_range=(cd_offset, cd_offset + cd_size - 1))
        member = _find_metadata(directory, filename, strict=True)
        if member is None:
            raise RefreshError(f"{filename}: the wheel has no *.dist-info/METADATA")
        return self._member(url, filename, member, size)

    def _member(self, url: str, filename: str, member: "_Member", size: int) -> bytes:
        end = min(size - 1, member.offset + 30 + len(member.name) + 1024 + member.compressed)
        chunk = self._get(url, byte_range=(member.offset, end))
        if chunk[:4] != b"PK\x03\x04":
            raise RefreshError(f"{filename}: METADATA's local zip header is not where the directory says")
        name_len, extra_len = struct.unpack("<HH", chunk[26:30])
        begin = 30 + name_len + extra_len
        data = chunk[begin: begin + member.compressed]
        if len(data) < member.compressed:
            data = self._get(url, byte_range=(member.offset + begin, member.offset + begin + member.compressed - 1))
        if member.method == 0:
            return data
        if member.method == 8:
            try:
                return zlib.decompress(data, -15)
            except zlib.error as exc:
                raise RefreshError(f"{filename}: cannot inflate METADATA ({exc})") from None
        raise RefreshError(f"{filename}: METADATA uses zip compression method {member.method}")

    def _size(self, url: str) -> int:
        request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": _USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                return int(response.headers["Content-Length"])
        except (OSError, HTTPException, ValueError, TypeError, KeyError) as exc:
            raise RefreshError(f"{url}: cannot tell the file's size ({_first_line(exc)})") from None

    # -- recording and replay
    def _replay(self, url: str, where: Path) -> bytes:
        path = self.offline / where
        try:
            return path.read_bytes()
        except OSError:
            raise RefreshError(f"no recorded response for {url} (looked for {path})") from None

    def _save(self, where: Path, body: bytes) -> None:
        if self.record is None:
            return
        path = self.record / where
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        except OSError as exc:
            raise RefreshError(f"cannot record into {path} ({exc.strerror or exc})") from None


class _Member(NamedTuple):
    name: str
    offset: int
    compressed: int
    method: int


def _central_directory(tail: bytes, filename: str) -> tuple[int, int]:
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise RefreshError(f"{filename}: no zip end-of-central-directory record in the wheel's last {_TAIL} bytes")
    cd_size, cd_offset = struct.unpack("<II", tail[at + 12: at + 20])
    if cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
        record = tail.rfind(b"PK\x06\x06", 0, at)  # zip64 end-of-central-directory record
        if record < 0 or len(tail) < record + 56:
            raise RefreshError(f"{filename}: zip64 wheel whose zip64 end record is not in its tail")
        cd_size, cd_offset = struct.unpack("<QQ", tail[record + 40: record + 56])
    return cd_offset, cd_size


def _find_metadata(directory: bytes, filename: str, *, strict: bool) -> Optional[_Member]:
    """The central-directory entry of ``<name>.dist-info/METADATA``.

    ``strict``: ``directory`` is the whole central directory, read entry by entry;
    otherwise it is a slice that may start mid-entry, so entries are found by signature.
    """
    pos = 0
    while True:
        pos = directory.find(b"PK\x01\x02", pos)
        if pos < 0 or pos + 46 > len(directory):
            return None
        method = struct.unpack("<H", directory[pos + 10: pos + 12])[0]
        compressed = struct.unpack("<I", directory[pos + 20: pos + 24])[0]
        name_len, extra_len, comment_len = struct.unpack("<HHH", directory[pos + 28: pos + 34])
        offset = struct.unpack("<I", directory[pos + 42: pos + 46])[0]
        raw = directory[pos + 46: pos + 46 + name_len]
        name = raw.decode("utf-8", "replace")
        parts = name.split("/")
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
            return _Member(name, offset, compressed, method)
        pos = pos + 46 + name_len + extra_len + comment_len if strict else pos + 4


# --------------------------------------------------------------------------- facts
class _Release(NamedTuple):
    """What PyPI says about one final release of one project."""

    version: Version
    python: tuple[str, ...]  # CPython X.Y with a Linux x86_64 wheel
    wheel: Optional[str]  # the wheel whose METADATA was read
    requires: dict  # judged package -> declared specifier text
    uploaded: str  # earliest upload-time, YYYY-MM-DD


def _final_versions(page: dict) -> dict[Version, list[dict]]:
    """Final releases -> their non-yanked files."""
    out: dict[Version, list[dict]] = {}
    for file in page["files"]:
        if file.get("yanked"):
            continue
        version = _file_version(file["filename"])
        if version is None or version.is_prerelease or version.is_devrelease:
            continue
        out.setdefault(version, []).append(file)
    return dict(sorted(out.items()))


def _file_version(filename: str) -> Optional[Version]:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        stem = filename
        for ext in (".tar.gz", ".zip", ".tar.bz2"):
            if stem.endswith(ext):
                stem = stem[: -len(ext)]
                break
        else:
            return None
        return Version(stem.rpartition("-")[2])
    except (InvalidWheelFilename, InvalidVersion, ValueError):
        return None


def _linux_pythons(file: dict) -> tuple[str, ...]:
    """CPython X.Y versions a file is a Linux x86_64 wheel for (``()`` for anything else)."""
    if not file["filename"].endswith(".whl"):
        return ()
    try:
        tags = parse_wheel_filename(file["filename"])[3]
    except InvalidWheelFilename:
        return ()
    out = set()
    for tag in tags:
        match = _CPYTHON.match(tag.interpreter)
        if match and _LINUX_X86_64.match(tag.platform):
            out.add(f"{match.group(1)}.{match.group(2)}")
    return tuple(out)


def _by_version(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(texts), key=Version))


def _upload_date(files: list[dict]) -> str:
    times = sorted(str(f["upload-time"]) for f in files if f.get("upload-time"))
    return times[0][:10] if times else ""


def _environment(python: str) -> dict[str, str]:
    """Marker environment: CPython ``python`` on Linux x86_64, no extras."""
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


def _requirements(text: str, wheel: str, packages: Iterable[str], python: str) -> dict[str, str]:
    """``package -> specifier text`` for the judged packages one METADATA declares."""
    meta = email.parser.HeaderParser().parsestr(text)
    if not meta.get("Name") or not meta.get("Version"):
        raise RefreshError(f"{wheel}: its METADATA has no Name/Version: not wheel metadata")
    wanted = {canonicalize_name(p): p for p in packages}
    found: dict[str, list[Specifier]] = {}
    environment = _environment(python)
    for line in meta.get_all("Requires-Dist") or ():
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise RefreshError(f"{wheel}: Requires-Dist {line!r} is not a PEP 508 requirement ({_first_line(exc)})") from None
        name = wanted.get(canonicalize_name(req.name))
        if name is None:
            continue
        try:
            if req.marker is not None and not req.marker.evaluate(environment):
                continue
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
            raise RefreshError(f"{wheel}: cannot evaluate the marker of {line!r} ({_first_line(exc)})") from None
        found.setdefault(name, []).extend(req.specifier)
    return {name: _specifier_text(specs) for name, specs in found.items() if specs}


_RANK = {"===": 0, "==": 0, "~=": 1, ">=": 1, ">": 1, "!=": 2, "<=": 3, "<": 3}


def _specifier_text(specs: Iterable[Specifier]) -> str:
    """Lowest bound first (``>=a,!=b,<c``), each specifier's version text as written."""

    def key(spec: Specifier) -> tuple:
        try:
            version = Version(spec.version.rstrip(".*"))
        except InvalidVersion:
            version = Version("0")
        return (_RANK.get(spec.operator, 4), version)

    unique = {str(s): s for s in specs}
    return ",".join(str(s) for s in sorted(unique.values(), key=key))


def _release(pypi: _Pypi, version: Version, files: list[dict], packages: Sequence[str]) -> Optional[_Release]:
    wheels = [(f, _linux_pythons(f)) for f in files]
    wheels = [(f, py) for f, py in wheels if py]
    if not wheels:
        return None
    pythons = _by_version(p for _, py in wheels for p in py)
    # the newest CPython's wheel; the lexically last file name among equals, for stability
    newest = max(wheels, key=lambda w: (max(Version(p) for p in w[1]), w[0]["filename"]))[0]
    text = pypi.metadata(newest)
    requires = _requirements(text, newest["filename"], packages, pythons[0])
    return _Release(version, pythons, newest["filename"], requires, _upload_date(files))


# --------------------------------------------------------------------------- the document
class _Fact(NamedTuple):
    value: Any  # a tuple of Pythons, or a specifier text
    source: str  # source id


def _line_of(version: Version) -> str:
    release = version.release + (0,)
    return f"{release[0]}.{release[1]}"


def _next_line(line: str) -> str:
    major, minor = line.split(".")
    return f"{major}.{int(minor) + 1}"


def _runs(values: list[Optional[_Fact]]) -> list[tuple[int, int, Optional[_Fact]]]:
    """Consecutive releases with the same value: ``(first, end, fact)`` (``end`` exclusive)."""
    runs: list[tuple[int, int, Optional[_Fact]]] = []
    for i, fact in enumerate(values):
        value = fact.value if fact else None
        if runs and (runs[-1][2].value if runs[-1][2] else None) == value:
            runs[-1] = (runs[-1][0], i + 1, runs[-1][2])
        else:
            runs.append((i, i + 1, fact))
    return runs


def _compress(releases: list[_Release], tf_keras: dict[Version, _Fact], notes: list[str]) -> tuple[dict, list]:
    """One line's releases -> the first release's facts and the patches that differ."""
    fields: dict[tuple, list[Optional[_Fact]]] = {}
    ids = [_release_id("tensorflow", r.version) for r in releases]
    fields[("python",)] = [_Fact(r.python, i) for r, i in zip(releases, ids)]
    packages = sorted({p for r in releases for p in r.requires} | ({"tf-keras"} if any(r.version in tf_keras for r in releases) else set()))
    for package in packages:
        if package == "tf-keras":
            fields[("requires", package)] = [tf_keras.get(r.version) for r in releases]
        else:
            fields[("requires", package)] = [
                _Fact(r.requires[package], i) if package in r.requires else None for r, i in zip(releases, ids)
            ]
    base: dict[tuple, _Fact] = {}
    patches: dict[tuple[Version, Optional[Version]], dict[tuple, _Fact]] = {}
    for field, values in fields.items():
        runs = _runs(values)
        if values[0] is not None:
            base[field] = values[0]
        for first, end, fact in runs[1:]:
            if (fact.value if fact else None) == (values[0].value if values[0] else None):
                continue  # back to the line's value: the bounded patches before it end here
            if fact is None:
                notes.append(
                    f"tensorflow {releases[first].version} no longer declares {field[-1]}"
                    f" (declared by {releases[0].version}); a patch cannot remove it, left as declared by the line"
                )
                continue
            stop = releases[end].version if end < len(releases) else None
            patches.setdefault((releases[first].version, stop), {})[field] = fact
    ordered = [(start, stop, patches[(start, stop)]) for start, stop in sorted(patches, key=lambda k: (k[0], k[1] or Version("99999")))]
    return base, ordered


def _release_id(project: str, version: Version) -> str:
    return f"pypi-{project}-{version}"


def _tf_keras_fits(pypi: _Pypi, tfk_files: dict, releases: list[_Release]) -> tuple[dict, dict]:
    """TensorFlow release -> the tf-keras lines whose Requires-Dist on tensorflow admit it."""
    fits: dict[Version, list[Version]] = {}
    read: dict[Version, tuple[str, str]] = {}  # tf-keras version -> (its tensorflow spec, wheel)
    for version, files in tfk_files.items():
        wheels = sorted(f["filename"] for f in files if f["filename"].endswith(".whl"))
        if not wheels:
            continue
        wheel = next(f for f in files if f["filename"] == wheels[-1])
        text = pypi.metadata(wheel)
        for release in releases:
            spec = _requirements(text, wheel["filename"], ["tensorflow"], release.python[0]).get("tensorflow")
            if spec and Requirement(f"tensorflow{spec}").specifier.contains(release.version, prereleases=True):
                fits.setdefault(release.version, []).append(version)
                read[version] = (spec, wheel["filename"])
    facts: dict[Version, _Fact] = {}
    cited: dict[str, tuple[Version, str, str]] = {}
    for tf_version, versions in fits.items():
        lines = sorted({_line_of(v) for v in versions}, key=Version)
        first = min(versions)  # the first tf-keras release that declares the fit
        sid = _release_id("tf-keras", first)
        facts[tf_version] = _Fact(f">={lines[0]},<{_next_line(lines[-1])}", sid)
        cited[sid] = (first, *read[first])
    return facts, cited


class _Entry(NamedTuple):
    """One ``releases:`` entry: a line, its releases, its facts and its patches."""

    line: str
    members: list  # the _Release of every final release of the line
    base: dict  # field -> _Fact of the line's first release
    patches: list  # (first version, stop version or None, {field: _Fact})
    released: str


def generate(pypi: _Pypi, packages: Sequence[str], checked: str, notes: Optional[list] = None) -> str:
    """The text of ``pypi-tensorflow.yaml`` from what ``pypi`` serves.

    ``notes`` (when given) collects what a maintainer should know: releases left out,
    requirements a patch release dropped.
    """
    notes = [] if notes is None else notes
    tf_files = _final_versions(pypi.project("tensorflow"))
    if not tf_files:
        raise RefreshError(f"{SIMPLE_URL.format(name='tensorflow')}: no final tensorflow release listed")
    judged = [p for p in packages if p != "tf-keras"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda item: _release(pypi, item[0], item[1], judged), tf_files.items()))
    releases = [r for r in results if r is not None]
    notes += [f"tensorflow {v} has no Linux x86_64 wheel; left out" for v, r in zip(tf_files, results) if r is None]
    tfk_files = _final_versions(pypi.project("tf-keras"))
    keras_files = _final_versions(pypi.project("keras"))
    tf_keras, tfk_cited = _tf_keras_fits(pypi, tfk_files, releases)

    lines: dict[str, list[_Release]] = {}
    for release in releases:
        lines.setdefault(_line_of(release.version), []).append(release)
    entries = []
    for line, members in lines.items():
        base, patches = _compress(members, tf_keras, notes)
        zero = [r for r in members if r.version.release[2:3] in ((0,), ()) and not r.version.is_postrelease]
        entries.append(_Entry(line, members, base, patches, zero[0].uploaded if zero else ""))
    newest = {
        "tensorflow": str(max(tf_files)),
        "keras": str(max(keras_files)) if keras_files else "",
        "tf-keras": str(max(tfk_files)) if tfk_files else "",
    }
    return _render(entries, newest, releases, tfk_cited, checked)


def _render(entries: list[_Entry], newest: dict, releases: list[_Release], tfk_cited: dict, checked: str) -> str:
    cited = {f.source for e in entries for f in e.base.values()}
    cited |= {f.source for e in entries for _, _, fields in e.patches for f in fields.values()}
    by_id = {_release_id("tensorflow", r.version): r for r in releases}
    out = io.StringIO()
    w = out.write
    w(_HEADER.format(command=COMMAND))
    w("schema: 1\n\nsources:\n")
    for name, version in newest.items():
        if version:
            w(f"  pypi-{name}:\n    url: {PROJECT_URL.format(name=name)}\n    checked: {checked}\n")
            w(f"    title: {_q(f'{name} on PyPI (simple API): newest final, non-yanked release {version}')}\n")
    for sid in sorted(cited, key=_source_order):
        if sid in by_id:
            r = by_id[sid]
            title = (
                f"tensorflow {r.version}: CPython {', '.join(r.python)} Linux x86_64 wheels (simple API file list); "
                f"Requires-Dist read from {r.wheel} METADATA"
            )
            url = RELEASE_URL.format(name="tensorflow", version=r.version)
        else:
            version, spec, wheel = tfk_cited[sid]
            title = f"tf-keras {version}: Requires-Dist tensorflow {spec} (read from {wheel} METADATA)"
            url = RELEASE_URL.format(name="tf-keras", version=version)
        w(f"  {sid}:\n    url: {url}\n    checked: {checked}\n    title: {_q(title)}\n")
    w("\nnewest:\n")
    for name, version in newest.items():
        if version:
            w(f"  {name}: {{version: {_q(version)}, source: pypi-{name}}}\n")
    w("\nreleases:\n")
    for entry in entries:
        w(f"  # {', '.join(str(r.version) for r in entry.members)}\n")
        w(f"  - tensorflow: {_q(entry.line)}\n")
        if entry.released:
            w(f"    released: {_q(entry.released)}\n")
        _write_fields(w, entry.base, "    ")
        if entry.patches:
            w("    patches:\n")
            for start, stop, fields in entry.patches:
                w(f"      - versions: {_q(f'>={start}' + (f',<{stop}' if stop else ''))}\n")
                _write_fields(w, fields, "        ")
    return out.getvalue()


_HEADER = """\
# GENERATED by `{command}` from PyPI. Do not edit by hand:
# the next refresh overwrites it, and tests/test_refresh.py fails on a hand edit.
# To regenerate: `{command}` (prints the diff, then writes);
# `{command} --check` only says whether PyPI changed.
# Upstream facts only: CPython versions with a Linux x86_64 wheel, the wheels' Requires-Dist
# for the judged packages (packages.yaml `judged:`), release dates, the tf-keras line that
# declares it fits, and the newest releases. How they are read: conda_tfguard/knowledge/refresh.py.
# Hand-written facts (breaks, gpu, channel builds) are in the other files and merge with these.
"""


def _write_fields(w: Callable[[str], Any], fields: dict, indent: str) -> None:
    python = fields.get(("python",))
    if python is not None:
        supported = ", ".join(_q(p) for p in python.value)
        w(f"{indent}python: {{supported: [{supported}], source: {python.source}}}\n")
    requires = [(key[1], fact) for key, fact in fields.items() if key[0] == "requires"]
    if requires:
        w(f"{indent}requires:\n")
        width = max(len(p) for p, _ in requires) + 1
        for package, fact in sorted(requires, key=lambda item: _PACKAGE_ORDER.get(item[0], 99)):
            w(f"{indent}  {(package + ':').ljust(width)} {{declared: {_q(fact.value)}, source: {fact.source}}}\n")


_PACKAGE_ORDER = {"numpy": 0, "protobuf": 1, "h5py": 2, "keras": 3, "keras-nightly": 4, "tf-keras": 5, "tensorflow-estimator": 6}


def _source_order(sid: str) -> tuple:
    project, _, version = sid[len("pypi-"):].rpartition("-")
    try:
        return (project, Version(version))
    except InvalidVersion:
        return (project, Version("0"))


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of YAML's)."""
    return json.dumps(text, ensure_ascii=True)


# --------------------------------------------------------------------------- the command
def _judged_packages(shipped: Path) -> list[str]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = shipped / "packages.yaml"
    try:
        data = YAML(typ="base").load(path.read_text(encoding="utf-8"))
        judged = data["judged"]
        return sorted(str(p) for p in judged)
    except (OSError, YAMLError, KeyError, TypeError) as exc:
        raise RefreshError(f"{path}: cannot read the judged packages ({_first_line(exc)})") from None


def _check_loads(text: str, path: Path) -> None:
    """The generated text is YAML of the expected shape (a bug here must not ship)."""
    from ruamel.yaml import YAML

    try:
        data = YAML(typ="base").load(text)
    except Exception as exc:  # ruamel's errors: this is our own output, say so plainly
        raise RefreshError(f"{path}: generated text is not valid YAML ({_first_line(exc)}); not written") from None
    if not isinstance(data, dict) or not isinstance(data.get("releases"), list):
        raise RefreshError(f"{path}: generated text has no releases; not written")


_CHECKED = re.compile(r"^( +checked: )\d{4}-\d{2}-\d{2}$")


def _only_dates(diff: list[str]) -> bool:
    """Whether a unified diff changes nothing but ``checked:`` dates."""
    changed = [d.rstrip("\n") for d in diff if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    if not changed or not all(_CHECKED.match(d[1:]) for d in changed):
        return False
    minus = [_CHECKED.sub(r"\1", d[1:]) for d in changed if d.startswith("-")]
    plus = [_CHECKED.sub(r"\1", d[1:]) for d in changed if d.startswith("+")]
    return minus == plus


def _recorded_date(offline: Path) -> str:
    try:
        text = (offline / RECORDED_ON).read_text(encoding="utf-8").strip()
        datetime.date.fromisoformat(text)
        return text
    except (OSError, ValueError):
        return datetime.date.today().isoformat()


def main(argv: Optional[Sequence[str]] = None) -> int:
    from . import SHIPPED_DIR

    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Regenerate the upstream TensorFlow facts (pypi-tensorflow.yaml) from PyPI: "
        "print the diff against the current file, then write it.",
    )
    parser.add_argument("--offline", metavar="DIR", type=Path, help="replay the responses recorded in DIR (no network)")
    parser.add_argument("--record", metavar="DIR", type=Path, help="save every response used into DIR")
    parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 when the facts would change (changed `checked:` dates alone do not count)",
    )
    parser.add_argument("--output-dir", metavar="DIR", type=Path, default=SHIPPED_DIR, help=f"where {GENERATED} is (default: the shipped knowledge)")
    args = parser.parse_args(argv)
    if args.offline and args.record:
        parser.error("--offline and --record do not go together")
    try:
        packages = _judged_packages(SHIPPED_DIR)
        checked = _recorded_date(args.offline) if args.offline else datetime.date.today().isoformat()
        pypi = _Pypi(offline=args.offline, record=args.record)
        notes: list[str] = []
        text = generate(pypi, packages, checked, notes)
        for note in notes:
            print(f"refresh: note: {note}", file=sys.stderr)
        if args.record:
            pypi._save(Path(RECORDED_ON), f"{checked}\n".encode())
        target = args.output_dir / GENERATED
        _check_loads(text, target)
        try:
            old = target.read_text(encoding="utf-8") if target.exists() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise RefreshError(f"{target}: cannot read the current file ({_first_line(exc)})") from None
        diff = list(difflib.unified_diff(
            old.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=f"a/{GENERATED}", tofile=f"b/{GENERATED}",
        ))
        sys.stdout.writelines(diff)
        if args.check:
            if not diff or _only_dates(diff):
                print(f"refresh: {target} is up to date" + (" (only `checked:` dates would move)" if diff else ""), file=sys.stderr)
                return 0
            print(f"refresh: {target} is out of date with PyPI; run `{COMMAND}`", file=sys.stderr)
            return 1
        if not diff:
            print(f"refresh: {target} is up to date", file=sys.stderr)
            return 0
        _write(target, text)
        print(f"refresh: wrote {target}", file=sys.stderr)
        return 0
    except RefreshError as exc:
        print(f"refresh: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("refresh: interrupted", file=sys.stderr)
        return 2


def _write(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{GENERATED}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        raise RefreshError(f"{target}: cannot write ({exc.strerror or exc})") from None


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
