"""A tiny offline conda channel tree for the real-conda end-to-end tests.

``Channel(root)`` holds three sub-channels under one ``channel_alias``:

* ``pkgs/main``   -- what ``defaults`` points at (``default_channels``),
* ``anaconda``    -- reachable as ``-c anaconda``,
* ``conda-forge`` -- reachable as ``-c conda-forge``.

``add()`` makes a REAL (tiny) conda package with ``conda_package_handling``: it holds
``info/index.json``, ``info/paths.json``, ``info/files``, ``info/about.json`` and one
small text file. ``write()`` writes ``repodata.json`` for ``noarch`` and ``linux-64`` of
every sub-channel (md5, sha256 and size filled in) plus a ``condarc`` that keeps conda
offline and on these channels only.

``build_tf_universe(root)`` fills it with the TensorFlow package universe the tests use.
Nothing here imports conda itself; only ``conda_package_handling`` is needed.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

__all__ = ["Channel", "Package", "build_real_records", "build_tf_universe", "SUBCHANNELS", "SUBDIRS"]

SUBCHANNELS = ("pkgs/main", "anaconda", "conda-forge")
SUBDIRS = ("noarch", "linux-64")
# A fixed timestamp keeps the packages byte-for-byte reproducible between builds.
TIMESTAMP_MS = 1_700_000_000_000


@dataclass(frozen=True)
class Package:
    """One built package: where it lives and its repodata entry."""

    channel: str
    subdir: str
    fn: str
    path: Path
    record: dict = field(compare=False)

    @property
    def name(self) -> str:
        return self.record["name"]

    @property
    def version(self) -> str:
        return self.record["version"]

    @property
    def build(self) -> str:
        return self.record["build"]

    @property
    def url(self) -> str:
        return self.path.as_uri()

    @property
    def md5(self) -> str:
        return self.record["md5"]


def _hashes(data: bytes) -> tuple[str, str, int]:
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(), len(data)


class Channel:
    """A root directory with the sub-channels ``pkgs/main``, ``anaconda`` and ``conda-forge``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.packages: list[Package] = []
        for channel in SUBCHANNELS:
            for subdir in SUBDIRS:
                (self.root / channel / subdir).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ building
    def add(
        self,
        channel: str,
        name: str,
        version: str,
        build: str,
        depends: Iterable[str] = (),
        subdir: str = "linux-64",
        *,
        build_number: Optional[int] = None,
        ext: str = ".conda",
    ) -> Package:
        """Build ``name-version-build`` into ``channel/subdir`` and remember it.

        The build number defaults to the trailing ``_N`` of the build string
        (``py39h0_0`` -> 0). ``subdir="noarch"`` makes a ``noarch: generic`` package.
        """
        from conda_package_handling import api as cph

        if channel not in SUBCHANNELS:
            raise ValueError(f"unknown channel {channel!r}; one of {SUBCHANNELS}")
        if subdir not in SUBDIRS:
            raise ValueError(f"unknown subdir {subdir!r}; one of {SUBDIRS}")
        if ext not in (".conda", ".tar.bz2"):
            raise ValueError(f"unknown package format {ext!r}")
        if build_number is None:
            tail = build.rsplit("_", 1)[-1]
            build_number = int(tail) if tail.isdigit() else 0
        index = {
            "name": name,
            "version": version,
            "build": build,
            "build_number": build_number,
            "depends": list(depends),
            "license": "BSD-3-Clause",
            "subdir": subdir,
            "timestamp": TIMESTAMP_MS,
        }
        if subdir == "noarch":
            index["noarch"] = "generic"
        else:
            index["arch"], index["platform"] = "x86_64", "linux"

        fn = f"{name}-{version}-{build}{ext}"
        out_dir = self.root / channel / subdir
        with tempfile.TemporaryDirectory(prefix="tfguard-pkg.") as staging:
            st = Path(staging)
            payload_rel = f"share/{name}/{name}-{version}-{build}.txt"
            payload = st / payload_rel
            payload.parent.mkdir(parents=True)
            payload.write_text(f"{name} {version} {build} from {channel}\n")
            _, sha256, size = _hashes(payload.read_bytes())
            info = st / "info"
            info.mkdir()
            (info / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True))
            (info / "files").write_text(payload_rel + "\n")
            (info / "paths.json").write_text(json.dumps({
                "paths": [{"_path": payload_rel, "path_type": "hardlink",
                           "sha256": sha256, "size_in_bytes": size}],
                "paths_version": 1,
            }, indent=2))
            (info / "about.json").write_text(json.dumps({"summary": f"tiny test package {name}"}))
            files = [payload_rel, "info/index.json", "info/files", "info/paths.json", "info/about.json"]
            cph.create(str(st), files, fn, out_folder=str(out_dir))

        md5, sha256, size = _hashes((out_dir / fn).read_bytes())
        package = Package(channel, subdir, fn, out_dir / fn,
                          dict(index, md5=md5, sha256=sha256, size=size))
        self.packages.append(package)
        return package

    def write(self) -> Path:
        """Write every ``repodata.json`` and the ``condarc``; return the condarc path."""
        for channel in SUBCHANNELS:
            for subdir in SUBDIRS:
                repodata = {
                    "info": {"subdir": subdir},
                    "packages": {},
                    "packages.conda": {},
                    "removed": [],
                    "repodata_version": 1,
                }
                for p in self.packages:
                    if (p.channel, p.subdir) == (channel, subdir):
                        key = "packages.conda" if p.fn.endswith(".conda") else "packages"
                        repodata[key][p.fn] = p.record
                (self.root / channel / subdir / "repodata.json").write_text(
                    json.dumps(repodata, indent=1, sort_keys=True))
        self.condarc.write_text(
            f"channel_alias: {self.root.as_uri()}\n"
            f"default_channels:\n  - {self.url('pkgs/main')}\n"
            "channels:\n  - defaults\n"
            "solver: classic\n"
            "offline: true\n"
            "auto_update_conda: false\n"
            "notify_outdated_conda: false\n"
            # the fake python must not pull in a pip package this universe does not have
            "add_pip_as_python_dependency: false\n"
        )
        return self.condarc

    # ------------------------------------------------------------------ lookups
    @property
    def condarc(self) -> Path:
        return self.root / "condarc"

    def url(self, channel: str) -> str:
        """``file:///.../conda-forge``: the channel's URL."""
        return (self.root / channel).as_uri()

    def get(self, channel: str, name: str, version: str, build: Optional[str] = None) -> Package:
        """The one package added as ``name version [build]`` to ``channel``."""
        found = [p for p in self.packages
                 if (p.channel, p.name, p.version) == (channel, name, version)
                 and (build is None or p.build == build)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} packages match {channel}::{name}={version}={build or '*'}")
        return found[0]

    def explicit(self, packages: Iterable[Package], *, md5: bool = True) -> str:
        """An ``@EXPLICIT`` lock file (the format of ``conda list --explicit --md5``)."""
        lines = ["# platform: linux-64", "@EXPLICIT"]
        lines += [p.url + (f"#{p.md5}" if md5 else "") for p in packages]
        return "\n".join(lines) + "\n"


