"""The guard inside conda: remember the request, judge the proposed transaction.

Imported only from inside hooks. It turns conda records into package views, asks the
core, and then warns on stderr or raises :class:`TfguardBlocked` by the configured
mode, before anything is downloaded or linked. Any internal error is one warning line
and the user's command goes on (fail open, loudly).
"""

from __future__ import annotations

import logging
import shlex
import sys
from itertools import chain
from typing import TYPE_CHECKING, Iterable, NamedTuple, Optional, Sequence

from conda.base.context import context
from conda.exceptions import CondaError

from .names import is_tensorflow, might_matter

if TYPE_CHECKING:
    from .findings import Finding
    from .packages import PackageView

log = logging.getLogger("conda.conda_tfguard")

# What the user asked for in this command: name -> (version, channel, build), as conda's
# match specs said it. Kept raw: turning it into core values waits until TensorFlow is involved.
_requests: dict[str, tuple[str, str, str]] = {}
_removals: set[str] = set()
_judged_by_solve = False


class TfguardBlocked(CondaError):
    """The transaction would break the TensorFlow stack; nothing was changed."""

    def __init__(self, findings: Sequence["Finding"], before: str = "before anything was downloaded or linked"):
        message = _block_message(findings, before)
        super().__init__(message.replace("%", "%%"), findings=[f.to_dict() for f in findings])


class Settings(NamedTuple):
    mode: str
    ignore: tuple[str, ...]
    knowledge_files: tuple[str, ...]
    driver: Optional[str]


def settings() -> Settings:
    plugin = context.plugins
    if not hasattr(plugin, "tfguard_mode"):
        # Before conda 25.1, reset_context() kept a PluginConfig without the plugin
        # settings; conda 25.1+ drops the cached property the same way.
        try:
            del context.plugins
            plugin = context.plugins
        except AttributeError:
            pass
    mode = str(getattr(plugin, "tfguard_mode", "block") or "block").strip().lower()
    if mode not in ("block", "warn", "off"):
        _say(f"tfguard: unknown tfguard_mode {mode!r} (block, warn or off); using block")
        mode = "block"
    knowledge = str(getattr(plugin, "tfguard_knowledge_file", "") or "").strip()
    driver = str(getattr(plugin, "tfguard_driver_version", "") or "").strip()
    return Settings(
        mode=mode,
        ignore=tuple(str(r).strip() for r in (getattr(plugin, "tfguard_ignore", ()) or ()) if str(r).strip()),
        knowledge_files=(knowledge,) if knowledge else (),
        driver=driver or None,
    )


# --------------------------------------------------------------------------- hooks
def remember_request(specs_to_add: Iterable, specs_to_remove: Iterable) -> None:
    """Pre-solve: note what the user asked for (may run several times per command)."""
    for spec in specs_to_remove:
        name = getattr(spec, "name", None)
        if isinstance(name, str):
            _removals.add(name)
    for spec in specs_to_add:
        try:
            raw = (spec.get_raw_value("version"), spec.get_raw_value("channel"), spec.get_raw_value("build"))
            _requests[spec.name] = tuple(str(value) if value else "" for value in raw)
        except Exception:  # an odd spec must not stop the user's command
            continue


def _requested() -> tuple:
    from .packages import Request, classify_channel

    return tuple(Request(name, version, classify_channel(channel), build)
                 for name, (version, channel, build) in _requests.items())


def judge_solution(repodata_fn: str, unlink_precs: Sequence, link_precs: Sequence) -> None:
    """Post-solve: judge the proposed final state; warn, or raise to stop the transaction."""
    global _judged_by_solve
    _judged_by_solve = True
    try:
        guard(context.target_prefix, unlink_precs, link_precs, None, tuple(sorted(_removals)))
    finally:  # the next solve in this process (conda used as a library) starts afresh
        _requests.clear()
        _removals.clear()


def take_judged_by_solve() -> bool:
    """Did the post-solve hook judge the transaction about to run? (Asking resets it.)"""
    global _judged_by_solve
    judged, _judged_by_solve = _judged_by_solve, False
    return judged


