"""The commands a finding suggests: what to run to get what was asked for, safely.

Each returns a command line a person can paste (``conda install "keras>=2.10.0,<2.11"
tensorflow=2.10.0``), written so conda's match-spec parser takes it; a pip-installed
TensorFlow gets pip commands, never a second TensorFlow from conda.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional, Sequence

from .knowledge import Knowledge, ReleaseFacts
from .packages import PackageView, Request
from .scene import TENSORFLOW
from .versions import parse_version, pep440_contains

if TYPE_CHECKING:
    from .scene import Tf

__all__ = ["aimed_at", "fitting_command", "fitting_spec", "install_command", "lines_accepting", "pin", "quote"]


def quote(spec: str) -> str:
    return f'"{spec}"' if any(c in spec for c in '<>|*!, ') else spec


def install_command(*specs: str, channel: str = "", kb: Optional[Knowledge] = None) -> str:
    """A conda command line that asks for ``specs`` from ``channel``.

    With ``kb``, the channel is named only where the knowledge base knows it publishes
    every package asked for; otherwise the command leaves the choice to the user's
    channels (a fix that names a channel without the package cannot work).
    """
    if channel and kb is not None and not all(kb.carries(channel, spec_name(s)) for s in specs if s):
        channel = ""
    prefix = "conda install"
    if channel and channel not in ("defaults", "pypi"):
        prefix += f" -c {channel}"
    return " ".join([prefix, *(quote(s) for s in specs if s)])


def spec_name(spec: str) -> str:
    """The package a spec asks for: ``"keras>=2.10,<2.11"`` -> ``keras``, ``ch::numpy=1`` -> ``numpy``."""
    return re.split(r"[\s=<>!~\[]", spec.split("::")[-1], maxsplit=1)[0].lower()


def pin(view: PackageView) -> str:
    return f"{view.name}={view.version}"


def negate(spec: str) -> Optional[str]:
    """The complement of a one-sided specifier (``>=2`` -> ``<2``), else ``None``."""
    spec = spec.strip()
    for op, neg in ((">=", "<"), ("<=", ">"), (">", "<="), ("<", ">=")):
        if spec.startswith(op) and "," not in spec:
            return neg + spec[len(op):].strip()
    return None


def fitting_spec(facts: ReleaseFacts, package: str) -> Optional[str]:
    """A conda spec for ``package`` that the facts say works with this release."""
    parts = []
    req = facts.requires.get(package)
    if req:
        parts.append(req.declared.replace(" ", ""))
    for brk in facts.breaks:
        if brk.package == package:
            neg = negate(brk.versions)
            if neg and not (req and pep440_contains(req.declared, neg.lstrip("<>=")) is False):
                parts.append(neg)
    if not parts:
        return None
    return package + ",".join(dict.fromkeys(parts))


def tf_channel(tf: Tf) -> str:
    """The channel of a conda TensorFlow, where known (named, or inferred from its build)."""
    return "" if tf.view.from_pip else (tf.view.channel or tf.channel)


def lines_accepting(kb: Knowledge, package: str, version: str, after: str) -> list[str]:
    """TensorFlow lines newer than ``after`` whose facts accept ``package`` at ``version``."""
    out = []
    start = parse_version(after)
    for line in kb.known_lines():
        if start is not None and parse_version(line) <= start:
            continue
        facts = kb.release(f"{line}.0")
        if facts is None or package not in facts.requires:
            continue
        ok = pep440_contains(facts.requires[package].declared, version)
        broken = any(b.package == package and pep440_contains(b.versions, version) for b in facts.breaks)
        if ok and not broken:
            out.append(line)
    return out


def tf_pin(tf: Tf) -> tuple[str, ...]:
    """``tensorflow=X`` for a conda TensorFlow; nothing for pip's (conda would add a second one)."""
    return () if tf.view.from_pip else (f"tensorflow={tf.version}",)


def next_line(line: str) -> str:
    major, minor = (parse_version(line).release + (0,))[:2]
    return f"{major}.{minor + 1}"


def fitting_command(views: Sequence[PackageView], asked: Sequence[Request], knowledge: Knowledge) -> str:
    """For a failed solve: ask for the requested stack packages in forms that fit the
    installed TensorFlow (``conda install "keras>=2.10.0,<2.11" tensorflow=2.10.0``)."""
    tf_family = knowledge.families.get(TENSORFLOW)
    tf = next((v for v in views if tf_family and v.name in tf_family.members and not v.from_pip), None)
    facts = knowledge.release(tf.version) if tf else None
    if tf is None or facts is None:
        return ""
    specs = [fitting_spec(facts, r.name) for r in asked if r.name not in tf_family.members]
    specs = [s for s in specs if s]
    if not specs:
        return ""
    return install_command(*specs, f"tensorflow={tf.version}", channel=tf.channel, kb=knowledge)


def major_of(version: str) -> Optional[int]:
    parsed = parse_version(version)
    return parsed.release[0] if parsed else None


def aimed_at(findings: Sequence, target: str) -> tuple:
    """Fix commands that name the environment: ``conda install -n tf …``, and pip run
    through that environment's Python (``conda run -n tf python -m pip …``).

    ``target`` is ``-n NAME`` or ``-p PATH``; an empty one leaves the fixes as they are
    (they then act on the active environment, which is the one judged).
    """
    if not target:
        return tuple(findings)
    from dataclasses import replace

    return tuple(replace(f, fix=aim(f.fix, target)) if f.fix else f for f in findings)


def aim(command: str, target: str) -> str:
    """One fix command aimed at ``target`` (see :func:`aimed_at`)."""
    if not target:
        return command
    command = command.replace("conda install ", f"conda install {target} ")
    return command.replace("python -m pip ", f"conda run {target} python -m pip ")
