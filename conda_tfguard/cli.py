"""The commands ``check``, ``status`` and ``pin``: one parser, one implementation.

``python -m conda_tfguard`` and ``conda tfguard`` both mount :func:`configure_parser`
and call :func:`run`; what differs between them (where the active environment is,
conda's ``__cuda``, the plugin settings) comes in as a :class:`Host`. Nothing here
imports conda. Errors are :class:`TfguardError` with a one-line message; the caller
decides how to show them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as _platform
import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence, TextIO

from .errors import SpecError, TfguardError
from .findings import Finding, GpuFacts, Proposal, verdict_of
from .packages import PackageView, Request
from .specs import parse_package_spec, parse_request
from .versions import line_of, parse_version

__all__ = ["Host", "judge", "layer", "machine_subdir", "run", "standalone_host"]

KNOWLEDGE_ENV = "CONDA_PLUGINS_TFGUARD_KNOWLEDGE_FILE"
IGNORE_ENV = "CONDA_PLUGINS_TFGUARD_IGNORE"


def machine_subdir() -> str:
    """This machine as a conda subdir: ``linux-64``, ``osx-arm64``, ``win-64``…"""
    system = {"linux": "linux", "darwin": "osx", "win32": "win"}.get(sys.platform, sys.platform)
    machine = _platform.machine().lower()
    arch = {"x86_64": "64", "amd64": "64", "arm64": "arm64", "aarch64": "aarch64"}.get(machine, machine)
    if system == "osx" and arch == "aarch64":
        arch = "arm64"
    return f"{system}-{arch}"


@dataclass(frozen=True)
class Host:
    """What the program around the commands offers."""

    active_prefix: Optional[str] = None
    knowledge_files: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    driver_setting: Optional[str] = None
    virtual_cuda: Optional[Callable[[], Optional[str]]] = None
    resolve_name: Optional[Callable[[str], str]] = None
    check_active_env: bool = False  # does `check` lay its specs over the active env by default?
    platform: str = field(default_factory=machine_subdir)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)


def standalone_host(environ: Mapping[str, str] = os.environ) -> Host:
    """The host for ``python -m conda_tfguard``: settings come from the environment."""
    knowledge = environ.get(KNOWLEDGE_ENV, "").strip()
    ignore = tuple(r.strip() for r in environ.get(IGNORE_ENV, "").split(",") if r.strip())
    return Host(
        active_prefix=environ.get("CONDA_PREFIX") or None,
        knowledge_files=(knowledge,) if knowledge else (),
        ignore=ignore,
        environ=environ,
    )


def run(args: argparse.Namespace, host: Host, out: Optional[TextIO] = None) -> int:
    """Run the parsed command; returns the exit status. Raises :class:`TfguardError`."""
    command = {"check": _check, "status": _status, "pin": _pin}[args.tfguard_command]
    return command(args, host, out or sys.stdout)


# --------------------------------------------------------------------------- shared
def _knowledge(args: argparse.Namespace, host: Host):
    from .knowledge import load_knowledge

    files = list(host.knowledge_files)
    if getattr(args, "knowledge", None):
        files.append(args.knowledge)
    return load_knowledge(files)


def _prefix(args: argparse.Namespace, host: Host, *, required: bool) -> Optional[str]:
    for flag, value in (("-p/--prefix", getattr(args, "prefix", None)), ("-n/--name", getattr(args, "name", None))):
        if value is not None and not value.strip():
            raise SpecError(f"{flag} is empty")
    if getattr(args, "prefix", None):
        return os.path.abspath(os.path.expanduser(args.prefix))
    if getattr(args, "name", None):
        if host.resolve_name is None:
            raise SpecError("-n/--name needs conda to find the environment; use -p PATH")
        return host.resolve_name(args.name)
    if host.active_prefix:
        return host.active_prefix
    if required:
        raise SpecError("no environment given and none is active: use -n ENV or -p PATH")
    return None


def _target(args: argparse.Namespace) -> str:
    """How a fix command names the environment the user named (nothing for the active one)."""
    import shlex

    if getattr(args, "name", None):
        return f"-n {shlex.quote(args.name)}"
    if getattr(args, "prefix", None):
        return f"-p {shlex.quote(os.path.abspath(os.path.expanduser(args.prefix)))}"
    return ""


def _gpu(args: argparse.Namespace, host: Host) -> GpuFacts:
    from .gpu import probe

    return probe(
        getattr(args, "driver", None), getattr(args, "cuda", None), environ=host.environ,
        driver_setting=host.driver_setting, virtual_cuda=host.virtual_cuda,
    )


def judge(proposal: Proposal, knowledge, ignore: Sequence[str] = (), target: str = "") -> tuple[Finding, ...]:
    """The rules' findings without the ignored rules, their fixes aimed at ``target``."""
    from .fixes import aimed_at
    from .rules import RULE_IDS, evaluate

    findings = [f for f in evaluate(proposal, knowledge) if f.rule not in ignore]
    unknown = sorted(set(ignore) - set(RULE_IDS))
    if unknown and findings:
        findings.append(Finding("unknown", "info", f"tfguard_ignore names {', '.join(unknown)}, which is no rule id "
                                f"(rules: {', '.join(RULE_IDS)})"))
    return aimed_at(findings, target)


