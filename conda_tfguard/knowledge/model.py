"""The knowledge base's values: sourced facts as immutable tuples, and the lookups on them.

Nothing here reads a file (that is :mod:`.loader`) or touches the outside world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple, Optional

from ..versions import line_of, parse_version, pep440_contains

SEVERITIES = ("info", "warn", "block")


# --------------------------------------------------------------------------- values
# The facts are NamedTuples: immutable values, and six times cheaper to define than
# dataclasses, which matters in the import that happens inside a conda solve.
_NO_REQUIREMENTS: Mapping = MappingProxyType({})


class Source(NamedTuple):
    id: str
    url: str
    checked: str
    title: str = ""


class Requirement(NamedTuple):
    """What a TensorFlow wheel's metadata declares for one package (PEP 440)."""

    package: str
    declared: str
    source: Source


class Break(NamedTuple):
    """A combination known to fail at run time, whatever the metadata says."""

    package: str
    versions: str
    why: str
    source: Source


class PythonSupport(NamedTuple):
    supported: tuple[str, ...]
    source: Source


class GpuBuild(NamedTuple):
    """The CUDA and cuDNN an upstream TensorFlow line was built and tested with."""

    cuda: Optional[str]
    cudnn: Optional[str]
    source: Source


class ReleaseFacts(NamedTuple):
    """Everything known about one TensorFlow version (line facts with patches applied)."""

    line: str
    python: Optional[PythonSupport] = None
    requires: Mapping[str, Requirement] = _NO_REQUIREMENTS
    breaks: tuple[Break, ...] = ()
    gpu: Optional[GpuBuild] = None
    released: str = ""


class Patch(NamedTuple):
    versions: str
    python: Optional[PythonSupport] = None
    requires: Mapping[str, Requirement] = _NO_REQUIREMENTS
    breaks: tuple[Break, ...] = ()
    gpu: Optional[GpuBuild] = None


class Line(NamedTuple):
    facts: ReleaseFacts
    patches: tuple[Patch, ...] = ()


class ChannelBuild(NamedTuple):
    """What a conda channel actually built for a TensorFlow line (GPU builds: ``subdirs``)."""

    channel: str
    line: str
    python: Optional[tuple[str, ...]]
    cuda: Optional[tuple[str, ...]]
    source: Source
    subdirs: Optional[tuple[str, ...]] = None


class Toolkit(NamedTuple):
    """The minimum NVIDIA driver of one CUDA toolkit release."""

    cuda: str
    linux: Optional[str]
    windows: Optional[str]
    source: Source


class CudaFamily(NamedTuple):
    """The minor-version-compatibility driver floor of one CUDA major."""

    major: int
    linux: Optional[str]
    windows: Optional[str]
    source: Source


class Kernels(NamedTuple):
    tensorflow: str
    min_compute_capability: str
    source: Source


class Family(NamedTuple):
    """Packages that are one thing under several names (``tensorflow``, ``tensorflow-base``)."""

    name: str
    members: tuple[str, ...]
    stack: bool
    follows: Optional[str]
    source: Source


class Variant(NamedTuple):
    """A build-string pattern that tells a build's compute variant (gpu, cpu, mkl, eigen)."""

    pattern: str
    variant: str
    packages: tuple[str, ...]
    source: Source
    channels: tuple[str, ...] = ()
    select: Optional[str] = None
    gpu_select: Optional[str] = None

    def match(self, build: str) -> Optional[re.Match]:
        return _regex(self.pattern).search(build)


class Judgement(NamedTuple):
    """How a TensorFlow requirement on one package is judged: rule ids and severities."""

    package: str
    declared_rule: str
    declared_severity: str
    breaks_rule: str
    source: Source


class Rulebook(NamedTuple):
    """Facts that decide how strictly a difference is judged."""

    cuda_major_must_match: Optional[Source] = None
    cudnn_major_must_match: Optional[Source] = None


class Newest(NamedTuple):
    package: str
    version: str
    source: Source