PY39 = "python >=3.9,<3.10.0a0"
PY311 = "python >=3.11,<3.12.0a0"


def build_tf_universe(root: Path) -> Channel:
    """The package universe of the tests (see the module docstring of test_conda_e2e)."""
    ch = Channel(root)

    # --- defaults (pkgs/main): TensorFlow 2.10 and 2.11 for python 3.9
    main = "pkgs/main"
    ch.add(main, "python", "3.9.18", "h0_0")
    ch.add(main, "python", "3.11.9", "h0_0")
    ch.add(main, "numpy", "1.23.5", "py39h0_0", [PY39])
    ch.add(main, "numpy", "1.23.5", "py311h0_0", [PY311])
    ch.add(main, "h5py", "3.7.0", "py39h0_0", [PY39, "numpy >=1.21,<2.0a0"])
    # TensorFlow 2.10 wants protobuf <3.20, so 3.19.6 is here beside 3.20.3
    ch.add(main, "protobuf", "3.19.6", "py39h0_0", [PY39])
    ch.add(main, "protobuf", "3.20.3", "py39h0_0", [PY39])
    ch.add(main, "keras", "2.10.0", "py39h0_0", [PY39])
    ch.add(main, "tensorflow-base", "2.10.0", "mkl_py39h0_0", [
        PY39, "numpy >=1.21,<2.0a0", "h5py >=2.9", "keras >=2.10,<2.11", "protobuf >=3.9.2,<3.20",
    ])
    ch.add(main, "tensorflow", "2.10.0", "mkl_py39h0_0", ["tensorflow-base 2.10.0 mkl_py39h0_0", PY39])
    # 2.11: the metadata is silent about keras (the `conda update --all` trap)
    ch.add(main, "tensorflow-base", "2.11.0", "mkl_py39h0_0", [PY39, "numpy >=1.21,<2.0a0"])
    ch.add(main, "tensorflow", "2.11.0", "mkl_py39h0_0", ["tensorflow-base 2.11.0 mkl_py39h0_0", PY39])

    # --- anaconda: an old keras that drags TensorFlow down to 2.3
    ana = "anaconda"
    ch.add(ana, "keras", "2.4.3", "py39h0_0", ["tensorflow >=2.3,<2.4", PY39])
    ch.add(ana, "tensorflow-base", "2.3.0", "mkl_py39h0_0", [
        PY39, "numpy >=1.16,<1.19", "h5py >=2.10,<2.11",
    ])
    ch.add(ana, "tensorflow", "2.3.0", "mkl_py39h0_0", ["tensorflow-base 2.3.0 mkl_py39h0_0", PY39])
    ch.add(ana, "numpy", "1.18.5", "py39h0_0", [PY39])
    ch.add(ana, "h5py", "2.10.0", "py39h0_0", [PY39, "numpy >=1.16,<1.19"])

    # --- conda-forge: a coherent TensorFlow 2.15 CPU stack for python 3.11, and zlib
    cf = "conda-forge"
    ch.add(cf, "python", "3.11.9", "h0_0_cpython")
    ch.add(cf, "numpy", "1.26.4", "py311h0_0", [PY311])
    ch.add(cf, "h5py", "3.10.0", "py311h0_0", [PY311, "numpy >=1.23.5,<2.0a0"])
    ch.add(cf, "protobuf", "4.24.4", "py311h0_0", [PY311])
    ch.add(cf, "keras", "2.15.0", "pyhd8ed1ab_0", ["python >=3.9"], subdir="noarch")
    ch.add(cf, "tensorflow-base", "2.15.0", "cpu_py311h0_0", [
        PY311, "numpy >=1.23.5,<2.0a0", "keras >=2.15,<2.16", "protobuf >=3.20.3,<5",
    ])
    ch.add(cf, "tensorflow", "2.15.0", "cpu_py311h0_0", ["tensorflow-base 2.15.0 cpu_py311h0_0", PY311])
    # ... and its CUDA 12 build, installable only where conda sees a driver (__cuda)
    ch.add(cf, "cuda-version", "12.2", "h0_0", subdir="noarch")
    ch.add(cf, "tensorflow-base", "2.15.0", "cuda120py311h0_0", [
        PY311, "numpy >=1.23.5,<2.0a0", "keras >=2.15,<2.16", "protobuf >=3.20.3,<5",
        "cuda-version >=12.0,<13", "__cuda",
    ])
    ch.add(cf, "tensorflow", "2.15.0", "cuda120py311h0_0", [
        "tensorflow-base 2.15.0 cuda120py311h0_0", PY311, "__cuda",
    ])
    ch.add(cf, "zlib", "1.3.1", "h4ab18f5_1")
    ch.write()
    return ch


