"""The knowledge base's values: sourced facts as immutable tuples, and the lookups on them.

Nothing here reads a file (that is :mod:`.loader`) or touches the outside world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple, Optional

from ..versions import line_of, parse_specifier, parse_version, pep440_contains

SEVERITIES = ("info", "warn", "block")


# --------------------------------------------------------------------------- values
# The facts are NamedTuples: immutable values, and six times cheaper to define than
# dataclasses, which matters in the import that happens inside a conda solve.
_NO_REQUIREMENTS: Mapping = MappingProxyType({})

# The two scopes a fact can have. A conda build is not a PyPI wheel: the channel built it
# for other Pythons, other CUDA, other pins. A fact read from the wheels (their tags,
# their Requires-Dist, upstream's tested CUDA) judges only what the wheels are; a fact
# about TensorFlow's code or a binary interface (numpy 2 under a numpy-1 build, the Keras
# line) holds whatever built it.
UPSTREAM = "upstream"  #: TensorFlow's wheels: pip installs, and specs that name no channel
ANY = "any"  #: every build: the wheels and each channel's
SCOPES = (UPSTREAM, ANY)


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
    """A combination known to fail at run time, whatever the metadata says.

    ``evidence`` names the rows of the evidence file that show it (observed, not cited).
    """

    package: str
    versions: str
    why: str
    source: Source
    scope: str = ANY
    evidence: tuple[str, ...] = ()
    tensorflow: str = ""  # the TensorFlow releases it holds for (PEP 440), on a top-level fact
    severity: str = "block"  # "warn" where only some uses fail (RNN layers, not import)
    stage: str = ""  # the extra probe stage that shows it (rnn), where the fixed ones do not


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
    """What a conda channel built for a TensorFlow line: ``None`` is "not known", not "none".

    ``versions`` narrows the entry to some releases of the line (``2.4.1``), ``subdirs``
    and ``variants`` (gpu, cpu, mkl, eigen) to some builds; ``pins`` are the builds' run
    depends as conda match-spec version text (``numpy: ">=1.19.2,<2.0a0"``).
    """

    channel: str
    line: str
    python: Optional[tuple[str, ...]]
    cuda: Optional[tuple[str, ...]]
    source: Source
    subdirs: Optional[tuple[str, ...]] = None
    versions: Optional[tuple[str, ...]] = None
    variants: Optional[tuple[str, ...]] = None
    cudnn: Optional[tuple[str, ...]] = None
    pins: Mapping[str, str] = _NO_REQUIREMENTS

    def covers(self, version: str, subdir: str, variant: Optional[str]) -> bool:
        return (
            (self.versions is None or version in self.versions)
            and (self.subdirs is None or not subdir or subdir in self.subdirs)
            and (self.variants is None or variant is None or variant in self.variants)
        )


class Channel(NamedTuple):
    """A channel the knowledge base knows: the package families it publishes."""

    name: str
    carries: tuple[str, ...]
    source: Source
    same_builds_as: Optional[str] = None


#: Probe stages a verify row runs only when its stack asks (``stages: [rnn]``); every other
#: stage (import, op, model, h5, tf_keras) every row runs.
EXTRA_STAGES = ("rnn",)


class Evidence(NamedTuple):
    """One observed combination: real wheels installed side by side, then a probe run."""

    id: str
    tensorflow: str
    python: str
    result: str  # pass | fail
    stage: str
    source: Source
    package: Optional[str] = None  # the package forced to ``version``; None on a control
    version: Optional[str] = None
    installed: Mapping[str, str] = _NO_REQUIREMENTS
    error: str = ""
    checked: str = ""
    distribution: str = "tensorflow"
    constraints: tuple[str, ...] = ()  # pins pip's resolution of the stack obeyed ("protobuf<4")
    stages: tuple[str, ...] = ()  # probe stages run beyond the fixed ones (rnn)

    @property
    def works(self) -> bool:
        return self.result == "pass"

    @property
    def control(self) -> bool:
        return self.package is None

    def ran(self, stage: str) -> bool:
        """Whether this row's probe ran ``stage`` (an extra one only where its stack asked)."""
        return stage not in EXTRA_STAGES or stage in self.stages

    @property
    def observed(self) -> bool:
        """Whether the probe ran: a row that failed to install shows nothing of the stack."""
        return self.stage != "install"


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


