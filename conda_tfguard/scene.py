"""What the rules look at: the proposal indexed once, and each TensorFlow in it.

A :class:`Scene` answers the questions several rules share: which TensorFlow builds
are in the set and what the knowledge base knows of them, whether the set asks for the
GPU, which CUDA and cuDNN that TensorFlow really loads, what went down since before.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import NamedTuple, Optional

from .findings import Proposal
from .knowledge import UPSTREAM, ChannelBuild, Knowledge, ReleaseFacts
from .packages import PackageView, Request, depend_spec, index_by_name
from .versions import line_of, parse_version, pep440_contains

__all__ = ["GPU_DEPENDS", "TENSORFLOW", "Scene", "Tf"]

TENSORFLOW = "tensorflow"
CUDA = "cuda"  # the knowledge base's family of the CUDA toolkit packages
CHANNEL = "channel"  #: the scope of a conda build: judged by itself and its channel, beside UPSTREAM
#: A conda TensorFlow record that depends on one of these is a GPU build.
GPU_DEPENDS = frozenset({"__cuda", "cudatoolkit", "cuda-version", "cudnn", "cuda-cudart", "cuda-runtime", "nccl"})
#: conda's build strings name the CPython a build is for: ``gpu_py39h…``, ``cuda118py311h…``.
_BUILD_PYTHON = re.compile(r"(?:^|_|\d)py(?P<major>[23])(?P<minor>\d{1,2})(?=h|_|$)")


class Tf(NamedTuple):
    """One TensorFlow in the set: the view, its facts, and what its build says of itself.

    ``scope`` says which facts judge it: ``upstream`` (a pip wheel, or a spec that names
    neither channel nor build) or ``channel`` (a conda build: its depends, its build
    string, and what the knowledge base knows its ``channel`` built, in ``built``).
    ``shadowed_by`` is pip's TensorFlow when that is the one Python imports.
    """

    view: PackageView
    facts: Optional[ReleaseFacts]
    depends: tuple[str, ...]
    variant: Optional[str]
    build_cuda: Optional[str]
    gpu_select: Optional[str]  # the build glob of the GPU build in this build's family
    scope: str = UPSTREAM
    channel: str = ""  # whose builds these are, where known (named, or the one candidate that builds this kind)
    built: Optional[ChannelBuild] = None
    build_python: Optional[str] = None
    shadowed_by: Optional[PackageView] = None

    @property
    def version(self) -> str:
        return self.view.version

    @property
    def upstream(self) -> bool:
        return self.scope == UPSTREAM

    def depend_spec(self, name: str) -> Optional[str]:
        """What this build's own ``depends`` say of ``name`` (a pip wheel's say nothing)."""
        return depend_spec(self.depends, name)

    def where(self) -> str:
        """``defaults' build gpu_py39h…``: how a message names what judged this build."""
        whose = f"{self.channel}'s" if self.channel else "a conda"
        return f"{whose} build {self.view.build}" if self.view.build else f"{whose} build"