def build_real_records(root: Path, records: Path) -> Channel:
    """Packages with the names, versions, builds and depends of real published records
    (``tests/records``; defaults' go to ``pkgs/main``), and the plain packages a solve
    would put beside them. For lock-file installs: conda links them without a solve, so
    each record's full published depends can stay as they are."""
    ch = Channel(root)
    for path in sorted(Path(records).glob("*/*/repodata.json")):
        channel = {"defaults": "pkgs/main"}.get(path.parent.parent.name, path.parent.parent.name)
        subdir = path.parent.name
        if channel not in SUBCHANNELS or subdir not in SUBDIRS:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, ext in (("packages", ".tar.bz2"), ("packages.conda", ".conda")):
            for rec in data.get(key, {}).values():
                ch.add(channel, rec["name"], rec["version"], rec["build"], rec.get("depends", ()), subdir,
                       build_number=rec.get("build_number"), ext=ext)
    main, cf = "pkgs/main", "conda-forge"
    ch.add(main, "python", "3.9.18", "h0_0")
    ch.add(main, "numpy", "1.19.2", "py39h89c1606_0", [PY39])
    ch.add(main, "numpy", "2.0.1", "py39h0_0", [PY39])
    ch.add(main, "cudatoolkit", "10.1.243", "h6bb024c_0")
    ch.add(main, "cudnn", "7.6.5", "cuda10.1_0", ["cudatoolkit >=10.1,<10.2"])
    ch.add(cf, "python", "3.10.13", "hd12c33a_0_cpython")
    ch.add(cf, "python", "3.9.18", "h0_0_cpython")
    ch.add(cf, "numpy", "1.23.5", "py310h53a5b5f_0", ["python >=3.10,<3.11.0a0"])
    ch.add(cf, "numpy", "2.0.2", "py39h0_0", [PY39])
    ch.add(cf, "protobuf", "4.21.12", "py310heca2aa9_0", ["python >=3.10,<3.11.0a0", "libprotobuf 3.21.12.*"])
    ch.add(cf, "keras", "2.10.0", "pyhd8ed1ab_0", ["python >=3.7"], subdir="noarch")
    ch.add(cf, "h5py", "3.7.0", "nompi_py310h416281c_102", ["python >=3.10,<3.11.0a0"])
    ch.write()
    return ch


if __name__ == "__main__":  # python tests/conda_channels.py ROOT: build it to look at
    import sys

    built = build_tf_universe(Path(sys.argv[1]))
    print(built.condarc)
