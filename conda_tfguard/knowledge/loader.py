"""Loading the knowledge files: parse, validate, and say exactly where a file is wrong.

Used by :func:`conda_tfguard.knowledge.load_knowledge`; imports only :mod:`.model`. Every check raises a
:class:`KnowledgeError` with the file and line (``knowledge/x.yaml:12: ...``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..errors import KnowledgeError
from ..files import TooLarge, read_bounded
from ..versions import conda_spec_contains, line_of, parse_specifier, parse_version
from .model import (
    ANY,
    SCOPES,
    UPSTREAM,
    Break,
    Channel,
    ChannelBuild,
    CudaFamily,
    Evidence,
    Family,
    GpuBuild,
    Judgement,
    Kernels,
    Knowledge,
    Line,
    Newest,
    Patch,
    PythonFloor,
    PythonSupport,
    ReleaseFacts,
    Requirement,
    Rulebook,
    Source,
    Toolkit,
    Variant,
)

__all__ = ["build", "read_yaml"]

MAX_FILE_BYTES = 4 * 1024 * 1024
SEVERITIES = ("info", "warn", "block")

_LINE = re.compile(r"^[0-9]+\.[0-9]+$")
_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9._\-]*$")


def read_yaml(path: Path) -> "_Doc":
    """Parse one knowledge file; a file that is not YAML is a one-line error.

    The parsed data is kept in a small JSON cache keyed by the file's path, size and
    modification time: parsing YAML costs ~20 ms, reading the cache ~1 ms, and conda
    pays this inside every install that touches TensorFlow.
    """
    cached = _from_cache(path)
    if cached is not None:
        return _Doc(path, None, cached)
    try:
        text = read_bounded(path, MAX_FILE_BYTES)
    except TooLarge:
        raise KnowledgeError(f"{path}: knowledge file is over the {MAX_FILE_BYTES // 1024} KiB limit") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}: cannot read knowledge file ({exc})") from None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        # The "base" loader reads every scalar as text: no float 2.10 == 2.1 surprises,
        # and it is the fastest ruamel loader (the C parser when ruamel.yaml.clib is there).
        data = YAML(typ="base").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise KnowledgeError(f"{path}{where}: not valid YAML: {problem}") from None
    except Exception as exc:  # ruamel raises a few non-YAMLError types on odd bytes
        raise KnowledgeError(f"{path}: not valid YAML: {exc}") from None
    _to_cache(path, data)
    return _Doc(path, text, data)


def _small(data: Any, limit: int = 200_000) -> bool:
    """Fewer than ``limit`` nodes, counting each YAML alias as often as it is used
    (an alias bomb is tiny as YAML and endless as JSON)."""
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            return False
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


CACHE_ENV = "TFGUARD_CACHE_DIR"
_CACHE_FORMAT = "1"


def cache_dir() -> Optional[Path]:
    """Where parsed knowledge is cached: ``$TFGUARD_CACHE_DIR`` (empty: no cache), else
    the platform's user cache directory."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit is not None:
        return Path(explicit) if explicit.strip() else None
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conda-tfguard"


def _cache_file(path: Path) -> Optional[Path]:
    where = cache_dir()
    if where is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    digest = hashlib.sha256(f"{_CACHE_FORMAT}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    return where / f"knowledge-{digest[:32]}.json"


def _from_cache(path: Path) -> Any:
    cache = _cache_file(path)
    if cache is None:
        return None
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None  # no cache yet, or a broken one: parse the YAML
    return data if isinstance(data, dict) else None


def _to_cache(path: Path, data: Any) -> None:
    cache = _cache_file(path)
    if cache is None or not isinstance(data, dict) or not _small(data):
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".knowledge-", dir=cache.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, cache)
    except (OSError, TypeError, ValueError, RecursionError):
        pass  # a read-only home only makes us slower


