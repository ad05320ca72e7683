"""conda-tfguard's hooks: a table of contents.

conda imports this module at every start, so it imports nothing of its own at module
level: each hook imports what it needs when conda calls it. Hooks that only newer
conda versions know (error hints, doctor fixers) are registered only where the
running conda has them.
"""

from __future__ import annotations

from typing import Iterable

from conda import plugins
from conda.plugins import hookspec, types

MODES = ("block", "warn", "off")


@plugins.hookimpl
def conda_settings() -> Iterable[types.CondaSetting]:
    from conda.common.configuration import PrimitiveParameter, SequenceParameter

    yield types.CondaSetting(
        name="tfguard_mode",
        description="block: stop transactions with blocking findings (others warn); warn: never stop; off.",
        parameter=PrimitiveParameter("block", element_type=str),
    )
    yield types.CondaSetting(
        name="tfguard_ignore",
        description="Rule ids tfguard must not report (e.g. channel-mix).",
        parameter=SequenceParameter(PrimitiveParameter("", element_type=str)),
    )
    yield types.CondaSetting(
        name="tfguard_knowledge_file",
        description="A YAML knowledge file that extends or overrides the shipped one.",
        parameter=PrimitiveParameter("", element_type=str),
    )
    yield types.CondaSetting(
        name="tfguard_driver_version",
        description="Take this NVIDIA driver version instead of asking the machine (e.g. 535.104.05).",
        parameter=PrimitiveParameter("", element_type=str),
    )


@plugins.hookimpl
def conda_pre_solves() -> Iterable[types.CondaPreSolve]:
    from .guard import remember_request

    yield types.CondaPreSolve(name="tfguard-pre-solve", action=remember_request)


@plugins.hookimpl
def conda_post_solves() -> Iterable[types.CondaPostSolve]:
    from .guard import judge_solution

    yield types.CondaPostSolve(name="tfguard-post-solve", action=judge_solution)


@plugins.hookimpl
def conda_subcommands() -> Iterable[types.CondaSubcommand]:
    from .commands import configure_parser, execute

    yield types.CondaSubcommand(
        name="tfguard",
        summary="Check this environment's TensorFlow stack against its GPU, channels and pins.",
        action=execute,
        configure_parser=configure_parser,
    )


@plugins.hookimpl
def conda_health_checks() -> Iterable[types.CondaHealthCheck]:
    from .commands import health_check

    try:  # conda >= 26.1 shows a summary in `conda doctor --list`
        yield types.CondaHealthCheck(
            name="tfguard", action=health_check,
            summary="Check the TensorFlow stack against this GPU, its channels and its pins",
        )
    except TypeError:
        yield types.CondaHealthCheck(name="tfguard", action=health_check)


# Lock-file installs (`--file` with @EXPLICIT) never solve; conda >= 25.5 lets a
# pre-transaction action judge them. Older conda offers no public hook for them.
if hasattr(hookspec.CondaSpecs, "conda_pre_transaction_actions"):

    @plugins.hookimpl
    def conda_pre_transaction_actions() -> Iterable[types.CondaPreTransactionAction]:
        from .explicit import ExplicitInstallCheck

        yield types.CondaPreTransactionAction(name="tfguard-explicit-install", action=ExplicitInstallCheck)


if hasattr(hookspec.CondaSpecs, "conda_error_hints"):  # conda >= 26.7

    @plugins.hookimpl
    def conda_error_hints(error) -> Iterable[types.CondaErrorHint]:
        from .guard import hints_for

        for text, code in hints_for(error):
            yield types.CondaErrorHint(text=text, hint_code=code)
