"""Probe: the pinned packages of a file conda creates environments from.

``check -f FILE`` reads what ``conda env create -f`` and ``conda create --file`` read,
and tells which one it has:

* an ``environment.yml`` (YAML: ``channels``, ``dependencies``, a ``pip`` list);
* an explicit file, as ``conda list --explicit`` or conda-lock write it: ``@EXPLICIT``,
  then package URLs; each URL names its channel, subdir, name, version and build;
* a spec list, one match spec a line: ``conda list --export`` output
  (``name=version=build`` under a ``# platform:`` header) or a hand-written one.

Each entry is read as conda reads the spec (:func:`~conda_tfguard.specs.read_spec`).
An entry pinned to one version becomes a package view. One that names a ``major.minor``
line (``=2.10``, ``2.10.*``) does so only for the packages the rules judge by their line
alone (:data:`LINE_FAMILIES`: ``python=3.11``, ``cudatoolkit=11.2``, ``cudnn=8.1``); a
``tensorflow=2.10`` or ``numpy=1.26`` is a set of releases whose facts differ, so it is
unchecked, like ``numpy``, ``numpy>=1.26`` or ``-r requirements.txt``, each with its
reason. A file that cannot be read is a :class:`SpecError` naming the file and line.

Channels: an ``environment.yml`` entry without ``channel::`` comes from one of the
file's channels (or conda's configured ones), not known which, so its view has no
channel and lists the file's channels as ``candidates``. A ``channel::`` entry and an
explicit URL name theirs. A spec list's entries name none.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Mapping, Optional

from .errors import SpecError
from .files import TooLarge, read_bounded
from .packages import PIP_CHANNEL, PackageView, classify_channel, normalize_name
from .specs import SpecReading, read_package_url, read_spec, redact

__all__ = ["ENVIRONMENT_YML", "EXPLICIT", "EXPORT", "LINE_FAMILIES", "SPEC_LIST", "EnvFile", "line_names",
           "read_env_file"]

log = logging.getLogger("conda.conda_tfguard.envfile")

ENVIRONMENT_YML = "environment.yml"
EXPLICIT = "explicit"
EXPORT = "conda list --export"
SPEC_LIST = "spec list"

_PIP_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]*)\s*(?:\[[A-Za-z0-9._,\- ]*\])?\s*==\s*"
                      r"(?P<version>[A-Za-z0-9][A-Za-z0-9._+!\-]*)$")
_KNOWN_KEYS = {"name", "channels", "dependencies", "prefix", "variables", "category", "platforms"}
_YAML_SUFFIXES = (".yml", ".yaml")
_YAML_KEY = re.compile(r"^(?:---|[A-Za-z_][\w\-]*\s*:(?:\s|$))")
_PLATFORM = re.compile(r"^#\s*platform:\s*\S")
#: conda records pip-installed packages with these builds (``conda list --export`` writes them).
_PIP_BUILDS = ("pypi_0", "dev_0")
_MARKER = "@EXPLICIT"
MAX_BYTES = 1024 * 1024
#: Knowledge-base families whose every rule reads only the ``major.minor`` of a version:
#: Python (supported lines, e.g. 3.9-3.11), CUDA and cuDNN (major and minor compared).
#: A line pin of theirs (``python=3.11``) is judged as that line.
LINE_FAMILIES = ("python", "cuda", "cudnn")


@dataclass(frozen=True)
class EnvFile:
    path: str
    packages: tuple[PackageView, ...]
    unchecked: tuple[str, ...]
    channels: tuple[str, ...]
    format: str = ENVIRONMENT_YML
    #: Entries read as a ``major.minor`` line (``python=3.11``): their views carry the line.
    lines: tuple[str, ...] = ()
    #: Why an unchecked entry is not checked, where it is more than "no one version".
    reasons: Mapping[str, str] = field(default_factory=dict)
    #: Where an entry without ``channel::`` may come from (classified, the file's order) ...
    candidates: tuple[str, ...] = ()
    #: ... and whether conda adds its configured channels to those (no ``nodefaults``).
    configured_channels_too: bool = True

    def channel_note(self, count: int) -> str:
        """``[channel] 7 entries without channel:: come from one of: ...``: said once by ``check``."""
        entries = f"{count} entr{'y' if count == 1 else 'ies'}"
        if self.format == ENVIRONMENT_YML:
            where = list(self.candidates) + (["conda's configured channels"] if self.configured_channels_too else [])
            if not where:
                source = "come from no channel the file names"
            else:
                source = f"come from one of: {', '.join(where)}" if len(where) > 1 else f"come from {where[0]}"
            what = f"{entries} without channel:: {source} (not known which)"
        elif self.format == EXPORT:
            what = f"{entries} name no channel (conda list --export records none)"
        elif self.format == SPEC_LIST:
            what = f"{entries} without channel:: come from the channels conda is given or configured with " \
                   "(not known which)"
        else:
            what = f"{entries} name no channel (a package URL without a subdir)"
        return f"[channel] {what}: judged by upstream facts"

    def nothing_pinned(self, name: str, listed: int = 12) -> str:
        """The one line ``check`` says when the file pins no package to a version."""
        if not self.unchecked:
            return f"tfguard OK: {name} lists no package"
        more = f" and {len(self.unchecked) - listed} more" if len(self.unchecked) > listed else ""
        return (f"tfguard OK: {name} pins no TensorFlow-stack package; "
                f"unpinned: {', '.join(self.unchecked[:listed])}{more}")


def line_names(knowledge=None) -> frozenset[str]:
    """The package names of :data:`LINE_FAMILIES` (in ``knowledge``, else the shipped one)."""
    if knowledge is None:
        from .knowledge import load_knowledge

        knowledge = load_knowledge()
    families = (knowledge.families.get(name) for name in LINE_FAMILIES)
    return frozenset(member for family in families if family is not None for member in family.members)


def read_env_file(path: os.PathLike | str, by_line: Optional[Collection[str]] = None) -> EnvFile:
    """Read an environment.yml, an explicit file or a spec list; which one, it tells.

    ``by_line``: the names whose line pin is read as the line (default :func:`line_names`).
    """
    file = Path(path)
    by_line = line_names() if by_line is None else frozenset(by_line)
    yaml_named = file.suffix.lower() in _YAML_SUFFIXES
    noun = "environment file" if yaml_named else "file"
    text = _read_text(file, noun)
    lines = text.splitlines()
    if any(line.strip() == _MARKER for line in lines):
        return _explicit(file, lines)
    if yaml_named or _looks_like_yaml(lines):
        return _environment_yml(file, text, by_line)
    return _spec_list(file, lines, by_line)


# --------------------------------------------------------------------------- reading
def _read_text(file: Path, noun: str) -> str:
    try:
        return read_bounded(file, MAX_BYTES)
    except TooLarge:
        raise SpecError(f"{file}: {noun} is larger than {MAX_BYTES // 1024} KiB") from None
    except FileNotFoundError:
        raise SpecError(f"{file}: no such {noun}") from None
    except UnicodeDecodeError as exc:
        # conda reads an environment.yml as UTF-8, else UTF-16 (what Windows PowerShell's
        # `conda env export > environment.yml` writes). UTF-16 only with its byte-order mark here.
        data = exc.object if isinstance(exc.object, bytes) else b""
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            try:
                return data.decode("utf-16")
            except UnicodeDecodeError:
                pass
        raise SpecError(f"{file}: cannot read {noun} ({_reason(exc)})") from None
    except OSError as exc:
        raise SpecError(f"{file}: cannot read {noun} ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: byte {exc.start}"
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0][:200]


def _looks_like_yaml(lines: list[str]) -> bool:
    """A file not named .yml is YAML when its first entry is a ``key:`` (``name: tf``)."""
    for line in lines:
        stripped = line.strip().lstrip("\ufeff")
        if stripped and not stripped.startswith("#"):
            return bool(_YAML_KEY.match(stripped)) and "::" not in stripped.split()[0]
    return False


# --------------------------------------------------------------------------- environment.yml
def _environment_yml(file: Path, text: str, by_line: frozenset[str]) -> EnvFile:
    data = _load_yaml(file, text)
    if not isinstance(data, dict):
        raise SpecError(f"{file}: not an environment file (expected a mapping with 'dependencies')")
    unknown = sorted(set(map(str, data)) - _KNOWN_KEYS)
    if unknown:
        log.warning("tfguard: %s: ignoring unknown key(s): %s", file, ", ".join(u[:40] for u in unknown[:10]))
    channels = data.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise SpecError(f"{file}: 'channels' must be a list of channel names")
    channels = tuple(channels)
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        raise SpecError(f"{file}: 'dependencies' must be a list")
    candidates = _unique(classify_channel(c) for c in channels if c.strip() != "nodefaults")
    out = _Collector(by_line, candidates)
    for dep in deps:
        if isinstance(dep, dict):
            _pip_section(file, dep, out)
        elif isinstance(dep, str):
            out.conda_entry(dep)
        else:
            out.skip(f"<{_kind(dep)} in dependencies>", "is not a package spec")
    return out.result(file, ENVIRONMENT_YML, channels, candidates,
                      configured_too="nodefaults" not in (c.strip() for c in channels))


def _load_yaml(file: Path, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="base").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "\t" in text:
            problem += " (YAML does not allow tabs for indentation)"
        raise SpecError(f"{file}{where}: not valid YAML: {problem}") from None
    except Exception as exc:  # odd bytes make ruamel raise other types
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SpecError(f"{file}: not valid YAML: {first}") from None


def _pip_section(file: Path, dep: dict, out: "_Collector") -> None:
    for key, value in dep.items():
        if key != "pip" or not isinstance(value, list):
            what = repr(key[:40]) if isinstance(key, str) else _kind(key)
            log.warning("tfguard: %s: ignoring dependency entry %s: only a pip list is read there", file, what)
            continue
        for item in value:
            if not isinstance(item, str):
                out.skip(f"pip: <{_kind(item)}>", "is not a requirement")
                continue
            text = item.strip()
            match = _PIP_PIN.match(text)  # tensorflow[and-cuda]==2.15.0 pins tensorflow
            if match:
                out.packages.append(PackageView(name=normalize_name(match["name"]), version=match["version"],
                                                channel=PIP_CHANNEL))
            else:
                out.unchecked.append(f"pip: {_short(text)}")


# --------------------------------------------------------------------------- explicit
def _explicit(file: Path, lines: list[str]) -> EnvFile:
    out = _Collector(frozenset(), ())
    for number, raw in enumerate(lines, 1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#") or line == _MARKER:
            continue
        try:
            reading = read_package_url(line)
        except SpecError as exc:
            log.warning("tfguard: %s:%d: skipping a line that is not a package URL: %s", file, number, exc)
            out.skip(f"line {number}: {_short(line)}", "is not a package URL")
            continue
        out.packages.append(reading.view())
    return out.result(file, EXPLICIT, (), (), configured_too=False)


# --------------------------------------------------------------------------- spec lists
def _spec_list(file: Path, lines: list[str], by_line: frozenset[str]) -> EnvFile:
    out = _Collector(by_line, ())
    header, entries, bad = False, 0, []
    readings: list[tuple[int, str, Optional[SpecReading], Optional[SpecError]]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip().lstrip("\ufeff")
        header = header or bool(_PLATFORM.match(line))
        if not line or line.startswith("#"):
            continue
        entries += 1
        try:
            readings.append((number, line, read_spec(line), None))
        except SpecError as exc:
            bad.append((number, line, exc))
            readings.append((number, line, None, exc))
    if entries and len(bad) == entries:
        number, line, exc = bad[0]
        raise SpecError(f"{file}:{number}: not an environment file, explicit file or spec list: {exc}")
    exported = header and all(r is not None and r.exact and r.build for _, _, r, _ in readings)
    for number, line, reading, error in readings:
        if reading is None:
            log.warning("tfguard: %s:%d: %s", file, number, error)
            out.skip(_short(line), _why(error))
        elif exported and reading.build in _PIP_BUILDS and not reading.channel:
            # `conda list --export` writes a pip-installed package as name=version=pypi_0
            out.packages.append(PackageView(normalize_name(reading.name), reading.exact, "", PIP_CHANNEL))
        else:
            out.add(reading)
    return out.result(file, EXPORT if exported else SPEC_LIST, (), (), configured_too=True)


# --------------------------------------------------------------------------- shared
class _Collector:
    """What the entries of a file come to: views, line pins, and unchecked entries."""

    def __init__(self, by_line: frozenset[str], candidates: tuple[str, ...]) -> None:
        self.by_line = by_line
        self.candidates = candidates
        self.packages: list[PackageView] = []
        self.lines: list[str] = []
        self.unchecked: list[str] = []
        self.reasons: dict[str, str] = {}

    def conda_entry(self, text: str) -> None:
        try:
            reading = read_spec(text)
        except SpecError as exc:
            self.skip(_short(text.strip()), _why(exc))
            return
        self.add(reading)

    def add(self, reading: SpecReading) -> None:
        candidates = () if reading.channel else self.candidates
        if reading.exact:
            self.packages.append(reading.view(candidates=candidates))
        elif reading.line and reading.name in self.by_line:
            self.packages.append(reading.view(reading.line, candidates))
            self.lines.append(_short(reading.text))
        elif reading.line:
            self.skip(_short(reading.text), f"names the {reading.line} line, not one version")
        else:
            self.unchecked.append(_short(reading.text))

    def skip(self, entry: str, reason: str) -> None:
        self.unchecked.append(entry)
        self.reasons[entry] = reason

    def result(self, file: Path, kind: str, channels: tuple[str, ...], candidates: tuple[str, ...], *,
               configured_too: bool) -> EnvFile:
        return EnvFile(str(file), tuple(self.packages), tuple(self.unchecked), channels, kind, tuple(self.lines),
                       dict(self.reasons), candidates, configured_too)


def _why(exc: SpecError) -> str:
    """``is a spec conda cannot read (conda rejects quotes in a version)``."""
    detail = str(exc).rpartition(": ")[2] if ": " in str(exc) else ""
    return "is a spec conda cannot read" + (f" ({detail})" if detail else "")


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _short(text: str, limit: int = 160) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)
