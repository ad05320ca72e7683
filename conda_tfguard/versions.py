"""Version logic that never raises on odd input.

Two kinds of version constraints meet here:

* PEP 440 specifier sets, as the knowledge base writes them (they come from wheel
  metadata): ``>=1.23.5,<2.0.0``.
* conda match-spec version expressions, as packages' ``depends`` and users write them:
  ``>=11.2,<12.0a0``, ``1.26.*``, ``=2.15``, ``2.10.0``, ``>=3.9|<3.0``.

Versions themselves come from conda records and pip metadata, so they are tolerant:
``1.0_1`` (conda's underscore), ``2.10.0rc1``, a local part, or garbage. Anything that
cannot be read as a version is ``None``, and callers treat ``None`` as "unknown".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = [
    "conda_spec_floor",
    "conda_spec_bounds",
    "conda_spec_contains",
    "line_of",
    "parse_specifier",
    "parse_version",
    "pep440_contains",
]

_UNDERSCORE = re.compile(r"(?<=[0-9])_(?=[0-9])")
_CONDA_OP = re.compile(r"^(>=|<=|==|!=|~=|>|<|=)?\s*(.+)$")


@lru_cache(maxsize=4096)
def parse_version(text: object) -> Optional[Version]:
    """Read a conda or PEP 440 version string; ``None`` when it is not one."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    # packaging reads "v2" as 2 and any Unicode digit as a digit; conda reads neither so.
    if not text or len(text) > 100 or not text[0].isascii() or not text[0].isdigit() or not text.isascii():
        return None
    for candidate in (text, _UNDERSCORE.sub(".", text)):
        try:
            return Version(candidate)
        except InvalidVersion:
            continue
    return None


def line_of(version: object) -> Optional[str]:
    """The ``major.minor`` line of a version (``2.15.1`` -> ``2.15``), or ``None``."""
    parsed = parse_version(version) if not isinstance(version, Version) else version
    if parsed is None:
        return None
    release = parsed.release + (0,)
    return f"{release[0]}.{release[1]}"


@lru_cache(maxsize=1024)
def parse_specifier(text: str) -> Optional[SpecifierSet]:
    """A PEP 440 specifier set, or ``None`` when the text is not one."""
    try:
        return SpecifierSet(text)
    except (InvalidSpecifier, TypeError):
        return None


def pep440_contains(spec: str, version: object) -> Optional[bool]:
    """Whether ``version`` satisfies the PEP 440 ``spec``; ``None`` when either is unreadable."""
    parsed = parse_version(version) if not isinstance(version, Version) else version
    specifier = parse_specifier(spec)
    if parsed is None or specifier is None:
        return None
    return specifier.contains(parsed, prereleases=True)


@lru_cache(maxsize=4096)
def conda_spec_contains(spec: str, version: str) -> Optional[bool]:
    """Whether ``version`` satisfies a conda version expression.

    Supports what conda's ``depends`` and users write: ``|`` (or) over ``,`` (and) over
    operators ``>= <= > < == != ~= =`` and globs (``1.2.*``, ``1.2*``), a bare version
    (exact), and ``*`` (anything). Returns ``None`` when the expression or the version
    cannot be read, so callers can say "unknown" instead of guessing.
    """
    parsed = parse_version(version)
    if parsed is None or not isinstance(spec, str):
        return None
    spec = spec.strip()
    if spec in ("", "*"):
        return True
    results = []
    for alternative in spec.split("|"):
        terms = [t for t in alternative.split(",") if t.strip()]
        if not terms:
            return None
        verdicts = [_conda_term(term.strip(), parsed, version) for term in terms]
        if any(v is None for v in verdicts):
            return None
        results.append(all(verdicts))
    return any(results)


def _conda_term(term: str, parsed: Version, raw: str) -> Optional[bool]:
    match = _CONDA_OP.match(term)
    if not match:
        return None
    op, operand = match.group(1) or "", match.group(2).strip()
    if operand.endswith(".*") or operand.endswith("*") or op == "=":
        if op not in ("", "=", "=="):
            # ">=1.2.*" is legal conda: the glob is dropped.
            operand = operand.rstrip("*").rstrip(".")
        else:
            return _startswith(operand.rstrip("*").rstrip("."), parsed, raw)
    if op == "~=":
        specifier = parse_specifier(f"~={operand}")
        return None if specifier is None else specifier.contains(parsed, prereleases=True)
    target = parse_version(operand)
    if target is None:
        return None
    if op in ("", "=="):
        return parsed == target
    return {
        ">=": parsed >= target,
        "<=": parsed <= target,
        ">": parsed > target,
        "<": parsed < target,
        "!=": parsed != target,
    }[op]


def _startswith(prefix: str, parsed: Version, raw: str) -> Optional[bool]:
    """conda's fuzzy ``=1.2`` / ``1.2.*``: the version's components start with the prefix's."""
    if prefix == "":
        return True
    wanted = parse_version(prefix)
    if wanted is None:
        return None
    if wanted.release != parsed.release[: len(wanted.release)]:
        return False
    # ``=2.10`` matches 2.10.0rc1 and 2.10.1 alike; a prefix with a pre-release
    # (``=2.10.0rc``) must match that too.
    if wanted.pre is not None and wanted.pre != parsed.pre:
        return False
    return True


_UPPER, _LOWER = frozenset({"<", "<="}), frozenset({">", ">="})


def conda_spec_bounds(spec: str, region: str) -> bool:
    """Whether the conda expression ``spec`` bounds the side(s) on which the PEP 440
    range ``region`` is open: ``numpy >=1.21,<3`` bounds the top, so it was written
    knowing of numpy 2 (``region`` ``>=2``); ``numpy >=1.20`` was not.

    A record's spec is evidence about a break only on a side it bounds; a region open on
    neither side needs a spec bounded on at least one.
    """
    specifier = parse_specifier(region)
    if specifier is None or not isinstance(spec, str):
        return False
    ops = {s.operator for s in specifier}
    open_up = not ops & (_UPPER | {"==", "===", "~="})
    open_down = not ops & (_LOWER | {"==", "===", "~="})
    for alternative in spec.split("|"):
        lower = upper = False
        for term in (t.strip() for t in alternative.split(",") if t.strip() and t.strip() != "*"):
            match = _CONDA_OP.match(term)
            op = match.group(1) or "" if match else ""
            if op in _UPPER:
                upper = True
            elif op in _LOWER:
                lower = True
            elif op in ("", "=", "==", "~="):
                lower = upper = True
        if (open_up and not upper) or (open_down and not lower) or not (lower or upper):
            return False
    return True


def conda_spec_floor(spec: str) -> Optional[str]:
    """The lowest version a conda expression admits, where a term says it
    (``>=10.1,<10.2`` -> ``10.1``, ``<12`` -> None, ``8.1.*`` -> ``8.1``)."""
    for term in (t.strip() for t in str(spec).split("|")[0].split(",")):
        match = _CONDA_OP.match(term)
        if match and (match.group(1) or "") in (">=", ">", "==", "=", "~=", ""):
            operand = match.group(2).strip().rstrip("*").rstrip(".")
            if parse_version(operand) is not None:
                return operand
    return None