def guard(prefix: str, unlink_precs: Sequence, link_precs: Sequence, requested: Optional[tuple] = None,
          removing: tuple[str, ...] = (), blocked_before: str = "before anything was downloaded or linked") -> None:
    """Judge a transaction; warn, or raise :class:`TfguardBlocked` by the configured mode."""
    if not any(might_matter(r.name) for r in chain(unlink_precs, link_precs)):
        return  # the fast path: nothing of the TensorFlow stack moves
    current = settings()
    if current.mode == "off":
        return
    from time import perf_counter

    from .errors import KnowledgeError

    started = perf_counter()
    try:
        findings = _findings(prefix, unlink_precs, link_precs, requested, removing, current)
    except KnowledgeError as exc:
        _say(f"tfguard: transaction not checked: {exc}")
        return
    except Exception as exc:  # fail open, loudly
        _say(f"tfguard: internal error, transaction not checked ({type(exc).__name__}: {exc}); -v shows more")
        if context.verbosity > 0 and not context.quiet:
            import traceback

            traceback.print_exc(file=sys.stderr)
        return
    log.debug("tfguard: judged the transaction in %.1f ms", (perf_counter() - started) * 1000)
    _act(findings, current, blocked_before)


def _say(line: str) -> None:
    """tfguard's own lines go to stderr as they are, so each starts with ``tfguard``."""
    if not context.quiet:
        print(line, file=sys.stderr)


def _findings(prefix, unlink_precs, link_precs, requested, removing, current: Settings) -> tuple:
    from conda.core.prefix_data import PrefixData

    records = list(PrefixData(prefix).iter_records()) if prefix and _is_environment(prefix) else []
    gone = {r.name for r in unlink_precs}
    final_records = [r for r in records if r.name not in gone] + list(link_precs)
    if not any(is_tensorflow(r.name) for r in chain(final_records, records)):
        return ()  # numpy moved, but there is no TensorFlow here: nothing to load
    from .cli import judge
    from .findings import Proposal
    from .knowledge import load_knowledge

    requested = _requested() if requested is None else requested
    before = tuple(view_of(r) for r in records)
    final = tuple(view_of(r) for r in final_records) + _pip_views(prefix, records)
    knowledge = load_knowledge(current.knowledge_files)
    proposal = Proposal(
        final=final,
        before=before,
        requested=requested,
        gpu=_gpu(current),
        platform=context.subdir,
        removing=removing,
    )
    return judge(proposal, knowledge, current.ignore, target=_target(prefix))


def _target(prefix: str) -> str:
    """How fix commands name the environment: nothing for the active one, else -n / -p."""
    import os
    import shlex

    if not prefix or os.path.normcase(os.path.abspath(prefix)) == os.path.normcase(
        os.path.abspath(context.active_prefix or "")
    ):
        return ""
    parent = os.path.dirname(os.path.abspath(prefix))
    if any(os.path.abspath(d) == parent for d in context.envs_dirs):
        return f"-n {shlex.quote(os.path.basename(prefix))}"
    return f"-p {shlex.quote(prefix)}"


def view_of(record) -> "PackageView":
    """A conda record as the core sees it."""
    from .packages import PackageView, classify_channel

    channel = getattr(record, "channel", None)
    return PackageView(
        name=record.name,
        version=str(record.version),
        build=str(getattr(record, "build", "") or ""),
        channel=classify_channel(
            getattr(channel, "canonical_name", None), getattr(channel, "name", None), getattr(channel, "base_url", None)
        ),
        subdir=str(getattr(record, "subdir", "") or ""),
        depends=tuple(getattr(record, "depends", ()) or ()),
    )


def _pip_views(prefix: str, records: Sequence) -> tuple:
    from pathlib import Path

    from .prefix import owned_dist_dirs, pip_views

    if not prefix:
        return ()
    owned = owned_dist_dirs(f for r in records for f in (getattr(r, "files", ()) or ()))
    return tuple(pip_views(Path(prefix), owned))


def _gpu(current: Settings):
    from .errors import ProbeError
    from .gpu import probe

    try:
        return probe(driver_setting=current.driver, virtual_cuda=virtual_cuda)
    except ProbeError as exc:
        _say(f"tfguard: {exc}; GPU rules skipped")
        return None


def _is_environment(prefix: str) -> bool:
    """``PrefixData.is_environment()`` (conda >= 25.5), else conda's own history-file test."""
    from conda.core.prefix_data import PrefixData

    data = PrefixData(prefix)
    if hasattr(data, "is_environment"):
        return data.is_environment()
    from conda.gateways.disk.test import is_conda_environment

    return is_conda_environment(str(prefix))