class Scene:
    def __init__(self, proposal: Proposal, knowledge: Knowledge) -> None:
        self.proposal = proposal
        self.kb = knowledge
        self.by_name = index_by_name(proposal.final)
        self.before_by_name = index_by_name(v for v in proposal.before if not v.from_pip)
        self.platform = proposal.platform or ""

    # -- lookups
    def views_of_family(self, family: str, *, pip: Optional[bool] = None) -> list[PackageView]:
        fam = self.kb.families.get(family)
        if fam is None:
            return []
        out = [v for m in fam.members for v in self.by_name.get(m, ())]
        return [v for v in out if pip is None or v.from_pip == pip]

    def one(self, name: str) -> Optional[PackageView]:
        """The conda view of a package if there is one, else the pip one."""
        views = self.by_name.get(name, [])
        conda = [v for v in views if not v.from_pip]
        return (conda or views or [None])[0]

    @cached_property
    def tensorflows(self) -> list[Tf]:
        """Each distinct TensorFlow version in the set (conda and pip judged apart)."""
        members = self.views_of_family(TENSORFLOW)
        out: dict[tuple[str, bool], Tf] = {}
        for view in members:
            key = (view.version, view.from_pip)
            if key in out:
                continue
            same = [m for m in members if (m.version, m.from_pip) == key]
            depends = tuple(d for m in same for d in m.depends)
            variant = cuda = gpu_select = fact = None
            selects = [] if view.from_pip else self.by_name.get("_tflow_select", [])  # conda's own switch
            for m in same + selects:
                found = self.kb.variant_of(m.name, m.build)
                if found:
                    variant, cuda, fact = found
                    gpu_select = fact.gpu_select
                    break
            tf = Tf(view, self.kb.release(view.version), depends, variant, cuda, gpu_select)
            if _is_conda_build(same):
                channel = _whose_builds(self.kb, same, fact)
                python = next((p for m in same if (p := _python_of_build(m.build))), None)
                built = self.kb.channel_build(channel, view.version, self.platform, variant) if channel else None
                tf = tf._replace(scope=CHANNEL, channel=channel, built=built, build_python=python)
            out[key] = tf
        pip_tf = next((t.view for t in out.values() if t.view.from_pip), None)
        return [t._replace(shadowed_by=pip_tf) if pip_tf and not t.view.from_pip else t for t in out.values()]

    def effective(self, name: str) -> Optional[PackageView]:
        """The ``name`` Python imports: pip's copy over conda's (pip wrote its files
        last), unless this transaction is the one installing conda's."""
        views = self.by_name.get(name, [])
        pip = next((v for v in views if v.from_pip), None)
        conda = next((v for v in views if not v.from_pip), None)
        if pip is None or conda is None:
            return pip or conda
        moved = self.proposal.before and conda not in self.before_by_name.get(name, ())
        return conda if moved else pip

    @cached_property
    def cuda_view(self) -> Optional[PackageView]:
        """The env's conda CUDA package, in the cuda family's order (cuda-version, cudatoolkit)."""
        family = self.kb.families.get(CUDA)
        for name in family.members if family else ():
            view = self.one(name)
            if view is not None and not view.from_pip:
                return view
        return None

    def _pip_wheel(self, prefix: str) -> Optional[PackageView]:
        return next((v for v in self.proposal.final if v.from_pip and v.name.startswith(prefix)), None)

    def _wheel_libraries(self, tf: Tf, prefix: str) -> Optional[PackageView]:
        """The nvidia-* wheel this pip TensorFlow loads, if it is one that loads them."""
        fact = self.kb.wheel_cuda_libraries
        if not tf.view.from_pip or fact is None or not pep440_contains(fact[0], tf.version):
            return None
        return self._pip_wheel(prefix)

    def cuda_of(self, tf: Tf) -> Optional[PackageView]:
        """The CUDA this TensorFlow loads: a pip wheel's own nvidia-* wheels, else conda's."""
        return self._wheel_libraries(tf, "nvidia-cuda-runtime-cu") or self.cuda_view

    def cudnn_of(self, tf: Tf) -> Optional[PackageView]:
        if tf.view.from_pip:
            return self._wheel_libraries(tf, "nvidia-cudnn-cu") or self.one("cudnn")
        cudnn = self.one("cudnn")
        return cudnn if cudnn is not None and not cudnn.from_pip else None

    def wants_gpu(self, tf: Tf) -> bool:
        """Does this TensorFlow set ask for the GPU? A GPU build (string or name), a
        record that depends on CUDA, a wheel with its nvidia-* wheels, or, for a
        TensorFlow whose build says nothing, CUDA packages beside it."""
        if tf.variant is not None:
            return tf.variant == "gpu"
        if tf.depends and not tf.view.from_pip:
            return any(d.split()[0] in GPU_DEPENDS for d in tf.depends if d.split())
        if self._wheel_libraries(tf, "nvidia-cuda-runtime-cu") is not None:
            return True
        return self.cuda_view is not None or self.one("cudnn") is not None

    def gpu_inferred(self, tf: Tf) -> bool:
        """A pip wheel beside conda's CUDA packages, with no nvidia-* wheels it loads:
        nothing says it loads them (it may run on the CPU, or be set up by hand)."""
        return tf.view.from_pip and tf.variant is None and self._wheel_libraries(tf, "nvidia-cuda-runtime-cu") is None

    def no_gpu_on_this_platform(self, tf: Tf) -> bool:
        """TensorFlow after the last native-Windows GPU release, on native Windows."""
        fact = self.kb.windows_native_gpu
        line = line_of(tf.version)
        return (
            fact is not None and self.platform.startswith("win") and line is not None
            and parse_version(line) > parse_version(fact[0])
        )

    def gpu_need(self, tf: Tf) -> bool:
        """The set asks for the GPU and this TensorFlow can use one here."""
        return self.wants_gpu(tf) and not self.no_gpu_on_this_platform(tf)

    def needed_cuda(self, tf: Tf) -> Optional[tuple[str, str]]:
        """``(cuda X.Y, where it comes from)`` that this TensorFlow's set needs, if any."""
        if not self.gpu_need(tf):
            return None
        cuda = self.cuda_of(tf)
        if cuda is not None:
            version = line_of(cuda.version)
            if version:
                return version, cuda.label()
        if tf.build_cuda:
            return tf.build_cuda, f"{tf.view.label()} build {tf.view.build}"
        if tf.upstream and tf.facts and tf.facts.gpu and tf.facts.gpu.cuda:
            return line_of(tf.facts.gpu.cuda) or tf.facts.gpu.cuda, f"{tf.view.label()} (built with CUDA {tf.facts.gpu.cuda})"
        return None

    @cached_property
    def requested_families(self) -> set[str]:
        """Families the user pinned to a version, plus the families that follow them."""
        pinned = set()
        for request in self.proposal.requested:
            fam = self.kb.family_of(request.name)
            if request.pins_version:
                pinned.add(fam.name if fam else request.name)
        for fam in self.kb.families.values():
            if fam.follows in pinned:
                pinned.add(fam.name)
        return pinned

    def requested(self, name: str) -> Optional[Request]:
        for request in self.proposal.requested:
            if request.name == name:
                return request
        return None

    @cached_property
    def downgrades(self) -> list[tuple[PackageView, PackageView, str]]:
        """``(before, after, kind)`` for every family package that goes down or GPU->CPU."""
        out = []
        for name, befores in sorted(self.before_by_name.items()):
            if self.kb.family_of(name) is None:
                continue
            after = next((v for v in self.by_name.get(name, ()) if not v.from_pip), None)
            if after is None:
                continue
            old, new = parse_version(befores[0].version), parse_version(after.version)
            if old is not None and new is not None and new < old:
                out.append((befores[0], after, "downgrade"))
            elif self._variant(befores[0]) == "gpu" and self._variant(after) not in (None, "gpu"):
                out.append((befores[0], after, "gpu-to-cpu"))
        return out

    def _variant(self, view: PackageView) -> Optional[str]:
        found = self.kb.variant_of(view.name, view.build)
        return found[0] if found else None


def _is_conda_build(views: list[PackageView]) -> bool:
    """A conda build, judged by its channel's facts: a record, a spec that names a channel
    or a build, or an environment file's conda entry (from one of its channels, not known
    which). Only a pip wheel, or a spec that names nothing but a version, is upstream's."""
    return any(not v.from_pip and (v.channel or v.build or v.depends or v.candidates) for v in views)


def _whose_builds(kb: Knowledge, views: list[PackageView], variant_fact) -> str:
    """The channel whose builds these are: the one named, else the one channel that makes
    builds of this kind among those it may come from (``gpu_py39`` builds are defaults'
    own). A file's channel list alone says nothing: conda's configured channels apply too."""
    named = next((v.channel for v in views if v.channel), "")
    if named:
        return named
    if variant_fact is None or not variant_fact.channels:
        return ""
    candidates = {kb.builds_channel(c) for v in views for c in v.candidates}
    candidates &= {kb.builds_channel(c) for c in variant_fact.channels}
    return candidates.pop() if len(candidates) == 1 else ""


def _python_of_build(build: str) -> Optional[str]:
    match = _BUILD_PYTHON.search(build or "")
    return f"{match['major']}.{match['minor']}" if match else None
