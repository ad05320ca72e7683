"""Match specs read as conda reads them: a user's spec, an environment file's entry, a
lock file's URL. What conda's MatchSpec makes of a string (conda/models/match_spec.py,
``_parse_spec_str``), re-derived for what the checker needs: the name, the channel, and
whether the version expression admits one version, one ``major.minor`` line, or more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional
from urllib.parse import unquote

from .errors import SpecError
from .packages import _NAME, _SUBDIR, PackageView, Request, classify_channel
from .versions import parse_version

__all__ = ["SpecReading", "parse_package_spec", "parse_request", "read_package_url", "read_spec", "redact"]

_EXACT_SPEC = re.compile(
    rf"^(?:(?P<channel>[^\s]+?)::)?(?P<name>{_NAME})(?P<op>==|=)(?P<version>[^=\s,|<>!~*]+)"
    r"(?:=(?P<build>[^=\s]+))?$"
)
_REQUEST = re.compile(rf"^(?:(?P<channel>[^\s]+?)::)?(?P<name>{_NAME})\s*(?P<rest>.*)$")


def parse_package_spec(text: str) -> PackageView:
    """Parse an exact package spec: ``name=1.2.3``, ``name==1.2.3``, ``ch::name=1.2.3=build``.

    Raises :class:`SpecError` with a one-line message for anything else.
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError("empty package spec")
    cleaned = text.strip()
    match = _EXACT_SPEC.match(cleaned)
    if not match:
        raise SpecError(
            f"cannot read package spec {cleaned!r}: expected name=VERSION, name==VERSION "
            "or channel::name=VERSION[=BUILD]"
        )
    return PackageView(
        name=match.group("name").lower(),
        version=match.group("version"),
        build=match.group("build") or "",
        channel=classify_channel(match.group("channel")),
    )


def parse_request(text: str) -> Optional[Request]:
    """Read a user's match spec loosely (``keras``, ``tensorflow>=2.9``, ``ch::numpy 1.26``)."""
    if not isinstance(text, str):
        return None
    match = _REQUEST.match(text.strip())
    if not match:
        return None
    rest = match.group("rest").strip().lstrip("=").strip()
    parts = rest.replace("=", " ", 1).split() if rest and not rest.startswith(("<", ">", "!", "~")) else rest.split()
    version = parts[0] if parts else ""
    build = parts[1] if len(parts) > 1 else ""
    return Request(match.group("name").lower(), version, classify_channel(match.group("channel")), build)


# --------------------------------------------------------------------------- match specs, read as conda reads them
# What conda's MatchSpec makes of a spec string (conda/models/match_spec.py, _parse_spec_str),
# re-derived for what the checker needs: the name, the channel, and whether the version
# expression admits one version, one major.minor line, or more.

_PACKAGE_EXTENSIONS = (".conda", ".tar.bz2")
#: The checksum conda lets an explicit URL carry: ``#<md5>``, ``#<sha256>`` or ``#sha256:<sha256>``.
_CHECKSUM = re.compile(r"#(?:[0-9a-f]{32}|(?:sha256:)?[0-9a-f]{64})$")
_CONDA_NAME = re.compile(r"^[a-z0-9_][a-z0-9._\-]*$")
_BRACKET_ITEM = re.compile(r"\s*(?P<key>[A-Za-z0-9_\-]+)\s*=\s*"
                           r"(?:'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\"|(?P<bare>[^,\s'\"]*))\s*(?:,|\s|$)")
_BARE_OPERATORS = ("=", "==", "<", ">", "<=", ">=", "!=", "~=")
_VERSION_CHARS = re.compile(r"^[*.+!_0-9a-z]+$")
_GLOB = set("*?[]|^$")
_RANGE = set("<>~|,^$")  # and "!=": a bare "!" is an epoch (1!2.0)


@dataclass(frozen=True)
class SpecReading:
    """A conda match spec as conda reads it, reduced to what the checker can judge.

    ``version`` is conda's version expression after conda's own rewriting (``=1.2``
    means ``1.2*``, ``==1.2`` means ``1.2``); ``exact`` is the one version it admits when
    it admits one (``==1.2.3``, ``1.2.3``, ``=1.2.3=build``, ``=1.2.3``); ``line`` the
    ``major.minor`` line it names when that is all it says (``=2.10``, ``2.10.*``).
    Anything else (a range, alternatives, a major, no version) has neither.
    """

    text: str
    name: str
    version: str = ""
    build: str = ""
    channel: str = ""
    subdir: str = ""
    exact: str = ""
    line: str = ""

    @property
    def literal_build(self) -> str:
        """The build string when it names one build (``py311h0_0``), not a glob (``cuda*``)."""
        return "" if (_GLOB | {" "}) & set(self.build) else self.build

    def view(self, version: Optional[str] = None, candidates: tuple[str, ...] = ()) -> PackageView:
        return PackageView(self.name, version if version is not None else self.exact, self.literal_build,
                           self.channel, self.subdir, candidates=candidates)


