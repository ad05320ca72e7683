"""The command line of ``check``, ``status`` and ``pin``: argparse only.

conda builds its whole parser, plugin subcommands included, at the start of every
command, so this module imports nothing but argparse. ``python -m conda_tfguard`` and
``conda tfguard`` mount the same :func:`configure_parser`.
"""

from __future__ import annotations

import argparse

__all__ = ["configure_parser"]


class _SpecsAnywhere(argparse.ArgumentParser):
    """``check tf=2.15.0 --driver X python=3.11``: argparse stops taking positionals after
    an option; the specs that follow one are specs all the same."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras and getattr(namespace, "specs", None) is not None and not any(e.startswith("-") for e in extras):
            namespace.specs = [*namespace.specs, *extras]
            extras = []
        return namespace, extras


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` / ``status`` / ``pin`` subcommands to ``parser``."""
    commands = parser.add_subparsers(dest="tfguard_command", metavar="COMMAND", parser_class=_SpecsAnywhere)
    commands.required = True

    check = commands.add_parser(
        "check", help="what-if: would these packages make a working TensorFlow stack?",
        description="Judge a package set against the compatibility knowledge base. Exit 1 on a block.",
    )
    check.add_argument("specs", nargs="*", metavar="SPEC",
                       help="exact packages: name=1.2.3, name==1.2.3, channel::name=1.2.3[=build]")
    check.add_argument("-f", "--file", metavar="FILE", help="an environment.yml whose pinned entries are added")
    _prefix_args(check)
    check.add_argument("--python", metavar="X.Y", help="the Python version of the set")
    _machine_args(check)
    check.add_argument("--json", action="store_true", help="print one JSON object")

    status = commands.add_parser(
        "status", help="this environment's TensorFlow stack, this machine's GPU, and whether they fit",
        description="Report the environment's TensorFlow stack and GPU facts. Always exits 0 unless an error.",
    )
    _prefix_args(status)
    _machine_args(status)
    status.add_argument("--json", action="store_true", help="print one JSON object")

    pin = commands.add_parser(
        "pin", help="pin the current known-good TensorFlow stack in conda-meta/pinned",
        description="Append pins for tensorflow, the keras line, CUDA and the numpy major to conda-meta/pinned.",
    )
    _prefix_args(pin)
    pin.add_argument("--dry-run", action="store_true", help="show the pins, write nothing")
    pin.add_argument("--knowledge", metavar="FILE", help="an extra knowledge file")


def _prefix_args(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-n", "--name", metavar="ENV", help="an environment by name (needs conda)")
    where.add_argument("-p", "--prefix", metavar="PATH", help="an environment by path")


def _machine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cuda", metavar="X.Y", help="the machine's CUDA driver version (as __cuda says)")
    parser.add_argument("--driver", metavar="VERSION", help="the machine's NVIDIA driver version, e.g. 535.104.05")
    parser.add_argument("--knowledge", metavar="FILE", help="an extra knowledge file (overrides the shipped one)")