@dataclass(frozen=True)
class Knowledge:
    """The loaded knowledge base. Lookups are methods; nothing here touches the outside."""

    lines: Mapping[str, Line] = field(default_factory=dict)
    channel_builds: Mapping[tuple[str, str], ChannelBuild] = field(default_factory=dict)
    toolkits: tuple[Toolkit, ...] = ()
    cuda_families: Mapping[int, CudaFamily] = field(default_factory=dict)
    kernels: tuple[Kernels, ...] = ()
    windows_native_gpu: Optional[tuple[str, Source]] = None
    families: Mapping[str, Family] = field(default_factory=dict)
    variants: tuple[Variant, ...] = ()
    judged: Mapping[str, Judgement] = field(default_factory=dict)
    rulebook: Rulebook = Rulebook()
    newest: Mapping[str, Newest] = field(default_factory=dict)
    sources: Mapping[str, Source] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    member_index: Mapping[str, Family] = field(default_factory=dict)

    # -- TensorFlow releases
    def release(self, version: str) -> Optional[ReleaseFacts]:
        """Facts for one TensorFlow version, patches applied; ``None`` when not known."""
        line = line_of(version)
        entry = self.lines.get(line) if line else None
        if entry is None:
            return None
        facts = entry.facts
        for patch in entry.patches:
            if pep440_contains(patch.versions, version):
                facts = facts._replace(
                    python=patch.python or facts.python,
                    requires={**facts.requires, **patch.requires},
                    breaks=facts.breaks + patch.breaks,
                    gpu=patch.gpu or facts.gpu,
                )
        return facts

    def newest_line(self) -> Optional[str]:
        if not self.lines:
            return None
        return max(self.lines, key=lambda line: parse_version(line))

    def known_lines(self) -> list[str]:
        return sorted(self.lines, key=lambda line: parse_version(line))

    def channel_build(self, channel: str, version: str) -> Optional[ChannelBuild]:
        return self.channel_builds.get((channel, line_of(version) or ""))

    # -- package families
    def family_of(self, name: str) -> Optional[Family]:
        return self.member_index.get(name)

    def variant_of(self, name: str, build: str) -> Optional[tuple[str, Optional[str], Variant]]:
        """``(variant, cuda, fact)`` for a build string: ``cuda120py311h..`` -> gpu, 12.0."""
        for variant in self.variants:
            if name not in variant.packages:
                continue
            match = variant.match(build or "")
            if match:
                digits = match.groupdict().get("cuda")
                return variant.variant, _cuda_from_digits(digits), variant
        return None

    # -- NVIDIA
    def min_driver(self, cuda: str, platform: str) -> Optional[tuple[str, Toolkit]]:
        """The lowest driver that runs CUDA ``cuda`` (``X.Y`` or ``X.Y.Z``) on a platform."""
        wanted = parse_version(cuda)
        if wanted is None:
            return None
        depth = len(wanted.release)
        rows = [
            t for t in self.toolkits
            if parse_version(t.cuda).release[:depth] == wanted.release[:depth]
            and _driver_field(t, platform)
        ]
        if not rows:
            return None
        best = min(rows, key=lambda t: parse_version(_driver_field(t, platform)))
        return _driver_field(best, platform), best

    def cuda_for_driver(self, driver: str, platform: str) -> Optional[str]:
        """The newest CUDA toolkit (X.Y) whose minimum driver is at or below ``driver``."""
        have = parse_version(driver)
        if have is None:
            return None
        fits = [
            t.cuda for t in self.toolkits
            if _driver_field(t, platform) and parse_version(_driver_field(t, platform)) <= have
        ]
        if not fits:
            return None
        return line_of(max(fits, key=parse_version))

    def family_floor(self, major: int, platform: str) -> Optional[tuple[str, CudaFamily]]:
        family = self.cuda_families.get(major)
        if family is None:
            return None
        value = _driver_field(family, platform)
        return (value, family) if value else None

    def min_compute_capability(self, version: str) -> Optional[Kernels]:
        for kernels in self.kernels:
            if pep440_contains(kernels.tensorflow, version):
                return kernels
        return None


def _driver_field(row: Any, platform: str) -> Optional[str]:
    return row.windows if platform.startswith("win") else row.linux


def _cuda_from_digits(digits: Optional[str]) -> Optional[str]:
    """conda-forge's build string digits: ``120`` -> ``12.0``, ``92`` -> ``9.2``."""
    if not digits or not digits.isdigit() or len(digits) < 2:
        return None
    return f"{int(digits[:-1])}.{digits[-1]}"


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)