def _has_tensorflow(views: Sequence[PackageView], knowledge) -> bool:
    tf = knowledge.families.get("tensorflow")
    return tf is not None and any(v.name in tf.members for v in views)


def layer(base: Sequence[PackageView], overrides: Sequence[PackageView], knowledge) -> tuple[PackageView, ...]:
    """``base`` with ``overrides`` laid over it: a package replaces its whole family."""
    replaced: set[tuple[str, bool]] = set()
    for view in overrides:
        family = knowledge.family_of(view.name)
        names = family.members if family is not None else (view.name,)
        replaced.update((name, view.from_pip) for name in names)
    kept = [v for v in base if (v.name, v.from_pip) not in replaced]
    last: dict[tuple[str, bool], PackageView] = {}
    for view in overrides:
        last[(view.name, view.from_pip)] = view
    return tuple(kept) + tuple(last.values())


def _emit(out: TextIO, data: object) -> None:
    out.write(json.dumps(data, indent=2) + "\n")


# --------------------------------------------------------------------------- check
def _check(args: argparse.Namespace, host: Host, out: TextIO) -> int:
    from .report import render_check, to_json

    specs = [parse_package_spec(text) for text in args.specs]
    if args.python is not None:
        if parse_version(args.python) is None:
            raise SpecError(f"--python {args.python!r} is not a Python version (expected e.g. 3.11)")
        if any(s.name == "python" and s.version != args.python for s in specs):
            raise SpecError(f"--python {args.python} contradicts the python spec given")
        specs.append(PackageView("python", args.python))
    knowledge = _knowledge(args, host)
    before: tuple[PackageView, ...] = ()
    given = args.prefix is not None or args.name is not None
    prefix = _prefix(args, host, required=False) if (given or host.check_active_env) else None
    if prefix:
        from .prefix import read_prefix

        try:
            before = read_prefix(prefix).views
        except SpecError:
            if given:
                raise
            # the active env by default, and it is none (a bare root prefix): a pure what-if
    unchecked: tuple[str, ...] = ()
    wanted: list[PackageView] = []
    env = None
    if args.file:
        from .envfile import line_names, read_env_file

        env = read_env_file(args.file, line_names(knowledge))
        wanted.extend(env.packages)
        unchecked = env.unchecked
    wanted.extend(specs)
    if not wanted and not before:
        if env is None:
            raise SpecError("nothing to check: give package specs, -f FILE or -p PREFIX")
        # A file that pins nothing is no error: there is nothing of the stack to judge.
        if args.json:
            _emit(out, to_json((), unchecked=list(env.unchecked), file_format=env.format))
        else:
            out.write(env.nothing_pinned(args.file) + "\n")
        return 0
    final = layer(before, wanted, knowledge)
    gpu = _gpu(args, host) if _has_tensorflow(final, knowledge) else None
    proposal = Proposal(
        final=final,
        before=before,
        requested=tuple(Request(v.name, v.version, v.channel) for v in wanted) + _constraints(unchecked),
        gpu=gpu,
        platform=host.platform,
    )
    findings = judge(proposal, knowledge, host.ignore, _target(args))
    # The file's conda entries that name no channel, as far as they are still in the set judged.
    from_file = {id(v) for v in env.packages} if env is not None else set()
    unknown = [v for v in final if id(v) in from_file and not v.channel and not v.from_pip]
    if args.json:
        extra = {"unchecked": list(unchecked) or None}
        if env is not None:
            extra["file_format"] = env.format
        if unknown:
            extra["unknown_channel"] = {"packages": [v.name for v in unknown], "candidates": list(env.candidates),
                                        "configured_channels_too": env.configured_channels_too}
        _emit(out, to_json(findings, **extra))
    else:
        notes = [env.channel_note(len(unknown))] if unknown else []
        reasons = env.reasons if env is not None else None
        out.write(render_check(findings, len(final), unchecked, reasons=reasons, notes=notes) + "\n")
    return 1 if verdict_of(findings) == "block" else 0


