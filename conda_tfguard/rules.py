"""The rules: a proposed package set in, findings out. Pure; never raises on odd input.

Each rule is a function ``(Scene) -> Iterable[Finding]`` listed in :data:`RULES`; the
:class:`~conda_tfguard.scene.Scene` holds what several rules need, and
:mod:`conda_tfguard.fixes` writes the commands they suggest. Facts come from the
knowledge base only; where it is silent the answer is an ``unknown`` finding.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable, Iterator, Optional

from .findings import Finding, GpuFacts, Proposal, sort_findings
from .fixes import (
    fitting_command,
    fitting_spec,
    install_command,
    lines_accepting,
    major_of,
    next_line,
    pin,
    quote,
    tf_channel,
    tf_pin,
)
from .knowledge import ANY, UPSTREAM, Family, Knowledge, Source
from .packages import PackageView, channel_label
from .scene import TENSORFLOW, Scene, Tf
from .versions import (
    conda_spec_bounds,
    conda_spec_contains,
    conda_spec_floor,
    line_of,
    parse_specifier,
    parse_version,
    pep440_contains,
)

__all__ = ["RULES", "RULE_IDS", "evaluate", "fitting_command"]


def evaluate(proposal: Proposal, knowledge: Knowledge) -> tuple[Finding, ...]:
    """Judge a proposal. Returns findings, most severe first (empty when all is well)."""
    scene = Scene(proposal, knowledge)
    if not scene.tensorflows and not scene.downgrades:
        return ()
    return sort_findings(_behind_pip(scene, finding) for rule in RULES for finding in rule(scene))


def _behind_pip(scene: Scene, finding: Finding) -> Finding:
    """A finding about a conda TensorFlow that pip's shadows is info: Python imports pip's."""
    shadowed = {t.view.label(): t.shadowed_by for t in scene.tensorflows if t.shadowed_by is not None}
    if not shadowed or finding.rule in ("pip-shadow", "channel-mix"):
        return finding
    imported = {t.view.label() for t in scene.tensorflows if t.shadowed_by is None}
    hit = [label for label in finding.packages if label in shadowed]
    if not hit or imported & set(finding.packages):
        return finding
    pip = shadowed[hit[0]]
    return replace(finding, severity="info",
                   message=f"{finding.message} (shadowed: Python imports pip's {pip.name} {pip.version})")


def _finding(rule: str, severity: str, message: str, packages: Iterable[str] = (),
             fix: str = "", source: Optional[Source] = None) -> Finding:
    return Finding(rule, severity, message, tuple(packages), fix, source.url if source else "")


def rule_downgrade(scene: Scene) -> Iterator[Finding]:
    """tf-downgrade: a stack package goes down (or GPU -> CPU) and nobody asked for it."""
    unasked = []
    for before, after, kind in scene.downgrades:
        fam = scene.kb.family_of(before.name)
        if fam and fam.stack and fam.name not in scene.requested_families:
            if kind == "gpu-to-cpu" and _asked_for_a_variant(scene, fam):
                continue
            unasked.append((before, after, kind, fam))
    if not unasked:
        return
    # TensorFlow itself first, in its family's order (tensorflow before tensorflow-base).
    unasked.sort(key=lambda item: (item[3].name != TENSORFLOW, _member_rank(item[3], item[0].name), item[0].name))
    moves = [f"{b.label()} → {a.version} ({channel_label(a.channel)})" for b, a, _, _ in unasked]
    collateral = [
        f"{b.label()} → {a.version} ({channel_label(a.channel)})"
        for b, a, kind in scene.downgrades
        if kind == "downgrade" and (fam := scene.kb.family_of(b.name)) is not None and not fam.stack
    ]
    first_b, first_a, kind, _ = unasked[0]
    what = "swapped from a GPU build to a CPU build" if kind == "gpu-to-cpu" else "downgraded"
    message = (
        f"{first_b.name} would be {what} ({first_b.version} → {first_a.version}"
        f"{' ' + first_a.build if kind == 'gpu-to-cpu' else ''}) though you did not ask for it"
    )
    if len(unasked) > 1:
        message += f"; also {', '.join(b.name for b, *_ in unasked[1:])}"
    # The safe command: keep the stack where it is, ask for the rest in a fitting form.
    tf_before = next((b for b, _, _, fam in unasked if fam.name == TENSORFLOW), None)
    tf_before = tf_before or _first_before(scene, TENSORFLOW)
    keep = [pin(b) for b, _, _, fam in unasked if fam.name != TENSORFLOW]
    if tf_before is not None:
        keep.insert(0, pin(tf_before) + (f"={tf_before.build}" if kind == "gpu-to-cpu" else ""))
    facts = scene.kb.release(tf_before.version) if tf_before else None
    wanted = []
    tensorflow = scene.kb.families.get(TENSORFLOW)
    for request in scene.proposal.requested:
        if tensorflow is not None and request.name in tensorflow.members:
            continue
        fitting = fitting_spec(facts, request.name) if facts else None
        if fitting:
            wanted.append(fitting)
            keep = [k for k in keep if k.split("=")[0] != request.name]
        elif not any(k.split("=")[0] == request.name for k in keep):
            wanted.append(request.name + (f"={request.version}" if request.pins_version else ""))
    channel = tf_before.channel if tf_before else ""
    yield _finding(
        "tf-downgrade", "block", message, moves + collateral,
        fix=install_command(*wanted, *keep, channel=channel, kb=scene.kb),
    )


def _asked_for_a_variant(scene: Scene, family: Family) -> bool:
    """``tensorflow-cpu`` or ``tensorflow=*=cpu*``: the user chose the build, not just the name."""
    for request in scene.proposal.requested:
        if request.name not in family.members:
            continue
        if request.build or scene.kb.variant_of(request.name, "") is not None:
            return True
    return False


def _member_rank(family: Family, name: str) -> int:
    return family.members.index(name) if name in family.members else len(family.members)


def _first_before(scene: Scene, family: str) -> Optional[PackageView]:
    fam = scene.kb.families.get(family)
    for member in fam.members if fam else ():
        views = scene.before_by_name.get(member)
        if views:
            return views[0]
    return None


def rule_requirements(scene: Scene) -> Iterator[Finding]:
    """keras-mismatch, numpy-abi, numpy-range, protobuf-range, h5py-range, estimator-range."""
    for tf in scene.tensorflows:
        if tf.facts is None and tf.upstream:
            continue
        for package, judgement in scene.kb.judged.items():
            view = scene.effective(package)
            if view is not None:
                yield from _judge(scene, tf, view, judgement)
            elif tf.facts is not None:
                yield from _removed(scene, tf, package, judgement)
                yield from _admitted(scene, tf, package, judgement)


def _admitted(scene: Scene, tf: Tf, package: str, judgement) -> Iterator[Finding]:
    """A pip TensorFlow whose own metadata lets pip pick a ``package`` known to break it,
    where nothing pins ``package`` (TF 2.6.0's ``keras ~=2.6`` takes keras 2.7; 2.14.0's
    uncapped numpy takes numpy 2)."""
    req = tf.facts.requires.get(package)
    asked = scene.requested(package)
    if not tf.view.from_pip or req is None or scene.before_by_name.get(package) or (asked and asked.pins_version):
        return
    python = scene.effective("python")
    python = line_of(python.version) if python is not None else (
        max(tf.facts.python.supported, key=parse_version) if tf.facts.python else None)
    for brk in tf.facts.breaks:
        if brk.package != package or not _ranges_meet(req.declared, brk.versions):
            continue
        floor = scene.kb.python_floor(package, brk.versions)
        if floor is not None and python and parse_version(python) < parse_version(floor.python):
            continue  # pip cannot take those releases for this Python
        spec = fitting_spec(tf.facts, package)
        yield _finding(
            judgement.breaks_rule, "warn",
            f"nothing pins {package}, and tensorflow {tf.version} declares {package} {req.declared}, which lets pip "
            f"pick {package} {brk.versions}: {brk.why}", [tf.view.label()],
            fix=f"python -m pip install {quote(spec)}" if spec else "", source=brk.source,
        )
        return


def _ranges_meet(declared: str, breaks: str) -> bool:
    """Whether a version allowed by ``declared`` falls in ``breaks`` (at one of the
    break range's own bounds, the only place a one-sided range can begin)."""
    bounds = parse_specifier(breaks)
    if bounds is None:
        return False
    return any(pep440_contains(declared, s.version) and pep440_contains(breaks, s.version)
               for s in bounds if s.operator in (">=", "==", "~="))


def _removed(scene: Scene, tf: Tf, package: str, judgement) -> Iterator[Finding]:
    """A package the release requires, present before, taken away by this transaction."""
    req = tf.facts.requires.get(package)
    gone = scene.before_by_name.get(package)
    if req is None or not gone or package in scene.proposal.removing:
        return
    if not tf.upstream and judgement.scope != ANY and tf.depend_spec(package) is None:
        return  # what the wheel requires says nothing of what this conda build needs
    spec = fitting_spec(tf.facts, package) or package
    yield _finding(
        judgement.declared_rule, judgement.declared_severity,
        f"this transaction removes {gone[0].label()}, which tensorflow {tf.version} needs ({package} {req.declared})",
        [tf.view.label(), f"{gone[0].label()} → removed"],
        fix=install_command(spec, *tf_pin(tf), channel=tf_channel(tf), kb=scene.kb), source=req.source,
    )


def _judge(scene: Scene, tf: Tf, view: PackageView, judgement) -> Iterator[Finding]:
    """One package beside one TensorFlow, by the facts whose scope reaches that build:
    what is known to break it, what the build itself says (a conda build: its depends,
    then its channel's pins), then what the release declares (wheels, or scope ``any``)."""
    package = view.name
    if parse_version(view.version) is None:
        return  # rule_unknown says so, once
    facts = tf.facts
    own, own_source, whose = _own_word(scene, tf, package)
    for brk in facts.breaks if facts else ():
        if brk.package != package or not pep440_contains(brk.versions, view.version):
            continue
        if brk.scope == UPSTREAM and not tf.upstream:
            continue  # observed of the wheels; this build is the channel's
        if own is not None and conda_spec_contains(own, view.version) and conda_spec_bounds(own, brk.versions):
            continue  # the build says it was made for this version, on the side the break is about
        yield _finding(
            judgement.breaks_rule, brk.severity, f"{view.label()} breaks tensorflow {tf.version}: {brk.why}",
            [tf.view.label(), view.label()], fix=_fix_counterpart(scene, tf, view), source=brk.source,
        )
        return
    if own is not None:
        if conda_spec_contains(own, view.version) is False:
            yield _finding(
                judgement.declared_rule, judgement.declared_severity,
                f"{view.label()} is outside what {whose} ({package} {own})",
                [tf.view.label(), view.label()], fix=_fix_counterpart(scene, tf, view),
                source=own_source,
            )
        return
    if facts is None:
        return
    req = facts.requires.get(package)
    if not tf.upstream and judgement.scope != ANY:
        if req is not None:
            yield _finding(
                "unknown", "info",
                f"{view.label()} beside {tf.where()} of tensorflow {tf.version}: not checked (the wheel's "
                f"{package} {req.declared} does not judge a conda build, and what this one takes is not known)",
                [tf.view.label(), view.label()],
            )
        return
    if req is not None and pep440_contains(req.declared, view.version) is False:
        seen = scene.kb.observed(tf.version, package, view.version) if tf.upstream else ()
        working = next((row for row in seen if row.works), None)  # a pass is direct; a fail may be the venv's
        if working is not None:
            yield _finding(
                judgement.declared_rule, "info",
                f"{view.label()} is outside what tensorflow {tf.version} declares ({package} {req.declared}), "
                f"but was observed working with it on {working.checked} (Python {working.python})",
                [tf.view.label(), view.label()], source=working.source,
            )
            return
        yield _finding(
            judgement.declared_rule, judgement.declared_severity,
            f"{view.label()} is outside what tensorflow {tf.version} is declared to work with ({package} {req.declared})",
            [tf.view.label(), view.label()],
            fix=_fix_counterpart(scene, tf, view), source=req.source,
        )
    elif req is None:
        yield _finding(
            "unknown", "info",
            f"the knowledge base has no facts about {package} for tensorflow {tf.version}: {view.label()} is not checked",
            [tf.view.label(), view.label()],
        )


def _own_word(scene: Scene, tf: Tf, package: str) -> tuple[Optional[str], Optional[Source], str]:
    """What a conda build itself says it takes of ``package``: its record's depends, else
    its channel's pins for it; and how a message names that. Nothing for a wheel."""
    if tf.upstream:
        return None, None, ""
    spec = tf.depend_spec(package)
    if spec is not None:
        return spec, None, f"{tf.where()} of tensorflow {tf.version} depends on"
    if tf.built is not None and package in tf.built.pins:
        return tf.built.pins[package], tf.built.source, f"{tf.channel} built tensorflow {tf.version} with"
    return None, None, ""


def _fix_counterpart(scene: Scene, tf: Tf, view: PackageView) -> str:
    """Move whichever side the user did not ask for: keep the one they wanted."""
    asked_for_it = scene.requested(view.name) is not None and scene.requested(tf.view.name) is None
    if asked_for_it:
        lines = lines_accepting(scene.kb, view.name, view.version, tf.version)
        if lines:
            return install_command(f"tensorflow>={lines[0]}", pin(view), channel=tf_channel(tf), kb=scene.kb)
    spec = fitting_spec(tf.facts, view.name) if tf.facts is not None else None
    if spec is None:
        return ""
    if view.from_pip:
        return f"python -m pip install {quote(spec)}"
    return install_command(spec, *tf_pin(tf), channel=tf_channel(tf), kb=scene.kb)


def rule_python(scene: Scene) -> Iterator[Finding]:
    """python-unsupported: Python outside what the wheels of the release, or the conda
    build itself (its depends, its build string, what its channel built), are made for."""
    python = scene.effective("python")
    py_line = line_of(python.version) if python is not None else None
    if py_line is None:
        return
    for tf in scene.tensorflows:
        if tf.upstream:
            if tf.facts is None or tf.facts.python is None:
                continue
            supported, source, where = tf.facts.python.supported, tf.facts.python.source, ""
        elif (own := tf.depend_spec("python")) is not None:
            if conda_spec_contains(own, python.version) is not False:
                continue
            supported, source, where = (), None, f" ({tf.where()} depends on python {own})"
        elif tf.build_python:
            supported, source, where = (tf.build_python,), None, f" ({tf.where()} is made for it)"
        elif tf.built is not None and tf.built.python:
            supported, source, where = tf.built.python, tf.built.source, f" on {channel_label(tf.channel)}"
        else:
            yield _finding(
                "unknown", "info",
                f"Python {py_line} with {tf.where()} of tensorflow {tf.version}: not checked (what that channel built "
                "is not in the knowledge base; the wheels' Pythons do not judge a conda build)",
                [tf.view.label(), python.label()],
            )
            continue
        if py_line in supported:
            continue
        fix = ""
        if supported:
            best = max(supported, key=parse_version)
            fix = install_command(f"python={best}", *tf_pin(tf), channel=tf_channel(tf), kb=scene.kb)
            if tf.view.from_pip:
                fix += f" && python -m pip install tensorflow=={tf.version}"
        message = (f"tensorflow {tf.version}{where} supports Python {', '.join(supported)}, not {py_line}" if supported
                   else f"tensorflow {tf.version}{where}: not Python {py_line}")
        yield _finding("python-unsupported", "block", message, [tf.view.label(), python.label()], fix=fix,
                       source=source)


def rule_cuda(scene: Scene) -> Iterator[Finding]:
    """cuda-mismatch: the env's CUDA / cuDNN are not what the TensorFlow build expects."""
    for tf in scene.tensorflows:
        if scene.gpu_need(tf):
            yield from _cuda_fit(scene, tf)
            yield from _cudnn_fit(scene, tf)


def _channel_allows(tf: Tf, view: PackageView) -> bool:
    """The TensorFlow record's own ``depends`` admit this package: the channel's word."""
    spec = tf.depend_spec(view.name)
    return spec is not None and conda_spec_contains(spec, view.version) is True


def _cuda_fit(scene: Scene, tf: Tf) -> Iterator[Finding]:
    actual = scene.cuda_of(tf)
    if actual is None or _channel_allows(tf, actual):
        return
    have = parse_version(actual.version)
    if have is None:
        return
    involved = [tf.view.label(), actual.label()]
    own = tf.depend_spec(actual.name)
    if own is not None:  # the build's own depends exclude it (conda would not pair them)
        floor = conda_spec_floor(own)
        if floor is not None:
            yield from _cuda_verdict(scene, tf, actual, have, floor,
                                     f"the CUDA its build depends on ({actual.name} {own})", None)
        return
    if tf.build_cuda:
        expected, built, source = (tf.build_cuda,), f"the CUDA {tf.build_cuda} of its build {tf.view.build}", None
    elif not tf.upstream:
        if tf.built is None or not tf.built.cuda:
            yield _finding("unknown", "info", f"{actual.label()} beside {tf.where()} of tensorflow {tf.version}: "
                           "not checked (which CUDA that build takes is not known)", involved)
            return
        expected, source = tf.built.cuda, tf.built.source
        built = f"the CUDA of {tf.channel}'s GPU builds ({', '.join(expected)})"
    elif tf.facts and tf.facts.gpu and tf.facts.gpu.cuda:
        expected, source = (tf.facts.gpu.cuda,), tf.facts.gpu.source
        built = f"CUDA {tf.facts.gpu.cuda}, which it was built and tested with"
    else:
        return
    if any(_cuda_runs(have, parse_version(cuda), minor_compatible=bool(tf.build_cuda) or not tf.upstream)
           for cuda in expected):
        return
    yield from _cuda_verdict(scene, tf, actual, have, expected[-1], built, source)


def _cuda_runs(have, want, minor_compatible: bool) -> bool:
    """The same CUDA line; or, for a channel's builds, a later minor of the same major
    from CUDA 11 on, where one soname serves the whole major (libcudart.so.11.0)."""
    if want is None:
        return False
    if have.release[:2] == want.release[:2]:
        return True
    return minor_compatible and have.release[0] == want.release[0] >= 11 and have.release[:2] > want.release[:2]


def _cuda_verdict(scene: Scene, tf: Tf, actual: PackageView, have, expected: str, built: str,
                  source: Optional[Source]) -> Iterator[Finding]:
    want = parse_version(expected)
    if want is None:
        return
    fix = _cuda_fix(scene, tf, actual, expected)
    involved = [tf.view.label(), actual.label()]
    if have.release[0] != want.release[0]:
        rulebook = scene.kb.rulebook.cuda_major_must_match
        if rulebook is None:
            return
        if scene.gpu_inferred(tf):  # nothing says this TensorFlow loads that CUDA
            yield _finding("cuda-mismatch", "warn",
                           f"{actual.label()} is another CUDA major than tensorflow {tf.version} needs ({built}): "
                           "it cannot run on the GPU with it", involved, fix=fix, source=rulebook)
        else:
            yield _finding("cuda-mismatch", "block",
                           f"{actual.label()} is another CUDA major than tensorflow {tf.version} needs: {built}",
                           involved, fix=fix, source=rulebook)
        return
    yield _finding("cuda-mismatch", "warn", f"{actual.label()} differs from {built} (tensorflow {tf.version})",
                   involved, fix=fix, source=source)


def _cuda_fix(scene: Scene, tf: Tf, actual: PackageView, cuda: str) -> str:
    """Ask for the CUDA this TensorFlow needs, under the name that exists for it."""
    if actual.from_pip:
        major = major_of(cuda)
        return f"python -m pip install \"tensorflow[and-cuda]=={tf.version}\"" if major and major >= 12 else ""
    name = "cuda-version" if (major_of(cuda) or 0) >= 12 else actual.name  # cudatoolkit ends at 11.8
    return install_command(f"{name}={line_of(cuda)}", *tf_pin(tf), channel=tf_channel(tf), kb=scene.kb)


def _cudnn_fit(scene: Scene, tf: Tf) -> Iterator[Finding]:
    cudnn = scene.cudnn_of(tf)
    source = scene.kb.rulebook.cudnn_major_must_match
    if cudnn is None or source is None or tf.build_cuda or _channel_allows(tf, cudnn):
        return  # a conda-forge cudaXY build says in its depends which cuDNN it takes
    have = parse_version(cudnn.version)
    if have is None:
        return
    if tf.upstream:
        wanted = (tf.facts.gpu.cudnn,) if tf.facts and tf.facts.gpu and tf.facts.gpu.cudnn else ()
        built = f"tensorflow {tf.version}, built with cuDNN {wanted[0]}" if wanted else ""
    elif tf.depend_spec("cudnn") is not None:
        wanted, built = (), ""  # its own depends exclude this cuDNN: what cuDNN it wants is that spec
        own = tf.depend_spec("cudnn")
        lowest = parse_version(conda_spec_floor(own) or "")
        if lowest is not None:
            wanted, built = (f"{lowest.release[0]}.{(lowest.release + (0,))[1]}",), f"{tf.where()} (cudnn {own})"
    elif tf.built is not None and tf.built.cudnn:
        wanted, built = tf.built.cudnn, f"{tf.channel}'s GPU builds of tensorflow {tf.version} (cuDNN {', '.join(tf.built.cudnn)})"
        source = tf.built.source
    else:
        yield _finding("unknown", "info", f"{cudnn.label()} beside {tf.where()} of tensorflow {tf.version}: not "
                       "checked (which cuDNN that build takes is not known)", [tf.view.label(), cudnn.label()])
        return
    fits = [w for w in wanted if (v := parse_version(w)) is not None
            and have.release[0] == v.release[0] and have.release[:2] >= v.release[:2]]
    if not wanted or fits:
        return
    want = parse_version(wanted[0])
    severity = "warn" if scene.gpu_inferred(tf) else "block"
    fix = (f"python -m pip install \"{cudnn.name}>={wanted[0]},<{want.release[0] + 1}\"" if cudnn.from_pip
           else install_command(f"cudnn>={wanted[0]},<{want.release[0] + 1}", *tf_pin(tf), channel=tf_channel(tf),
                                kb=scene.kb))
    yield _finding(
        "cuda-mismatch", severity,
        f"{cudnn.label()} cannot load under {built}: TensorFlow refuses another cuDNN major or an older minor",
        [tf.view.label(), cudnn.label()], fix=fix, source=source,
    )


def rule_driver(scene: Scene) -> Iterator[Finding]:
    """driver-too-old: the CUDA the set needs is newer than the machine's driver runs."""
    gpu = scene.proposal.gpu
    if gpu is None or not (gpu.driver_version or gpu.cuda_driver):
        return
    platform = "windows" if scene.platform.startswith("win") else "linux"
    told = gpu.origin and not gpu.origin.startswith(("NVML", "__cuda"))
    if told and scene.tensorflows and all(tf.variant is None and not scene.wants_gpu(tf) for tf in scene.tensorflows):
        yield _finding(
            "unknown", "info",
            f"nothing in the set asks for the GPU (no GPU build, no CUDA package), so the driver given by "
            f"{gpu.origin} was not checked against it", [tf.view.label() for tf in scene.tensorflows],
            fix="add the CUDA you mean to use, e.g. cuda-version=12.2, or a GPU build string",
        )
    for tf in scene.tensorflows:
        need = scene.needed_cuda(tf)
        if need is None:
            continue
        cuda, why = need
        actual = scene.cuda_of(tf)
        package = actual.name if actual is not None and not actual.from_pip else None
        severity = "warn" if scene.gpu_inferred(tf) else "block"  # nothing says this TF loads that CUDA
        yield from _driver_verdict(scene.kb, gpu, cuda, why, platform, tf, package, severity)


def _driver_verdict(kb: Knowledge, gpu: GpuFacts, cuda: str, why: str, platform: str, tf: Tf,
                    cuda_package: Optional[str] = None, severity: str = "block") -> Iterator[Finding]:
    want = parse_version(cuda)
    if want is None:
        return
    major = want.release[0]
    involved = [tf.view.label()]
    if gpu.driver_version:
        have = parse_version(gpu.driver_version)
        minimum = kb.min_driver(cuda, platform)
        if have is None:
            return
        if minimum is None:
            yield _finding(
                "unknown", "info",
                f"CUDA {cuda} (needed by {why}) is not in the knowledge base: driver {gpu.driver_version} not checked",
                involved,
            )
            return
        min_driver, toolkit = minimum
        if have >= parse_version(min_driver):
            return
        floor = kb.family_floor(major, platform)
        driver_cuda = kb.cuda_for_driver(gpu.driver_version, platform)
        runs = f" (it runs CUDA {driver_cuda} at most)" if driver_cuda else ""
        upgrade = f"update the NVIDIA driver to {min_driver} or newer"
        if floor is not None and have >= parse_version(floor[0]):
            package = cuda_package or ("cuda-version" if major >= 12 else "cudatoolkit")
            yield _finding(
                "driver-too-old", "warn",
                f"CUDA {cuda} (needed by {why}) wants driver ≥ {min_driver}; driver {gpu.driver_version} runs it only "
                f"through minor-version compatibility (PTX JIT may fail: CUDA_ERROR_UNSUPPORTED_PTX_VERSION)",
                involved, fix=f"{upgrade}, or: {install_command(f'{package}={driver_cuda}', channel=tf_channel(tf), kb=kb)}"
                if driver_cuda and not tf.view.from_pip else upgrade, source=floor[1].source,
            )
            return
        older = _line_built_for(kb, driver_cuda)
        yield _finding(
            "driver-too-old", severity,
            f"CUDA {cuda} (needed by {why}) needs NVIDIA driver ≥ {min_driver}; this machine has "
            f"{gpu.driver_version}{runs}",
            involved, fix=upgrade + (f", or use a TensorFlow built for CUDA {driver_cuda} or older "
                                     f"(tensorflow {older} was tested with CUDA {older_cuda})"
                                     if (older_cuda := _tested_cuda(kb, older)) else ""),
            source=toolkit.source,
        )
        return
    have = parse_version(gpu.cuda_driver)
    if have is None:
        return
    origin = f" ({gpu.origin})" if gpu.origin else ""
    minimum = kb.min_driver(cuda, platform)
    upgrade = (f"update the NVIDIA driver to {minimum[0]} or newer (CUDA {cuda})" if minimum
               else f"update the NVIDIA driver to one that runs CUDA {cuda}")
    if have.release[0] < major:
        yield _finding(
            "driver-too-old", severity,
            f"CUDA {cuda} (needed by {why}) is a newer major than the driver's CUDA {gpu.cuda_driver}{origin}",
            involved, fix=upgrade,
            source=kb.cuda_families[major].source if major in kb.cuda_families else None,
        )
    elif have.release[0] == major and have.release[:2] < want.release[:2]:
        yield _finding(
            "driver-too-old", "warn",
            f"CUDA {cuda} (needed by {why}) is newer than the driver's CUDA {gpu.cuda_driver}{origin}: it runs only "
            "through minor-version compatibility (PTX JIT may fail)",
            involved, fix=upgrade,
            source=kb.cuda_families[major].source if major in kb.cuda_families else None,
        )


def _line_built_for(kb: Knowledge, cuda: Optional[str]) -> Optional[str]:
    """The newest TensorFlow line upstream built and tested with CUDA ``cuda`` or older."""
    limit = parse_version(cuda) if cuda else None
    if limit is None:
        return None
    fits = [line for line in kb.known_lines() if (c := _tested_cuda(kb, line)) and parse_version(c) <= limit]
    return fits[-1] if fits else None


def _tested_cuda(kb: Knowledge, line: Optional[str]) -> Optional[str]:
    facts = kb.release(f"{line}.0") if line else None
    return facts.gpu.cuda if facts and facts.gpu and facts.gpu.cuda else None


def rule_gpu_presence(scene: Scene) -> Iterator[Finding]:
    """gpu-build-without-driver: GPU build with no driver seen, or CPU build beside a GPU."""
    gpu = scene.proposal.gpu
    if gpu is None:
        return
    for tf in scene.tensorflows:
        if scene.gpu_need(tf) and not gpu.found:
            reason = f" ({gpu.reason})" if gpu.reason else ""
            what = "is a GPU build" if tf.variant == "gpu" else "is set up for the GPU (CUDA packages beside it)"
            yield _finding(
                "gpu-build-without-driver", "warn",
                f"{tf.view.label()} {what} but no NVIDIA driver was found{reason}: it will run on the CPU",
                [tf.view.label()],
                fix="install the NVIDIA driver, or set CONDA_OVERRIDE_CUDA / "
                "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION if the driver is there but hidden",
            )
        elif gpu.found and tf.variant in ("cpu", "mkl", "eigen") and not scene.no_gpu_on_this_platform(tf):
            build = scene.kb.channel_build(tf.channel, tf.version, scene.platform, "gpu") if tf.channel else None
            if build is None or not build.cuda:
                continue
            glob = tf.gpu_select
            yield _finding(
                "gpu-build-without-driver", "warn",
                f"{tf.view.label()} is a {tf.variant.upper()} build though this machine has an NVIDIA driver "
                f"({gpu.driver_version or 'CUDA ' + str(gpu.cuda_driver)}); {channel_label(tf.channel)} built "
                f"GPU builds of {tf.facts.line if tf.facts else line_of(tf.version)} for CUDA {', '.join(build.cuda)}",
                [tf.view.label()],
                fix=install_command(f"tensorflow={tf.version}={glob}" if glob else f"tensorflow={tf.version}",
                             channel=tf_channel(tf), kb=scene.kb),
                source=build.source,
            )


def rule_compute_capability(scene: Scene) -> Iterator[Finding]:
    """compute-capability: a GPU older than the release ships kernels for."""
    gpu = scene.proposal.gpu
    if gpu is None or not gpu.gpus:
        return
    for tf in scene.tensorflows:
        if not scene.gpu_need(tf) or not tf.upstream:
            continue  # the kernel facts are about the upstream wheels; a channel build compiles its own
        kernels = scene.kb.min_compute_capability(tf.version)
        if kernels is None:
            continue
        floor = parse_version(kernels.min_compute_capability)
        for index, card in enumerate(gpu.gpus):
            cc = parse_version(card.compute_capability or "")
            if cc is None or cc >= floor:
                continue
            # The release before the one that dropped these kernels supported them.
            last = [
                line for line in scene.kb.known_lines()
                if not pep440_contains(kernels.tensorflow, f"{line}.0")
                and ((k := scene.kb.min_compute_capability(f"{line}.0")) is None
                     or parse_version(k.min_compute_capability) <= cc)
            ]
            tail = f"; {last[-1]} was the last release with kernels for it" if last else ""
            yield _finding(
                "compute-capability", "warn",
                f"GPU {index} ({card.name}, compute capability {card.compute_capability}) has no kernels in "
                f"tensorflow {tf.version} (needs ≥ {kernels.min_compute_capability}){tail}",
                [tf.view.label()],
                fix=(f"python -m pip install \"tensorflow<{next_line(last[-1])}\"" if tf.view.from_pip
                     else install_command(f"tensorflow={last[-1]}")) if last else "",
                source=kernels.source,
            )


def rule_windows(scene: Scene) -> Iterator[Finding]:
    """windows-native-gpu: TensorFlow after 2.10 has no GPU support on native Windows."""
    fact = scene.kb.windows_native_gpu
    if fact is None:
        return
    last, source = fact
    gpu_present = scene.proposal.gpu is not None and scene.proposal.gpu.found
    for tf in scene.tensorflows:
        if not scene.no_gpu_on_this_platform(tf):
            continue
        wants = scene.wants_gpu(tf)
        if not (wants or gpu_present):
            continue
        last_facts = scene.kb.release(f"{last}.0")
        pythons = last_facts.python.supported if last_facts and last_facts.python else ()
        python = f"python<={max(pythons, key=parse_version)}" if pythons else ""
        older = (f"python -m pip install \"tensorflow<{next_line(last)}\"" if tf.view.from_pip
                 else install_command(f"tensorflow={last}", python, channel=tf_channel(tf), kb=scene.kb))
        yield _finding(
            "windows-native-gpu", "warn" if wants else "info",
            f"tensorflow {tf.version} has no GPU support on native Windows ({last} was the last release with it)",
            [tf.view.label()],
            fix=f"run TensorFlow in WSL2 for the GPU, or: {older}",
            source=source,
        )


def rule_channel_mix(scene: Scene) -> Iterator[Finding]:
    """channel-mix: the stack the rules read (TensorFlow, Keras, numpy, h5py, protobuf,
    Python, the CUDA libraries) would come from more than one channel."""
    stack = [v for v in scene.proposal.final
             if not v.from_pip and v.channel and scene.kb.family_of(v.name) is not None]
    channels = {v.channel for v in stack}
    if len({scene.kb.builds_channel(c) for c in channels}) < 2:
        return  # anaconda serves defaults' builds: not a mix
    tf = next((t for t in scene.tensorflows if not t.view.from_pip and t.view.channel), None)
    home = tf.view.channel if tf else max(channels, key=lambda c: sum(v.channel == c for v in stack))
    strays = [v for v in stack if v.channel != home]
    by_channel = {}
    for v in sorted(stack, key=lambda v: (v.channel != home, v.channel, v.name)):
        by_channel.setdefault(channel_label(v.channel), []).append(v.name)
    described = "; ".join(f"{ch}: {', '.join(names)}" for ch, names in by_channel.items())
    channel_spec = "pkgs/main" if home == "defaults" else home
    movable = [v for v in strays if scene.kb.carries(home, v.name)]
    yield _finding(
        "channel-mix", "warn",
        f"the TensorFlow stack mixes channels ({described}); each channel builds against its own pins",
        [v.label() for v in strays],
        fix=install_command(*(f"{channel_spec}::{v.name}" for v in movable)) if movable else "",
    )


def rule_pip_shadow(scene: Scene) -> Iterator[Finding]:
    """pip-shadow: a pip-installed package beside the conda one of the same family."""
    for view in scene.proposal.final:
        if not view.from_pip:
            continue
        fam = scene.kb.family_of(view.name)
        if fam is None or fam.name == "python":
            continue
        conda = [v for v in scene.views_of_family(fam.name, pip=False)]
        if not conda:
            continue
        yield _finding(
            "pip-shadow", "warn",
            f"pip's {view.name} {view.version} shadows conda's {conda[0].label()}: Python imports one, conda "
            "checks the other",
            [view.label(), conda[0].label()],
            fix=f"python -m pip uninstall {view.name}",
        )


def rule_unknown(scene: Scene) -> Iterator[Finding]:
    """unknown: TensorFlow (or Keras) the knowledge base has no facts for: said, never guessed."""
    lines = scene.kb.known_lines()
    for tf in scene.tensorflows:
        if tf.facts is not None:
            continue
        line = line_of(tf.version)
        if line is None:
            yield _finding("unknown", "info", f"tensorflow {tf.version}: compatibility not checked, its version "
                           "cannot be read", [tf.view.label()])
            continue
        if lines and parse_version(line) > parse_version(lines[-1]):
            why = f"it is newer than the knowledge base (newest {lines[-1]})"
        elif lines and parse_version(line) < parse_version(lines[0]):
            why = f"it is older than the knowledge base (oldest {lines[0]})"
        else:
            why = "the knowledge base has no facts for it"
        yield _finding(
            "unknown", "warn",
            f"tensorflow {tf.version} is not in the knowledge base ({why}): its Python, numpy, protobuf, Keras and "
            "CUDA fit are not checked", [tf.view.label()],
            fix="maintainers: python -m conda_tfguard.knowledge refresh; users: add its facts in a knowledge file "
                "(setting tfguard_knowledge_file)",
        )
    for view in scene.proposal.final:
        family = scene.kb.family_of(view.name)
        if family is not None and family.name != TENSORFLOW and parse_version(view.version) is None:
            yield _finding("unknown", "info", f"cannot read the version of {view.label()}: its fit is not checked",
                           [view.label()])
    for package, newest_known in scene.kb.newest.items():
        if package == TENSORFLOW:
            continue
        for view in scene.by_name.get(package, ()):
            have = parse_version(view.version)
            if have is not None and have > parse_version(newest_known.version):
                yield _finding(
                    "unknown", "info",
                    f"{view.label()} is newer than the knowledge base knows ({newest_known.version}): "
                    "its fit with TensorFlow is not checked",
                    [view.label()], source=newest_known.source,
                )


RULES: tuple[Callable[[Scene], Iterable[Finding]], ...] = (
    rule_downgrade,
    rule_requirements,
    rule_python,
    rule_cuda,
    rule_driver,
    rule_gpu_presence,
    rule_compute_capability,
    rule_windows,
    rule_channel_mix,
    rule_pip_shadow,
    rule_unknown,
)

#: Every rule id a finding can carry (for ``tfguard_ignore`` and the docs).
RULE_IDS = (
    "tf-downgrade", "keras-mismatch", "python-unsupported", "numpy-abi", "numpy-range",
    "protobuf-range", "h5py-range", "estimator-range", "cuda-mismatch", "driver-too-old", "gpu-build-without-driver",
    "compute-capability", "windows-native-gpu", "channel-mix", "pip-shadow", "unknown",
)