@dataclass
class _Doc:
    """One parsed file, able to say on which line a bad key sits."""

    path: Path
    text: Optional[str]  # None when the data came from the cache
    data: Any

    def fail(self, keys: Sequence[Any], message: str) -> KnowledgeError:
        return KnowledgeError(f"{self.path}{self._line(keys)}: {message}")

    def _line(self, keys: Sequence[Any]) -> str:
        # Re-read with the round-trip loader only on failure: it knows line numbers.
        try:
            from ruamel.yaml import YAML

            text = self.text if self.text is not None else read_bounded(self.path, MAX_FILE_BYTES)
            node = YAML(typ="rt").load(text)
            line = None
            for key in keys:
                if hasattr(node, "lc"):
                    try:
                        line = node.lc.key(key)[0] if isinstance(key, str) else node.lc.item(key)[0]
                    except (KeyError, IndexError, TypeError, AttributeError):
                        pass
                try:
                    node = node[key]
                except (KeyError, IndexError, TypeError):
                    break
            return f":{line + 1}" if line is not None else ""
        except Exception:
            return ""


class _Builder:
    """Turns raw YAML documents into a :class:`Knowledge`, validating as it goes."""

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self.lines: dict[str, Line] = {}
        self.channel_builds: dict[tuple, ChannelBuild] = {}
        self.build_origin: dict[tuple, Path] = {}
        self.channels: dict[str, Channel] = {}
        self.evidence: dict[str, Evidence] = {}
        self.cited_evidence: list[tuple[_Doc, tuple, str]] = []
        self.ranged_breaks: list[Break] = []
        self.toolkits: dict[str, Toolkit] = {}
        self.cuda_families: dict[int, CudaFamily] = {}
        self.kernels: list[Kernels] = []
        self.windows_native_gpu: Optional[tuple[str, Source]] = None
        self.wheel_cuda_libraries: Optional[tuple[str, Source]] = None
        self.families: dict[str, Family] = {}
        self.variants: list[Variant] = []
        self.judged: dict[str, Judgement] = {}
        self.python_floors: list[PythonFloor] = []
        self.rulebook: dict[str, Source] = {}
        self.newest: dict[str, Newest] = {}

    # -- small typed readers; each raises with file and line
    def mapping(self, doc: _Doc, value: Any, keys: tuple) -> Mapping:
        if type(value) is dict:  # what the parser gives: skip the slow ABC check
            return value
        if not isinstance(value, Mapping):
            raise doc.fail(keys, f"{_where(keys)} must be a mapping, not {_kind(value)}")
        return value

    def listing(self, doc: _Doc, value: Any, keys: tuple) -> list:
        if not isinstance(value, list):
            raise doc.fail(keys, f"{_where(keys)} must be a list, not {_kind(value)}")
        return value

    def text(self, doc: _Doc, value: Any, keys: tuple, *, version=False, spec=False) -> str:
        if not isinstance(value, str) or not value.strip():
            raise doc.fail(keys, f"{_where(keys)} must be non-empty text, not {_kind(value)}")
        value = value.strip()
        if version and parse_version(value) is None:
            raise doc.fail(keys, f"{_where(keys)}: {value!r} is not a version")
        if spec and parse_specifier(value) is None:
            raise doc.fail(keys, f"{_where(keys)}: {value!r} is not a PEP 440 version specifier")
        return value

    def flag(self, doc: _Doc, value: Any, keys: tuple) -> bool:
        text = value.strip().lower() if isinstance(value, str) else None
        if text not in ("true", "false"):
            raise doc.fail(keys, f"{_where(keys)} must be true or false, not {_kind(value)}")
        return text == "true"

    def texts(self, doc: _Doc, value: Any, keys: tuple, **kw) -> tuple[str, ...]:
        items = self.listing(doc, value, keys)
        return tuple(self.text(doc, item, keys + (i,), **kw) for i, item in enumerate(items))

    def source(self, doc: _Doc, entry: Mapping, keys: tuple) -> Source:
        if "source" not in entry:
            raise doc.fail(keys, f"{_where(keys)} has no source: every fact needs one")
        sid = self.text(doc, entry["source"], keys + ("source",))
        if sid not in self.sources:
            raise doc.fail(keys + ("source",), f"source {sid!r} is not defined in any sources: table")
        return self.sources[sid]

    def unknown_keys(self, doc: _Doc, entry: Mapping, allowed: Iterable[str], keys: tuple) -> None:
        extra = sorted(set(map(str, entry)) - set(allowed))
        if extra:
            raise doc.fail(keys + (extra[0],), f"{_where(keys)}: unknown key {extra[0]!r}")

    # -- sections
    def add_file_sources(self, doc: _Doc) -> None:
        """First pass: every file's sources, so any file may cite any other's."""
        data = doc.data
        if data is None:
            raise doc.fail((), "knowledge file is empty")
        data = self.mapping(doc, data, ())
        if data.get("schema") != "1":
            raise doc.fail(("schema",), "knowledge file must start with `schema: 1`")
        if "sources" in data:
            self.add_sources(doc, data["sources"], ("sources",))

    def add(self, doc: _Doc) -> None:
        data = doc.data
        sections = {
            "schema": None,
            "sources": None,
            "releases": self.add_releases,
            "toolkits": self.add_toolkits,
            "families": self.add_cuda_families,
            "kernels": self.add_kernels,
            "windows_native_gpu": self.add_windows,
            "wheel_cuda_libraries": self.add_wheel_cuda,
            "channel_builds": self.add_channel_builds,
            "channels": self.add_channels,
            "breaks": self.add_ranged_breaks,
            "evidence": self.add_evidence,
            "package_families": self.add_package_families,
            "variants": self.add_variants,
            "judged": self.add_judged,
            "requires_python": self.add_python_floors,
            "rulebook": self.add_rulebook,
            "newest": self.add_newest,
        }
        self.unknown_keys(doc, data, sections, ())
        for key, handler in sections.items():
            if handler is not None and key in data:
                handler(doc, data[key], (key,))

    def add_sources(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for sid, entry in self.mapping(doc, value, keys).items():
            here = keys + (sid,)
            if not isinstance(sid, str) or not _SOURCE_ID.match(sid):
                raise doc.fail(here, f"source id {sid!r} must be lowercase letters, digits, '.', '-' or '_'")
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("url", "checked", "title", "note"), here)
            url = self.text(doc, entry.get("url"), here + ("url",))
            if not url.startswith(("https://", "http://")):
                raise doc.fail(here + ("url",), f"source {sid!r}: url must be an http(s) URL")
            checked = self.text(doc, entry.get("checked"), here + ("checked",))
            try:
                datetime.date.fromisoformat(checked)
            except ValueError:
                raise doc.fail(here + ("checked",), f"source {sid!r}: checked must be a date YYYY-MM-DD") from None
            title = self.text(doc, entry["title"], here + ("title",)) if "title" in entry else ""
            self.sources[sid] = Source(sid, url, checked, title)

    def add_releases(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for i, entry in enumerate(self.listing(doc, value, keys)):
            here = keys + (i,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(
                doc, entry, ("tensorflow", "released", "python", "requires", "breaks", "gpu", "patches"), here
            )
            line = self.text(doc, entry.get("tensorflow"), here + ("tensorflow",))
            if not _LINE.match(line):
                raise doc.fail(here + ("tensorflow",), f"tensorflow line {line!r} must be MAJOR.MINOR, e.g. \"2.15\"")
            facts = ReleaseFacts(
                line=line,
                python=self.python(doc, entry, here),
                requires=self.requires(doc, entry, here),
                breaks=self.breaks(doc, entry, here),
                gpu=self.gpu(doc, entry, here),
                released=self.text(doc, entry["released"], here + ("released",)) if "released" in entry else "",
            )
            patches = []
            for j, patch in enumerate(self.listing(doc, entry.get("patches", []), here + ("patches",))):
                where = here + ("patches", j)
                patch = self.mapping(doc, patch, where)
                self.unknown_keys(doc, patch, ("versions", "python", "requires", "breaks", "gpu"), where)
                patches.append(
                    Patch(
                        versions=self.text(doc, patch.get("versions"), where + ("versions",), spec=True),
                        python=self.python(doc, patch, where),
                        requires=self.requires(doc, patch, where),
                        breaks=self.breaks(doc, patch, where),
                        gpu=self.gpu(doc, patch, where),
                    )
                )
            old = self.lines.get(line)
            if old is not None:  # a later file (the user's) overrides field by field
                facts = ReleaseFacts(
                    line=line,
                    python=facts.python or old.facts.python,
                    requires={**old.facts.requires, **facts.requires},
                    breaks=facts.breaks if "breaks" in entry else old.facts.breaks,
                    gpu=facts.gpu or old.facts.gpu,
                    released=facts.released or old.facts.released,
                )
                patches = list(old.patches) + patches
            self.lines[line] = Line(facts, tuple(patches))

    def python(self, doc: _Doc, entry: Mapping, keys: tuple) -> Optional[PythonSupport]:
        if "python" not in entry:
            return None
        here = keys + ("python",)
        value = self.mapping(doc, entry["python"], here)
        self.unknown_keys(doc, value, ("supported", "source"), here)
        supported = self.texts(doc, value.get("supported"), here + ("supported",), version=True)
        return PythonSupport(supported, self.source(doc, value, here))

    def requires(self, doc: _Doc, entry: Mapping, keys: tuple) -> dict[str, Requirement]:
        out: dict[str, Requirement] = {}
        here = keys + ("requires",)
        for package, value in self.mapping(doc, entry.get("requires", {}), here).items():
            where = here + (package,)
            value = self.mapping(doc, value, where)
            self.unknown_keys(doc, value, ("declared", "source"), where)
            declared = self.text(doc, value.get("declared"), where + ("declared",), spec=True)
            out[str(package)] = Requirement(str(package), declared, self.source(doc, value, where))
        return out

    def breaks(self, doc: _Doc, entry: Mapping, keys: tuple) -> tuple[Break, ...]:
        here = keys + ("breaks",)
        return tuple(self.one_break(doc, value, here + (i,))
                     for i, value in enumerate(self.listing(doc, entry.get("breaks", []), here)))

    def one_break(self, doc: _Doc, value: Any, where: tuple, ranged: bool = False) -> Break:
        value = self.mapping(doc, value, where)
        fields = ("package", "versions", "why", "source", "scope", "evidence", "severity", "stage")
        self.unknown_keys(doc, value, fields + (("tensorflow",) if ranged else ()), where)
        evidence = self.texts(doc, value["evidence"], where + ("evidence",)) if "evidence" in value else ()
        self.cited_evidence.extend((doc, where + ("evidence",), row) for row in evidence)
        severity = self.text(doc, value.get("severity", "block"), where + ("severity",))
        if severity not in ("warn", "block"):
            raise doc.fail(where + ("severity",), f"severity must be warn or block, not {severity!r}")
        return Break(
            package=self.text(doc, value.get("package"), where + ("package",)),
            versions=self.text(doc, value.get("versions"), where + ("versions",), spec=True),
            why=self.text(doc, value.get("why"), where + ("why",)),
            source=self.source(doc, value, where),
            scope=self.scope(doc, value, where, default=ANY),
            evidence=evidence,
            tensorflow=self.text(doc, value.get("tensorflow"), where + ("tensorflow",), spec=True) if ranged else "",
            severity=severity,
            stage=self.text(doc, value["stage"], where + ("stage",)) if "stage" in value else "",
        )

    def add_ranged_breaks(self, doc: _Doc, value: Any, keys: tuple) -> None:
        """Top-level ``breaks:``: one fact over a range of TensorFlow releases."""
        for i, entry in enumerate(self.listing(doc, value, keys)):
            self.ranged_breaks.append(self.one_break(doc, entry, keys + (i,), ranged=True))

    def scope(self, doc: _Doc, entry: Mapping, keys: tuple, default: str) -> str:
        if "scope" not in entry:
            return default
        scope = self.text(doc, entry["scope"], keys + ("scope",))
        if scope not in SCOPES:
            raise doc.fail(keys + ("scope",), f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        return scope

    def gpu(self, doc: _Doc, entry: Mapping, keys: tuple) -> Optional[GpuBuild]:
        if "gpu" not in entry:
            return None
        here = keys + ("gpu",)
        value = self.mapping(doc, entry["gpu"], here)
        self.unknown_keys(doc, value, ("cuda", "cudnn", "source"), here)
        cuda = self.text(doc, value["cuda"], here + ("cuda",), version=True) if "cuda" in value else None
        cudnn = self.text(doc, value["cudnn"], here + ("cudnn",), version=True) if "cudnn" in value else None
        return GpuBuild(cuda, cudnn, self.source(doc, value, here))

    def add_toolkits(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for i, entry in enumerate(self.listing(doc, value, keys)):
            here = keys + (i,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("cuda", "linux", "windows", "source"), here)
            cuda = self.text(doc, entry.get("cuda"), here + ("cuda",), version=True)
            linux = self.text(doc, entry["linux"], here + ("linux",), version=True) if "linux" in entry else None
            windows = self.text(doc, entry["windows"], here + ("windows",), version=True) if "windows" in entry else None
            self.toolkits[cuda] = Toolkit(cuda, linux, windows, self.source(doc, entry, here))

    def add_cuda_families(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for i, entry in enumerate(self.listing(doc, value, keys)):
            here = keys + (i,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("major", "floor", "source"), here)
            major = entry.get("major")
            major = major.strip() if isinstance(major, str) else ""
            if not (major.isascii() and major.isdigit()):
                raise doc.fail(here + ("major",), "major must be a whole number, e.g. 12")
            major = int(major)
            floor = self.mapping(doc, entry.get("floor"), here + ("floor",))
            self.unknown_keys(doc, floor, ("linux", "windows"), here + ("floor",))
            linux = self.text(doc, floor["linux"], here + ("floor", "linux"), version=True) if "linux" in floor else None
            windows = (
                self.text(doc, floor["windows"], here + ("floor", "windows"), version=True) if "windows" in floor else None
            )
            self.cuda_families[major] = CudaFamily(major, linux, windows, self.source(doc, entry, here))

    def add_kernels(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for i, entry in enumerate(self.listing(doc, value, keys)):
            here = keys + (i,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("tensorflow", "min_compute_capability", "source"), here)
            self.kernels.append(
                Kernels(
                    tensorflow=self.text(doc, entry.get("tensorflow"), here + ("tensorflow",), spec=True),
                    min_compute_capability=self.text(
                        doc, entry.get("min_compute_capability"), here + ("min_compute_capability",), version=True
                    ),
                    source=self.source(doc, entry, here),
                )
            )

    def add_windows(self, doc: _Doc, value: Any, keys: tuple) -> None:
        entry = self.mapping(doc, value, keys)
        self.unknown_keys(doc, entry, ("last", "source"), keys)
        last = self.text(doc, entry.get("last"), keys + ("last",), version=True)
        self.windows_native_gpu = (last, self.source(doc, entry, keys))

    def add_wheel_cuda(self, doc: _Doc, value: Any, keys: tuple) -> None:
        entry = self.mapping(doc, value, keys)
        self.unknown_keys(doc, entry, ("tensorflow", "source"), keys)
        versions = self.text(doc, entry.get("tensorflow"), keys + ("tensorflow",), spec=True)
        self.wheel_cuda_libraries = (versions, self.source(doc, entry, keys))

    def add_channel_builds(self, doc: _Doc, value: Any, keys: tuple) -> None:
        fields = ("channel", "tensorflow", "versions", "subdirs", "variants", "python", "cuda", "cudnn", "pins", "source")
        for i, entry in enumerate(self.listing(doc, value, keys)):
            here = keys + (i,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, fields, here)
            line = self.text(doc, entry.get("tensorflow"), here + ("tensorflow",))
            if not _LINE.match(line):
                raise doc.fail(here + ("tensorflow",), f"tensorflow line {line!r} must be MAJOR.MINOR")

            def listed(key: str, **kw) -> Optional[tuple[str, ...]]:
                return self.texts(doc, entry[key], here + (key,), **kw) if key in entry else None

            versions = None
            if "versions" in entry:
                text = self.text(doc, entry["versions"], here + ("versions",))
                versions = tuple(v.strip() for v in text.split(",") if v.strip())
                for version in versions:
                    if line_of(version) != line:
                        raise doc.fail(here + ("versions",), f"version {version!r} is not on the {line} line")
            pins = {}
            for package, spec in self.mapping(doc, entry.get("pins", {}), here + ("pins",)).items():
                spec = self.text(doc, spec, here + ("pins", package))
                if conda_spec_contains(spec, "0") is None:
                    raise doc.fail(here + ("pins", package), f"pin {spec!r} is not a conda version expression")
                pins[str(package)] = spec
            build = ChannelBuild(
                channel=self.text(doc, entry.get("channel"), here + ("channel",)),
                line=line,
                python=listed("python", version=True),
                cuda=listed("cuda", version=True),
                source=self.source(doc, entry, here),
                subdirs=listed("subdirs"),
                versions=versions,
                variants=listed("variants"),
                cudnn=listed("cudnn", version=True),
                pins=pins,
            )
            # A later file (a user's) speaking of a channel's line replaces what earlier
            # files said of it; entries of one file add up (build 0 and build 1 of a
            # release were both built), and lookups merge them.
            for key in [k for k, origin in self.build_origin.items() if k[:2] == (build.channel, line) and origin != doc.path]:
                del self.channel_builds[key], self.build_origin[key]
            key = (build.channel, line, i, str(doc.path))
            self.channel_builds[key] = build
            self.build_origin[key] = doc.path

    def add_channels(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for name, entry in self.mapping(doc, value, keys).items():
            here = keys + (name,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("carries", "same_builds_as", "source"), here)
            same = self.text(doc, entry["same_builds_as"], here + ("same_builds_as",)) if "same_builds_as" in entry else None
            carries = self.texts(doc, entry["carries"], here + ("carries",)) if "carries" in entry else ()
            if not carries and not same:
                raise doc.fail(here, f"channel {name!r} needs carries or same_builds_as")
            self.channels[str(name)] = Channel(str(name), carries, self.source(doc, entry, here), same)

    def add_evidence(self, doc: _Doc, value: Any, keys: tuple) -> None:
        fields = ("id", "tensorflow", "distribution", "python", "control", "constraints", "stages", "forced",
                  "installed", "result", "stage", "error", "seconds", "checked", "source")
        for i, entry in enumerate(self.listing(doc, value, keys)):
            here = keys + (i,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, fields, here)
            rid = self.text(doc, entry.get("id"), here + ("id",))
            if rid in self.evidence:
                raise doc.fail(here + ("id",), f"evidence id {rid!r} is used twice")
            result = self.text(doc, entry.get("result"), here + ("result",))
            if result not in ("pass", "fail"):
                raise doc.fail(here + ("result",), f"result must be pass or fail, not {result!r}")
            package = version = None
            if "forced" in entry:
                forced = self.mapping(doc, entry["forced"], here + ("forced",))
                self.unknown_keys(doc, forced, ("package", "version"), here + ("forced",))
                package = self.text(doc, forced.get("package"), here + ("forced", "package"))
                version = self.text(doc, forced.get("version"), here + ("forced", "version"), version=True)
            installed = {
                str(k): self.text(doc, v, here + ("installed", k))
                for k, v in self.mapping(doc, entry.get("installed", {}), here + ("installed",)).items()
            }
            self.evidence[rid] = Evidence(
                id=rid,
                tensorflow=self.text(doc, entry.get("tensorflow"), here + ("tensorflow",), version=True),
                python=self.text(doc, entry.get("python"), here + ("python",), version=True),
                result=result,
                stage=self.text(doc, entry.get("stage"), here + ("stage",)),
                source=self.source(doc, entry, here),
                package=package,
                version=version,
                installed=installed,
                error=str(entry.get("error") or "").strip(),
                checked=str(entry.get("checked") or "").strip(),
                distribution=str(entry.get("distribution") or "tensorflow").strip(),
                constraints=self.texts(doc, entry["constraints"], here + ("constraints",)) if "constraints" in entry else (),
                stages=self.texts(doc, entry["stages"], here + ("stages",)) if "stages" in entry else (),
            )

    def check_cited_evidence(self) -> None:
        for doc, keys, row in self.cited_evidence:
            if row not in self.evidence:
                raise doc.fail(keys, f"evidence row {row!r} is not in any evidence: table")

    def add_package_families(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for name, entry in self.mapping(doc, value, keys).items():
            here = keys + (name,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("members", "stack", "follows", "source"), here)
            self.families[str(name)] = Family(
                name=str(name),
                members=self.texts(doc, entry.get("members"), here + ("members",)),
                stack=self.flag(doc, entry.get("stack", "false"), here + ("stack",)),
                follows=self.text(doc, entry["follows"], here + ("follows",)) if entry.get("follows") else None,
                source=self.source(doc, entry, here),
            )

    def add_variants(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for i, entry in enumerate(self.listing(doc, value, keys)):
            here = keys + (i,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(
                doc, entry, ("pattern", "variant", "packages", "channels", "select", "gpu_select", "source"), here
            )
            pattern = self.text(doc, entry.get("pattern"), here + ("pattern",))
            try:
                re.compile(pattern)
            except re.error as exc:
                raise doc.fail(here + ("pattern",), f"pattern {pattern!r} is not a regular expression ({exc})") from None
            self.variants.append(
                Variant(
                    pattern=pattern,
                    variant=self.text(doc, entry.get("variant"), here + ("variant",)),
                    packages=self.texts(doc, entry.get("packages"), here + ("packages",)),
                    source=self.source(doc, entry, here),
                    channels=self.texts(doc, entry["channels"], here + ("channels",)) if "channels" in entry else (),
                    select=self.text(doc, entry["select"], here + ("select",)) if "select" in entry else None,
                    gpu_select=self.text(doc, entry["gpu_select"], here + ("gpu_select",)) if "gpu_select" in entry else None,
                )
            )

    def add_judged(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for package, entry in self.mapping(doc, value, keys).items():
            here = keys + (package,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("declared_rule", "declared_severity", "breaks_rule", "scope", "source"), here)
            severity = self.text(doc, entry.get("declared_severity"), here + ("declared_severity",))
            if severity not in SEVERITIES:
                raise doc.fail(here + ("declared_severity",), f"declared_severity must be one of {', '.join(SEVERITIES)}")
            self.judged[str(package)] = Judgement(
                package=str(package),
                declared_rule=self.text(doc, entry.get("declared_rule"), here + ("declared_rule",)),
                declared_severity=severity,
                breaks_rule=self.text(doc, entry.get("breaks_rule"), here + ("breaks_rule",)),
                source=self.source(doc, entry, here),
                scope=self.scope(doc, entry, here, default=UPSTREAM),
            )

    def add_python_floors(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for i, entry in enumerate(self.listing(doc, value, keys)):
            here = keys + (i,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("package", "versions", "python", "source"), here)
            self.python_floors.append(PythonFloor(
                package=self.text(doc, entry.get("package"), here + ("package",)),
                versions=self.text(doc, entry.get("versions"), here + ("versions",), spec=True),
                python=self.text(doc, entry.get("python"), here + ("python",), version=True),
                source=self.source(doc, entry, here),
            ))

    def add_rulebook(self, doc: _Doc, value: Any, keys: tuple) -> None:
        entries = self.mapping(doc, value, keys)
        self.unknown_keys(doc, entries, Rulebook._fields, keys)
        for name, entry in entries.items():
            here = keys + (name,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("source", "why"), here)
            self.rulebook[str(name)] = self.source(doc, entry, here)

    def add_newest(self, doc: _Doc, value: Any, keys: tuple) -> None:
        for package, entry in self.mapping(doc, value, keys).items():
            here = keys + (package,)
            entry = self.mapping(doc, entry, here)
            self.unknown_keys(doc, entry, ("version", "source"), here)
            version = self.text(doc, entry.get("version"), here + ("version",), version=True)
            self.newest[str(package)] = Newest(str(package), version, self.source(doc, entry, here))

    def build(self, files: tuple[str, ...]) -> Knowledge:
        return Knowledge(
            lines=self.lines,
            breaks=tuple(self.ranged_breaks),
            channel_builds=tuple(self.channel_builds.values()),
            channels=self.channels,
            evidence=self.evidence,
            toolkits=tuple(sorted(self.toolkits.values(), key=lambda t: parse_version(t.cuda))),
            cuda_families=self.cuda_families,
            kernels=tuple(self.kernels),
            windows_native_gpu=self.windows_native_gpu,
            wheel_cuda_libraries=self.wheel_cuda_libraries,
            families=self.families,
            member_index={m: fam for fam in self.families.values() for m in fam.members},
            variants=tuple(self.variants),
            judged=self.judged,
            python_floors=tuple(self.python_floors),
            rulebook=Rulebook(**self.rulebook),
            newest=self.newest,
            sources=self.sources,
            files=files,
        )


def build(docs: list[_Doc]) -> Knowledge:
    """Validate the parsed files, in order, into one :class:`Knowledge` (later files win)."""
    builder = _Builder()
    for doc in docs:
        builder.add_file_sources(doc)
    for doc in docs:
        builder.add(doc)
    builder.check_cited_evidence()
    return builder.build(tuple(str(d.path) for d in docs))


def _where(keys: Sequence[Any]) -> str:
    if not keys:
        return "the file"
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
