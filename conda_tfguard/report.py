"""Rendering: findings as lines a person reads, or as one JSON object for scripts.

Every human line starts with ``tfguard`` and names the rule id, so it stands apart
from conda's own output and can be grepped.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional, Sequence

from .findings import Finding, GpuFacts, verdict_of
from .packages import PackageView, channel_label

__all__ = ["finding_lines", "gpu_lines", "render_check", "status_table", "to_json"]

_TAG = {"block": "BLOCK", "warn": "WARN ", "info": "INFO "}


def finding_lines(findings: Iterable[Finding], *, sources: bool = True) -> list[str]:
    """``tfguard BLOCK [rule] message`` then its fix (and source) under it."""
    lines = []
    for f in findings:
        lines.append(f"tfguard {_TAG.get(f.severity, f.severity)} [{f.rule}] {f.message}")
        if f.fix:
            lines.append(f"tfguard   fix [{f.rule}] {f.fix}")
        if sources and f.source:
            lines.append(f"tfguard   see [{f.rule}] {f.source}")
    return lines


def to_json(findings: Sequence[Finding], **extra: object) -> dict:
    """``{"verdict": ..., "findings": [...]}`` plus any extra keys given."""
    out = {"verdict": verdict_of(findings), "findings": [f.to_dict() for f in findings]}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def render_check(findings: Sequence[Finding], checked: int, unchecked: Sequence[str] = (),
                 reasons: Optional[Mapping[str, str]] = None, notes: Sequence[str] = ()) -> str:
    """Findings, then each unchecked entry (``reasons`` says why, where not "is not pinned"),
    then ``notes`` (``[channel] ...``, as INFO lines), then the OK line if nothing was found."""
    lines = finding_lines(findings)
    for spec in unchecked:
        lines.append(f"tfguard INFO  [unchecked] {spec} {(reasons or {}).get(spec, 'is not pinned')}: not checked")
    for note in notes:
        lines.append(f"tfguard INFO  {note}")
    if not findings:
        lines.append(f"tfguard OK: {checked} package{'s' if checked != 1 else ''} checked, nothing to report")
    return "\n".join(lines)


STATUS_ROWS = (
    "tensorflow", "tensorflow-base", "tensorflow-gpu", "tensorflow-cpu", "keras", "tf-keras", "python",
    "numpy", "protobuf", "h5py", "cudatoolkit", "cuda-version", "cudnn",
)


def status_table(views: Sequence[PackageView]) -> list[str]:
    """The TensorFlow stack as an aligned table: package, version, build, channel."""
    rows = [("package", "version", "build", "channel")]
    for name in STATUS_ROWS:
        for view in views:
            if view.name == name:
                rows.append((view.name, view.version, view.build or "-", channel_label(view.channel)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def gpu_lines(gpu: Optional[GpuFacts], table_cuda: Optional[str] = None) -> list[str]:
    """The GPU section; ``table_cuda`` is the CUDA NVIDIA's table gives for the driver."""
    if gpu is None:
        return ["GPU: not probed"]
    if not gpu.found:
        return [f"GPU: no NVIDIA driver found{f' ({gpu.reason})' if gpu.reason else ''}"]
    cuda = gpu.cuda_driver or (f"{table_cuda} (by NVIDIA's driver table)" if table_cuda else "unknown")
    lines = [
        f"GPU: driver {gpu.driver_version or 'unknown'}, runs CUDA {cuda}"
        + (f"; from {gpu.origin}" if gpu.origin else "")
    ]
    for index, card in enumerate(gpu.gpus):
        memory = f", {card.memory_mib} MiB" if card.memory_mib else ""
        cc = card.compute_capability or "unknown"
        lines.append(f"  GPU {index}: {card.name}{memory}, compute capability {cc}")
    return lines


def gpu_json(gpu: Optional[GpuFacts]) -> Optional[dict]:
    if gpu is None:
        return None
    return {
        "found": gpu.found,
        "driver_version": gpu.driver_version,
        "cuda_driver": gpu.cuda_driver,
        "origin": gpu.origin,
        "reason": gpu.reason,
        "gpus": [
            {"name": g.name, "memory_mib": g.memory_mib, "compute_capability": g.compute_capability}
            for g in gpu.gpus
        ],
    }
