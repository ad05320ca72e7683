"""Plain package views, the user's requests and channel identity.

Everything here is plain data: the conda adapter and the prefix reader turn their
records into :class:`PackageView`; the rules only ever see these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional


__all__ = [
    "PIP_CHANNEL",
    "PackageView",
    "Request",
    "channel_label",
    "classify_channel",
    "depend_spec",
    "normalize_name",
]

#: What conda itself shows as the channel of a pip-installed package.
PIP_CHANNEL = "pypi"

_DEFAULTS_PATHS = (
    "pkgs/main", "pkgs/r", "pkgs/free", "pkgs/msys2", "pkgs/pro",
    "repo/main", "repo/r", "repo/msys2",  # repo.anaconda.cloud, Anaconda's commercial mirror of defaults
)
_SUBDIR = re.compile(r"^(noarch|(linux|osx|win|emscripten|wasi|zos|freebsd)-[a-z0-9_]+)$")
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
def classify_channel(*names: Optional[str]) -> str:
    """One identity for a channel, from whatever conda or a file gives us.

    ``defaults`` (its canonical name), ``pkgs/main`` or a URL ending in it are all
    ``defaults``; ``anaconda`` and ``conda-forge`` are themselves whether named or given
    as a URL under any ``channel_alias``; ``pypi`` is pip; anything else keeps its own
    (last path) name. An empty answer means "no channel known" (upstream facts apply).
    """
    for raw in names:
        if not raw:
            continue
        text = str(raw).strip().rstrip("/")
        if text == "defaults":
            return "defaults"
        path = re.sub(r"^[a-z][a-z0-9+.\-]*://[^/]*", "", text) if "://" in text else text
        parts = [p for p in path.split("/") if p]
        if parts and _SUBDIR.match(parts[-1]):
            parts.pop()
        if "label" in parts[1:]:  # conda-forge/label/cf202003 is still conda-forge
            parts = parts[: parts.index("label", 1)]
        if not parts:
            continue
        tail2 = "/".join(parts[-2:])
        if tail2 in _DEFAULTS_PATHS:
            return "defaults"
        return parts[-1]
    return ""


def channel_label(channel: str) -> str:
    """How a channel reads in a message: ``defaults``, ``conda-forge``, ``pip``, ``upstream``."""
    if channel == PIP_CHANNEL:
        return "pip"
    return channel or "upstream"


@dataclass(frozen=True)
class PackageView:
    """A package as the rules see it: conda record, pip distribution, or a user's spec."""

    name: str
    version: str
    build: str = ""
    channel: str = ""
    subdir: str = ""
    depends: tuple[str, ...] = field(default=(), compare=False)
    #: Where ``channel`` is unknown (an environment file's entry without ``channel::``):
    #: the channels it may come from, in the file's order. Not a claim that it does.
    candidates: tuple[str, ...] = field(default=(), compare=False)

    @property
    def from_pip(self) -> bool:
        return self.channel == PIP_CHANNEL

    def label(self) -> str:
        """``tensorflow 2.10.0 (defaults)``; a spec without a channel is just ``name version``."""
        if not self.channel:
            return f"{self.name} {self.version}"
        return f"{self.name} {self.version} ({channel_label(self.channel)})"



@dataclass(frozen=True)
class Request:
    """Something the user explicitly asked for: ``tensorflow=2.9.1`` -> name and version."""

    name: str
    version: str = ""
    channel: str = ""
    build: str = ""

    @property
    def pins_version(self) -> bool:
        return self.version not in ("", "*")


def depend_spec(depends: Iterable[str], name: str) -> Optional[str]:
    """The version expression ``depends`` put on ``name``, all of them joined as conda ANDs
    them (``numpy >=1.22,<2.0a0`` and ``numpy >=1.23.5,<2.0a0``); ``*`` for any; None."""
    specs = []
    for dep in depends:
        parts = dep.split()
        if parts and parts[0] == name:
            specs.append(parts[1] if len(parts) > 1 else "*")
    if not specs:
        return None
    bounded = [spec for spec in specs if spec != "*"]
    if not bounded:
        return "*"
    if len(bounded) > 1 and any("|" in spec for spec in bounded):
        return bounded[0]  # an "or" does not join with "," — keep the first, as before
    return ",".join(bounded)


def normalize_name(name: str) -> str:
    """PEP 503 normalisation (``tf_keras`` -> ``tf-keras``): how conda spells pip's names too."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def index_by_name(views: Iterable[PackageView]) -> dict[str, list[PackageView]]:
    """Group views by name (a name can appear twice: once from conda, once from pip)."""
    out: dict[str, list[PackageView]] = {}
    for view in views:
        out.setdefault(view.name, []).append(view)
    return out
