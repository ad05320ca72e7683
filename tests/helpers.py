"""Small builders the tests share: package sets from spec strings, a judge call."""

from __future__ import annotations

from typing import Iterable, Optional

from conda_tfguard.cli import judge
from conda_tfguard.findings import Finding, GpuFacts, Proposal
from conda_tfguard.knowledge import load_knowledge
from conda_tfguard.packages import PackageView, Request
from conda_tfguard.specs import parse_package_spec


def pkgs(*specs: str) -> tuple[PackageView, ...]:
    """``"defaults::tensorflow=2.10.0=mkl_py39h0_0"`` -> views; ``pypi::`` means pip."""
    return tuple(parse_package_spec(s) for s in specs)


def with_depends(view: PackageView, *depends: str) -> PackageView:
    return PackageView(view.name, view.version, view.build, view.channel, view.subdir, tuple(depends))


def asked(*specs: str) -> tuple[Request, ...]:
    out = []
    for spec in specs:
        name, _, version = spec.partition("=")
        out.append(Request(name, version.lstrip("=")))
    return tuple(out)


def findings_for(
    final: Iterable[PackageView],
    before: Iterable[PackageView] = (),
    requested: Iterable[Request] = (),
    gpu: Optional[GpuFacts] = None,
    platform: str = "linux-64",
) -> tuple[Finding, ...]:
    proposal = Proposal(tuple(final), tuple(before), tuple(requested), gpu, platform)
    return judge(proposal, load_knowledge())


def rules_of(findings: Iterable[Finding]) -> dict[str, str]:
    """rule id -> the most severe severity it was reported with."""
    order = {"info": 0, "warn": 1, "block": 2}
    out: dict[str, str] = {}
    for f in findings:
        if order[f.severity] >= order.get(out.get(f.rule, "info"), 0):
            out[f.rule] = f.severity
    return out


def make_prefix(root, records=(), pip=(), pinned=None):
    """A fake conda prefix on disk: conda-meta records and pip dist-info, no conda needed.

    ``records`` are ``(name, version, build, channel_url, depends)``; ``pip`` are ``(name, version)``.
    """
    import json

    meta = root / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    for name, version, build, channel, depends in records:
        files = []
        if name not in ("python",):
            dist = f"{name.replace('-', '_')}-{version}.dist-info"
            (site / dist).mkdir(exist_ok=True)
            (site / dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
            files.append(f"lib/python3.11/site-packages/{dist}/METADATA")
        record = {"name": name, "version": version, "build": build, "build_number": 0, "channel": channel,
                  "subdir": "linux-64", "depends": list(depends), "files": files}
        (meta / f"{name}-{version}-{build}.json").write_text(json.dumps(record))
    for name, version in pip:
        dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (dist / "INSTALLER").write_text("pip\n")
    if pinned is not None:
        (meta / "pinned").write_text(pinned)
    (meta / "history").write_text("")
    return root


CF = "https://conda.anaconda.org/conda-forge/linux-64"
MAIN = "https://repo.anaconda.com/pkgs/main/linux-64"
CLEAN_TF215 = [
    ("python", "3.11.9", "h0_0", CF, []),
    ("tensorflow", "2.15.0", "cpu_py311h0_0", CF, ["tensorflow-base 2.15.0 cpu_py311h0_0", "python >=3.11,<3.12.0a0"]),
    ("tensorflow-base", "2.15.0", "cpu_py311h0_0", CF,
     ["numpy >=1.23.5,<2.0a0", "keras >=2.15,<2.16", "python >=3.11,<3.12.0a0", "protobuf >=3.20.3,<5", "h5py >=2.9.0"]),
    ("keras", "2.15.0", "pyhd8ed1ab_0", CF, []),
    ("numpy", "1.26.4", "py311h0_0", CF, ["python >=3.11,<3.12.0a0"]),
    ("protobuf", "4.24.4", "py311h0_0", CF, []),
    ("h5py", "3.10.0", "py311h0_0", CF, []),
]
