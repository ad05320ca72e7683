"""``conda tfguard …`` and the ``conda doctor`` check: the core's commands inside conda.

Imported only when conda runs the subcommand or doctor. The parser and the work are
the core's (:mod:`conda_tfguard.cli`); this module supplies what conda knows (the
active environment, ``__cuda``, the plugin settings) and turns core errors into conda
errors, so conda renders them and exits cleanly.
"""

from __future__ import annotations

import argparse
import sys

from conda.base.context import context
from conda.exceptions import ArgumentError

from .arguments import configure_parser

__all__ = ["configure_parser", "execute", "health_check"]


class TfguardArgumentError(ArgumentError):
    """Bad input to a tfguard command: one line, exit status 2."""


def conda_host():
    from .cli import Host
    from .guard import settings, virtual_cuda

    current = settings()
    return Host(
        active_prefix=context.active_prefix or context.root_prefix,
        knowledge_files=current.knowledge_files,
        ignore=current.ignore,
        driver_setting=current.driver,
        virtual_cuda=virtual_cuda,
        resolve_name=_locate,
        check_active_env=True,
        platform=context.subdir,
    )


def _locate(name: str) -> str:
    from conda.base.context import locate_prefix_by_name

    return locate_prefix_by_name(name)


def execute(args: argparse.Namespace) -> int:
    from .cli import run
    from .errors import TfguardError

    try:
        return run(args, conda_host(), sys.stdout)
    except TfguardError as exc:
        raise TfguardArgumentError(str(exc).replace("%", "%%")) from None


def health_check(prefix: str, verbose: bool) -> None:
    """``conda doctor``: the same findings as ``conda tfguard status``, in doctor's style."""
    try:
        from conda.base.constants import OK_MARK, X_MARK
    except ImportError:  # before conda 26.1 they live in the doctor plugin
        OK_MARK, X_MARK = "\u2705", "\u274c"

    from .cli import judge
    from .errors import TfguardError
    from .findings import Proposal, verdict_of
    from .knowledge import load_knowledge
    from .prefix import read_prefix
    from .report import finding_lines

    host = conda_host()
    try:
        contents = read_prefix(prefix)
        knowledge = load_knowledge(host.knowledge_files)
    except TfguardError as exc:
        print(f"{X_MARK} tfguard could not check {prefix}: {exc}\n")
        return
    tf = knowledge.families["tensorflow"]
    if not any(v.name in tf.members for v in contents.views):
        print(f"{OK_MARK} No TensorFlow in this environment: nothing for tfguard to check.\n")
        return
    from .gpu import probe

    try:
        gpu = probe(driver_setting=host.driver_setting, virtual_cuda=host.virtual_cuda)
    except TfguardError as exc:
        print(f"{X_MARK} tfguard: {exc}")
        gpu = None
    findings = judge(Proposal(final=contents.views, gpu=gpu, platform=host.platform), knowledge, host.ignore)
    shown = [f for f in findings if f.severity != "info" or verbose]
    if verdict_of(findings) == "ok":
        print(f"{OK_MARK} The TensorFlow stack fits together (tfguard).")
    else:
        print(f"{X_MARK} The TensorFlow stack has problems (tfguard: {verdict_of(findings)}):")
    for line in finding_lines(shown, sources=verbose):
        print(f"  {line}")
    print()
