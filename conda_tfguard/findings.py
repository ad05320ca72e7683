"""Findings, verdicts, and the proposal the rules judge: plain values, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from .packages import PackageView, Request

__all__ = ["Finding", "Gpu", "GpuFacts", "Proposal", "SEVERITY_ORDER", "sort_findings", "verdict_of"]

SEVERITY_ORDER = {"info": 0, "warn": 1, "block": 2}


@dataclass(frozen=True)
class Finding:
    """One thing tfguard has to say, with why, what is involved, and what to run instead."""

    rule: str
    severity: str
    message: str
    packages: tuple[str, ...] = ()
    fix: str = ""
    source: str = ""

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "packages": list(self.packages),
            "fix": self.fix,
            "source": self.source,
        }


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_mib: Optional[int] = None
    compute_capability: Optional[str] = None


@dataclass(frozen=True)
class GpuFacts:
    """What the machine offers. ``None`` fields are unknown, not zero.

    ``cuda_driver`` is the newest CUDA the driver runs (conda's ``__cuda``);
    ``driver_version`` the NVIDIA driver string; ``reason`` says why nothing was found.
    """

    driver_version: Optional[str] = None
    cuda_driver: Optional[str] = None
    gpus: tuple[Gpu, ...] = ()
    origin: str = ""
    reason: str = ""

    @property
    def found(self) -> bool:
        return bool(self.driver_version or self.cuda_driver or self.gpus)


@dataclass(frozen=True)
class Proposal:
    """What the rules judge: the proposed final package set and how it came about.

    ``before`` is the prefix as it is now (empty for a new env); ``requested`` is what
    the user asked for explicitly and ``removing`` the names they asked to remove;
    ``gpu`` is ``None`` when the machine was not probed; ``platform`` is a conda subdir
    such as ``linux-64`` or ``win-64``.
    """

    final: tuple[PackageView, ...]
    before: tuple[PackageView, ...] = ()
    requested: tuple[Request, ...] = ()
    gpu: Optional[GpuFacts] = None
    platform: str = ""
    removing: tuple[str, ...] = ()


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Most severe first; equal severities keep the rules' order; duplicates dropped."""
    unique = list(dict.fromkeys(findings))
    return tuple(sorted(unique, key=lambda f: -SEVERITY_ORDER.get(f.severity, 0)))


def verdict_of(findings: Iterable[Finding]) -> str:
    """``block`` or ``warn`` when any finding is; ``ok`` otherwise (``info`` is ``ok``)."""
    worst = max((SEVERITY_ORDER.get(f.severity, 0) for f in findings), default=0)
    return {2: "block", 1: "warn"}.get(worst, "ok")