def virtual_cuda() -> Optional[str]:
    """What conda's ``__cuda`` virtual package says (it honours CONDA_OVERRIDE_CUDA)."""
    manager = context.plugin_manager
    if hasattr(manager, "get_virtual_package_records"):  # conda >= 24.9
        for record in manager.get_virtual_package_records():
            if record.name == "__cuda":
                return str(record.version)
        return None
    for package in manager.get_virtual_packages():  # the hook's own values: name "cuda"
        if package.name in ("cuda", "__cuda") and package.version:
            return str(package.version)
    return None


# --------------------------------------------------------------------------- output
def _act(findings: Sequence["Finding"], current: Settings, blocked_before: str) -> None:
    if not findings:
        return
    from .findings import verdict_of

    shown = [f for f in findings if f.severity != "info" or context.verbosity > 0]
    if not shown:
        return
    if verdict_of(findings) == "block" and current.mode == "block" and not context.dry_run:
        raise TfguardBlocked(shown, blocked_before)
    if verdict_of(findings) == "block":
        _say("tfguard would stop this transaction:" if context.dry_run else
             "tfguard found what would stop this transaction (tfguard_mode: warn):")
    for line in _detailed_lines(shown):
        _say(line)


def _detailed_lines(findings: Sequence["Finding"]) -> list[str]:
    """Finding lines, with each package's before → after under a downgrade."""
    from .report import finding_lines

    lines = []
    for finding in findings:
        head, *rest = finding_lines([finding])
        lines.append(head)
        if finding.rule == "tf-downgrade":
            lines.extend(f"tfguard         {p}" for p in finding.packages)
        lines.extend(rest)
    return lines


def _block_message(findings: Sequence["Finding"], before: str) -> str:
    command = " ".join(["conda", *map(shlex.quote, sys.argv[1:])]) if len(sys.argv) > 1 else "your conda command"
    return "\n".join([
        f"tfguard stopped this transaction {before}:",
        "",
        *_detailed_lines(findings),
        "",
        "tfguard: to go ahead anyway, run it once with CONDA_PLUGINS_TFGUARD_MODE=warn, e.g.",
        f"tfguard:   CONDA_PLUGINS_TFGUARD_MODE=warn {command}",
        "tfguard: or silence a rule with `tfguard_ignore` in .condarc, or run conda with --no-plugins.",
    ])


_SOLVE_FAILURES = ("Unsatisfiable", "NotFound", "Conflict")


def hints_for(error: BaseException) -> list[tuple[str, str]]:
    """Error hints: when a solve fails over TensorFlow-stack packages, say what fits."""
    try:
        name = type(error).__name__
        if isinstance(error, TfguardBlocked) or not any(word in name for word in _SOLVE_FAILURES):
            return []  # a dry-run exit, a network error...: nothing tfguard can help with
        asked = [r for r in _requested() if might_matter(r.name)]
        text = str(error)
        if not asked and "tensorflow" not in text and "keras" not in text:
            return []
        from conda.core.prefix_data import PrefixData

        from .knowledge import load_knowledge
        from .rules import fitting_command

        prefix = context.target_prefix
        views = [view_of(r) for r in PrefixData(prefix).iter_records()] if _is_environment(prefix) else []
        from .fixes import aim

        command = aim(fitting_command(views, asked, load_knowledge(settings().knowledge_files)), _target(prefix))
        if command:
            return [(f"tfguard: this asks for a combination that fits the installed TensorFlow: {command}",
                     "tfguard_fitting_stack")]
        specs = " ".join(f"{r.name}={_exact(r.version)}" for r in asked if _exact(r.version)) or "tensorflow=X.Y"
        return [(f"tfguard: `conda tfguard check {specs}` tells which versions fit together", "tfguard_check")]
    except Exception:
        log.debug("tfguard: no hint", exc_info=True)
        return []


def _exact(version: str) -> str:
    """A request's version as ``check`` takes it: ``2.12.*`` -> ``2.12``; ranges -> ''."""
    text = version.strip().lstrip("=").rstrip("*").rstrip(".")
    return text if text and not any(c in text for c in "<>!|,*~ ") else ""