def _constraints(unchecked: Sequence[str]) -> tuple[Request, ...]:
    """The entries a file names without one version (``numpy<2``, ``pip: keras~=2.6``): not
    judged, but the user did constrain them."""
    out = []
    for text in unchecked:
        request = parse_request(text[len("pip: "):] if text.startswith("pip: ") else text)
        if request is not None:
            out.append(request)
    return tuple(out)


# --------------------------------------------------------------------------- status
def _status(args: argparse.Namespace, host: Host, out: TextIO) -> int:
    from .prefix import read_prefix
    from .report import finding_lines, gpu_json, gpu_lines, status_table, to_json

    prefix = _prefix(args, host, required=True)
    contents = read_prefix(prefix)
    knowledge = _knowledge(args, host)
    gpu = _gpu(args, host)
    has_tf = _has_tensorflow(contents.views, knowledge)
    findings = judge(Proposal(final=contents.views, gpu=gpu, platform=host.platform), knowledge, host.ignore,
                     _target(args))
    stack = [v for v in contents.views if knowledge.family_of(v.name) is not None]
    if args.json:
        _emit(out, {
            "prefix": contents.prefix,
            "tensorflow": has_tf,
            "packages": [
                {"name": v.name, "version": v.version, "build": v.build, "channel": v.channel,
                 "installer": "pip" if v.from_pip else "conda"}
                for v in stack
            ],
            "gpu": gpu_json(gpu),
            **to_json(findings),
        })
        return 0
    lines = [f"Environment: {contents.prefix}"]
    if not has_tf:
        lines.append("No TensorFlow in this environment: nothing to guard.")
    else:
        lines += [""] + status_table(stack)
        pip = [v for v in contents.pip if knowledge.family_of(v.name) is not None]
        if pip:
            lines.append("pip-installed: " + ", ".join(f"{v.name} {v.version}" for v in pip))
    table_cuda = knowledge.cuda_for_driver(gpu.driver_version, host.platform) if gpu.driver_version else None
    lines += [""] + gpu_lines(gpu, table_cuda)
    if has_tf:
        verdict = verdict_of(findings)
        lines += ["", f"Verdict: {verdict.upper()}" + ("" if findings else " (no findings)")]
        lines += finding_lines(findings)
    if contents.skipped:
        lines.append(f"(skipped unreadable records: {', '.join(contents.skipped)})")
    out.write("\n".join(lines) + "\n")
    return 0


# --------------------------------------------------------------------------- pin
def _pin(args: argparse.Namespace, host: Host, out: TextIO) -> int:
    from .prefix import append_pins, read_pinned, read_prefix

    prefix = _prefix(args, host, required=True)
    contents = read_prefix(prefix)
    knowledge = _knowledge(args, host)
    if not _has_tensorflow(contents.conda, knowledge):
        raise TfguardError(f"no conda-installed TensorFlow in {prefix}: nothing to pin")
    findings = judge(Proposal(final=contents.views, platform=host.platform), knowledge, host.ignore)
    if verdict_of(findings) == "block":
        rules = ", ".join(sorted({f.rule for f in findings if f.severity == "block"}))
        raise TfguardError(f"refusing to pin {prefix}: its TensorFlow stack is broken ({rules}); "
                           "the status command says why")
    pinned = read_pinned(prefix)
    pins = [p for p in stack_pins(contents.conda, knowledge) if parse_request(p).name not in pinned.names]
    if args.dry_run or not pins:
        verb = "would add" if args.dry_run and pins else "nothing to add"
        out.write(f"tfguard pin: {verb} to {pinned.path}\n")
        out.writelines(f"  {p}\n" for p in pins)
        return 0
    path = append_pins(pinned, pins)
    out.write(f"tfguard pin: added to {path}\n")
    out.writelines(f"  {p}\n" for p in pins)
    return 0


def stack_pins(views: Sequence[PackageView], knowledge) -> list[str]:
    """Pins that hold the stack where it is: exact TensorFlow (and its GPU variant),
    the Keras line, the CUDA line, the NumPy major."""
    by_name = {v.name: v for v in views}
    pins = []
    tf_family = knowledge.families["tensorflow"]
    tf = next((by_name[m] for m in tf_family.members if m in by_name), None)
    if tf is not None:
        found = knowledge.variant_of(tf.name, tf.build)
        select = found[2].select if found and found[0] == "gpu" else None
        pins.append(f"{tf.name} {tf.version} {select}" if select else f"{tf.name} =={tf.version}")
    for name in ("keras", "tf-keras", "cuda-version", "cudatoolkit", "cudnn"):
        view = by_name.get(name)
        line = line_of(view.version) if view else None
        if line:
            pins.append(f"{name} {line}.*")
    numpy = by_name.get("numpy")
    major = parse_version(numpy.version) if numpy else None
    if major is not None:
        pins.append(f"numpy {major.release[0]}.*")
    return pins