def read_spec(text: str) -> SpecReading:
    """Read a conda match spec the way conda does; :class:`SpecError` when conda would not.

    Reads ``name``, ``name 1.2.3 build``, ``name=1.2.3=build``, ``name==1.2.3``,
    ``name >=1.2,<2``, ``channel[/subdir]::name ...``, ``name[version='>=1.2', build=...]``,
    a package URL (``…/linux-64/name-1.2.3-build.conda``), with ``# comments``.
    """
    if not isinstance(text, str):
        raise SpecError("a package spec must be text")
    written = text.strip()
    spec = written.split("#", 1)[0].split(" if ", 1)[0].strip()
    if not spec:
        raise SpecError(f"empty package spec {_short(written)!r}")
    if spec.endswith(_PACKAGE_EXTENSIONS):
        return replace(read_package_url(spec), text=written)
    brackets: dict[str, str] = {}
    if "[" in spec:
        spec, brackets = _brackets(spec, written)
    if spec.endswith(")") and "(" in spec:  # conda's legacy ``(optional)`` section, dropped
        spec = spec[: spec.rindex("(")].rstrip()
    channel_text = ""
    pieces = spec.rsplit(":", 2)
    if len(pieces) == 3:
        channel_text, _, spec = pieces
    elif len(pieces) == 2:
        spec = pieces[1]  # a namespace, which conda ignores
    name_match = re.match(r"[^\s=<>!~]*", spec.strip())
    name = name_match.group(0).lower() if name_match else ""
    rest = spec.strip()[len(name):]
    rest = "" if len(rest) < 2 else rest.strip()  # conda reads ``numpy=`` and ``numpy>`` as any numpy
    if not name:
        raise SpecError(f"cannot read package spec {_short(written)!r}: no package name")
    if "*" not in name and not _CONDA_NAME.match(name):
        raise SpecError(f"cannot read package spec {_short(written)!r}: {name[:40]!r} is not a package name")
    version, build = _version_and_build(rest)
    if "version" in brackets:
        version = _rewrite_version(brackets["version"].replace(" ", ""), None)
    if version in _BARE_OPERATORS:
        raise SpecError(f"cannot read package spec {_short(written)!r}: {version!r} with no version")
    if "build" in brackets:
        build = brackets["build"]
    subdir = brackets.get("subdir") or _subdir_of(brackets.get("channel", "")) or _subdir_of(channel_text)
    channel_text = brackets.get("channel") or channel_text
    if "'" in version or '"' in version:
        raise SpecError(f"cannot read package spec {_short(written)!r}: conda rejects quotes in a version")
    exact, line = ("", "") if "*" in name else _pin_of(version)
    problem = _version_problem(exact or line)
    if problem:
        raise SpecError(f"cannot read package spec {_short(written)!r}: {problem}")
    return SpecReading(written, name, version, build or "", classify_channel(channel_text), subdir, exact, line)


def read_package_url(text: str) -> SpecReading:
    """A package URL or path as ``conda list --explicit`` writes it:
    ``https://conda.anaconda.org/conda-forge/linux-64/tensorflow-base-2.10.0-cuda112py39h2957820_0.tar.bz2``
    (``.conda`` too, an optional ``#md5`` / ``#sha256:`` suffix). The URL names the channel
    and subdir; the file name, split from the right, names the package, version and build.
    """
    written = text.strip()
    url = _CHECKSUM.sub("", written)
    head, _, filename = url.replace("\\", "/").rpartition("/")
    filename = unquote(filename)
    extension = next((e for e in _PACKAGE_EXTENSIONS if filename.endswith(e)), None)
    parts = filename[: -len(extension)].rsplit("-", 2) if extension and "#" not in url else []
    if len(parts) != 3 or not all(parts) or any(c.isspace() for c in url):
        raise SpecError(f"{_short(written)!r} is not a package URL (…/SUBDIR/NAME-VERSION-BUILD.conda or .tar.bz2)")
    name, version, build = parts
    if not _CONDA_NAME.match(name.lower()):
        raise SpecError(f"{_short(written)!r} is not a package URL: {name[:40]!r} is not a package name")
    if _version_problem(version):
        raise SpecError(f"{_short(written)!r} is not a package URL: {_version_problem(version)}")
    subdir = _subdir_of(head)
    # A URL without a subdir is a file, not a channel: conda cannot say where it came from either.
    channel = classify_channel(head) if subdir else ""
    return SpecReading(written, name.lower(), version, build, channel, subdir, exact=version)