class PythonFloor(NamedTuple):
    """The oldest Python some releases of a package support (their Requires-Python)."""

    package: str
    versions: str
    python: str
    source: Source


class Judgement(NamedTuple):
    """How a TensorFlow requirement on one package is judged: rule ids and severities.

    ``scope`` is the reach of the declared range: the wheels' Requires-Dist judge only
    the wheels (``upstream``), unless what they declare holds for every build (``any``:
    the Keras line is TensorFlow's own API).
    """

    package: str
    declared_rule: str
    declared_severity: str
    breaks_rule: str
    source: Source
    scope: str = UPSTREAM


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
    breaks: tuple[Break, ...] = ()  # top-level facts, each over a range of TensorFlow releases
    channel_builds: tuple[ChannelBuild, ...] = ()
    channels: Mapping[str, Channel] = field(default_factory=dict)
    evidence: Mapping[str, Evidence] = field(default_factory=dict)
    toolkits: tuple[Toolkit, ...] = ()
    cuda_families: Mapping[int, CudaFamily] = field(default_factory=dict)
    kernels: tuple[Kernels, ...] = ()
    windows_native_gpu: Optional[tuple[str, Source]] = None
    wheel_cuda_libraries: Optional[tuple[str, Source]] = None  # the TF wheels that load nvidia-* wheels
    families: Mapping[str, Family] = field(default_factory=dict)
    variants: tuple[Variant, ...] = ()
    judged: Mapping[str, Judgement] = field(default_factory=dict)
    python_floors: tuple[PythonFloor, ...] = ()
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
        ranged = tuple(b for b in self.breaks if pep440_contains(b.tensorflow, version))
        if ranged:
            facts = facts._replace(breaks=facts.breaks + ranged)
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

    # -- what channels built and carry
    def builds_channel(self, channel: str) -> str:
        """The channel whose builds ``channel`` serves (``anaconda`` -> ``defaults``)."""
        known = self.channels.get(channel)
        return known.same_builds_as if known is not None and known.same_builds_as else channel

    def channel_build(self, channel: str, version: str, subdir: str = "",
                      variant: Optional[str] = None) -> Optional[ChannelBuild]:
        """What ``channel`` built of ``version`` for ``subdir`` (and build ``variant``), the
        matching entries merged; ``None`` when the knowledge base does not know."""
        home, line = self.builds_channel(channel), line_of(version) or ""
        found = [b for b in self.channel_builds
                 if b.channel == home and b.line == line and b.covers(version, subdir, variant)]
        if not found:
            return None
        merged = found[0]
        for build in found[1:]:
            merged = merged._replace(
                python=_union(merged.python, build.python), cuda=_union(merged.cuda, build.cuda),
                cudnn=_union(merged.cudnn, build.cudnn), pins={**build.pins, **merged.pins},
            )
        return merged

    def carries(self, channel: str, package: str) -> bool:
        """Whether ``channel`` is known to publish ``package`` (by its family)."""
        known = self.channels.get(self.builds_channel(channel))
        if known is None:
            return False
        family = self.member_index.get(package)
        return (family.name if family else package) in known.carries

    def python_floor(self, package: str, versions: str) -> Optional[PythonFloor]:
        """The Python floor of the releases a range starts with (``>=2`` -> numpy 2.0's 3.9)."""
        bounds = parse_specifier(versions)
        starts = [s.version for s in bounds or () if s.operator in (">=", "==", "~=")]
        for floor in self.python_floors:
            if floor.package == package and any(pep440_contains(floor.versions, v) for v in starts):
                return floor
        return None

    # -- what was observed
    def observed(self, tensorflow: str, package: str, version: str) -> tuple[Evidence, ...]:
        """Evidence rows of exactly this TensorFlow release with ``package`` forced to
        exactly ``version``: a row speaks for what it ran, no further (TF 2.12 excludes
        protobuf 4.21.0-4.21.5 but not 4.21.12). Ranges are what ``breaks`` facts are for."""
        want, tf = parse_version(version), parse_version(tensorflow)
        return tuple(
            row for row in self.evidence.values()
            if row.observed and row.package == package and parse_version(row.tensorflow) == tf
            and parse_version(row.version) == want
        )

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


def _union(a: Optional[tuple[str, ...]], b: Optional[tuple[str, ...]]) -> Optional[tuple[str, ...]]:
    if a is None or b is None:
        return a or b
    return tuple(sorted(set(a) | set(b), key=lambda v: parse_version(v) or parse_version("0")))


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