def _brackets(spec: str, written: str) -> tuple[str, dict[str, str]]:
    start, end = spec.find("["), spec.rfind("]")
    outside = spec[:start] + spec[end + 1:] if 0 <= start < end else "["
    if "[" in outside or "]" in outside:
        raise SpecError(f"cannot read package spec {_short(written)!r}: unbalanced or repeated [...]")
    body, found, at = spec[start + 1:end], {}, 0
    while at < len(body):
        if body[at] in ", ":
            at += 1
            continue
        item = _BRACKET_ITEM.match(body, at)
        if item is None or item.end() == at:
            raise SpecError(f"cannot read package spec {_short(written)!r}: the [...] part is not key=value pairs")
        value = next(v for v in (item["sq"], item["dq"], item["bare"]) if v is not None)
        found[item["key"].lower()] = value
        at = item.end()
    return outside.strip(), found


def _version_and_build(rest: str) -> tuple[str, Optional[str]]:
    """Split ``>=1.0 , < 2.0 py34_0`` or ``=1.2.3=0`` into conda's version and build.

    The build is what follows the first space or ``=`` that is not part of an operator
    and after which no operator or ``-`` comes; the version is the rest, spaces dropped.
    """
    if not rest:
        return "", None
    version, build = rest, None
    for at in range(1, len(rest)):
        if rest[at] not in " =" or rest[at - 1] in "=!|,<>~":
            continue
        tail = rest[at + 1:].strip()
        if tail and not any(c in tail for c in "-=,|<>~"):
            version, build = rest[:at], tail
            break
    return _rewrite_version(version.replace(" ", ""), build), build


def _rewrite_version(version: str, build: Optional[str]) -> str:
    """conda's own rewriting: ``==1.2`` is ``1.2``; ``=1.2`` is ``1.2*`` unless a build follows."""
    if version in _BARE_OPERATORS:
        return version  # an error unless a [version=...] replaces it
    if not version.startswith("="):
        return version
    plain = version.lstrip("=")
    if version.startswith("==") and build is None:
        return plain
    if not any(c in plain for c in "=,|"):
        return plain + "*" if build is None and not plain.endswith("*") else plain
    return version


def _pin_of(version: str) -> tuple[str, str]:
    """``(exact, line)`` for a rewritten version expression; both empty when it admits more."""
    if version in ("", "*") or _RANGE & set(version) or "!=" in version or version.startswith("="):
        return "", ""
    if not version.endswith("*"):
        return ("", "") if "*" in version else (version, "")  # a bare version is conda's ==
    head = version.rstrip("*").rstrip(".")
    if not head or "*" in head:
        return "", ""
    parsed = parse_version(head)
    if parsed is None:
        return head, ""  # unreadable (``=custom``): the rules say they cannot read it
    if len(parsed.release) >= 3:
        return head, ""  # ``=2.10.0`` is 2.10.0.*: that one release
    plain = parsed.pre is None and parsed.post is None and parsed.dev is None and parsed.local is None
    if len(parsed.release) == 2 and plain:
        return "", head
    return "", ""


def _version_problem(version: str) -> str:
    """Why conda would refuse ``version`` as a version (its VersionOrder's checks), or ``""``."""
    if not version:
        return ""
    text = version.strip().lower()
    if not _VERSION_CHARS.match(text):
        if "-" in text and "_" not in text and _VERSION_CHARS.match(text.replace("-", "_")):
            text = text.replace("-", "_")  # conda reads 2.15.0-1 as 2.15.0_1
        else:
            return f"{version[:40]!r} is not a version conda reads (invalid characters)"
    if text.count("!") > 1 or text.count("+") > 1:
        return f"{version[:40]!r} is not a version conda reads (more than one '!' or '+')"
    epoch, _, rest = text.rpartition("!")
    if epoch and not epoch.isdigit():
        return f"{version[:40]!r} is not a version conda reads (the epoch must be an integer)"
    if any(not part for piece in rest.split("+") for part in piece.replace("_", ".").split(".")):
        return f"{version[:40]!r} is not a version conda reads (an empty component)"
    return ""


def _subdir_of(location: str) -> str:
    parts = [p for p in re.sub(r"^[a-z][a-z0-9+.\-]*://[^/]*", "", location.strip()).split("/") if p]
    return parts[-1] if parts and _SUBDIR.match(parts[-1]) else ""


def redact(text: str) -> str:
    """A URL fit to print: no ``user:password@``, no ``/t/<token>/``."""
    text = re.sub(r"(?<=://)[^/@\s]+@", "***@", text)
    return re.sub(r"/t/[^/\s]+/", "/t/***/", text)


def _short(text: str, limit: int = 120) -> str:
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
