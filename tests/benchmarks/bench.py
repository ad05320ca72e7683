"""Benchmarks a user can rerun: ``python tests/benchmarks/bench.py [--json]``.

Measures, on the machine it runs on (medians of repeated runs):

* the knowledge base load (the YAML parse and validation; ruamel.yaml already imported,
  as it is inside conda), and cold in a fresh interpreter;
* rule evaluation over package sets of 10, 100 and 1,000 packages, with and without
  TensorFlow in them, and the solve hooks' pre-filter over such transactions;
* the GPU probe on a machine without an NVIDIA driver;
* ``python -m conda_tfguard status`` end to end on a fake prefix;
* where conda is importable: importing the plugin module, the post-solve hook on
  transactions without TensorFlow, and ``conda install --dry-run`` of the seed case (and
  of an unrelated package) with the plugin on versus ``--no-plugins``, in the same run.

Benchmarks report; they do not pass or fail.
"""

from __future__ import annotations

import argparse
import json
import re
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/helpers.py


def median_ms(function, repeat: int = 30) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def package_set(size: int, with_tensorflow: bool):
    from conda_tfguard.packages import PackageView

    stack = [
        PackageView("tensorflow", "2.15.0", "cuda120py311h0_0", "conda-forge", "linux-64",
                    ("python >=3.11,<3.12.0a0", "numpy >=1.23.5,<2.0a0", "keras >=2.15,<2.16")),
        PackageView("keras", "2.15.0", "pyhd8ed1ab_0", "conda-forge"),
        PackageView("numpy", "1.26.4", "py311h0_0", "conda-forge"),
        PackageView("python", "3.11.9", "h0_0", "conda-forge"),
        PackageView("cuda-version", "12.4", "h0_0", "conda-forge"),
        PackageView("protobuf", "4.24.4", "py311h0_0", "conda-forge"),
    ] if with_tensorflow else []
    filler = [PackageView(f"lib{i}", "1.0.0", "h0_0", "conda-forge") for i in range(size - len(stack))]
    return tuple(stack + filler)


def bench_core(results: dict) -> None:
    import ruamel.yaml  # noqa: F401  (conda has imported it long before any hook runs)

    from conda_tfguard import knowledge
    from conda_tfguard.cli import judge
    from conda_tfguard.findings import GpuFacts, Proposal
    from conda_tfguard.names import might_matter

    def load():
        knowledge._load.cache_clear()
        knowledge.load_knowledge()

    results["knowledge_load_ms"] = median_ms(load, 20)
    previous = os.environ.get("TFGUARD_CACHE_DIR")
    os.environ["TFGUARD_CACHE_DIR"] = ""  # no cache: parse every YAML file
    results["knowledge_load_uncached_ms"] = median_ms(load, 10)
    if previous is None:
        del os.environ["TFGUARD_CACHE_DIR"]
    else:
        os.environ["TFGUARD_CACHE_DIR"] = previous
    cold = subprocess.run(
        [sys.executable, "-c", "import time; t=time.perf_counter(); from conda_tfguard.knowledge import load_knowledge;"
         " load_knowledge(); print((time.perf_counter()-t)*1000)"], capture_output=True, text=True, check=True)
    results["knowledge_load_cold_process_ms"] = float(cold.stdout)
    kb = knowledge.load_knowledge()
    gpu = GpuFacts(driver_version="550.54.14")
    for size in (10, 100, 1000):
        for with_tf in (True, False):
            views = package_set(size, with_tf)
            proposal = Proposal(final=views, before=views, gpu=gpu, platform="linux-64")
            key = f"evaluate_{size}_{'tf' if with_tf else 'no_tf'}_ms"
            results[key] = median_ms(lambda: judge(proposal, kb))
            names = [v.name for v in views]
            results[f"prefilter_{size}_{'tf' if with_tf else 'no_tf'}_ms"] = median_ms(
                lambda: any(might_matter(n) for n in names), 200)


def bench_probe(results: dict) -> None:
    code = ("import time, os; os.environ.pop('CONDA_OVERRIDE_CUDA', None); t=time.perf_counter();"
            "from conda_tfguard.gpu import probe; f=probe(environ={}); print((time.perf_counter()-t)*1000); print(f.reason)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    results["gpu_probe_no_gpu_ms"] = float(out[0])
    results["gpu_probe_no_gpu_reason"] = out[1] if len(out) > 1 else ""


def bench_status(results: dict) -> None:
    from helpers import CLEAN_TF215, make_prefix

    with tempfile.TemporaryDirectory() as tmp:
        prefix = make_prefix(Path(tmp) / "env", CLEAN_TF215)
        env = {**os.environ, "CONDA_OVERRIDE_CUDA": ""}
        command = [sys.executable, "-m", "conda_tfguard", "status", "-p", str(prefix)]
        subprocess.run(command, capture_output=True, env=env, check=True)
        results["status_end_to_end_ms"] = median_ms(
            lambda: subprocess.run(command, capture_output=True, env=env, check=True), 10)


def bench_plugin_import(results: dict) -> None:
    try:
        import conda  # noqa: F401
    except ImportError:
        results["plugin_import_ms"] = "skipped: conda is not importable here"
        return
    code = "import conda.plugins, conda.plugins.types; import time; t=time.perf_counter(); import conda_tfguard.plugin; print((time.perf_counter()-t)*1000)"
    samples = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
               for _ in range(10)]
    results["plugin_import_ms"] = statistics.median(samples)


def _add_filler(channel_root: Path, count: int) -> None:
    """Pad each sub-channel's linux-64 repodata with ``count`` unrelated records, so conda's
    own work (reading repodata, solving) is closer to a real channel's. A dry run never
    downloads, so the records need no package files."""
    for sub in ("pkgs/main", "anaconda", "conda-forge"):
        path = channel_root / sub / "linux-64" / "repodata.json"
        repodata = json.loads(path.read_text())
        for i in range(count):
            deps = [f"filler-{sub.replace('/', '-')}-{i - 1} >=1.0"] if i % 10 else []
            repodata["packages"][f"filler-{sub.replace('/', '-')}-{i}-1.0-h0_0.tar.bz2"] = {
                "name": f"filler-{sub.replace('/', '-')}-{i}", "version": "1.0", "build": "h0_0",
                "build_number": 0, "depends": deps, "subdir": "linux-64", "md5": "0" * 32, "size": 1,
            }
        path.write_text(json.dumps(repodata))


def bench_conda_install(results: dict, filler: int = 0) -> None:
    """The seed case as ``conda install --dry-run``, plugin on vs ``--no-plugins``, same run."""
    try:
        import conda  # noqa: F401
        import conda_package_handling  # noqa: F401
    except ImportError:
        results["dry_run"] = "skipped: conda is not importable here"
        return
    import contextlib
    import io

    from conda_channels import build_tf_universe  # the e2e tests' channel builder
    from conftest import CondaCLI

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        tmp = Path(tmp)
        channel = build_tf_universe(tmp / "channels")
        if filler:
            _add_filler(tmp / "channels", filler)
        cli = CondaCLI(channel, "classic", tmp / "base")
        prefix = cli.prefix("seed")
        cli("create", "-y", "-p", str(prefix), "python=3.9", "tensorflow<2.11")
        install = ("install", "--dry-run", "-y", "-p", str(prefix), "--strict-channel-priority", "-c", "anaconda", "keras")
        # warn mode, so the plugin does all its work and the dry run completes as without it;
        # mode off loads the plugin (and conda's plugin discovery) but skips the guard.
        runs = {
            "no_plugins": lambda: cli("--no-plugins", *install),
            "plugin_off": lambda: cli(*install, env={"CONDA_PLUGINS_TFGUARD_MODE": "off"}),
            "plugin_on": lambda: cli(*install, env={"CONDA_PLUGINS_TFGUARD_MODE": "warn"}),
        }
        seed = {name: [] for name in runs}
        for _ in range(5):  # interleaved, so drift on the machine hits all three alike
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                seed[name].append((time.perf_counter() - started) * 1000)
        # The guard times itself (a debug line, shown at -vvv): the precise numerator.
        inside = []
        for _ in range(5):
            out = cli(*install, "-vvv", env={"CONDA_PLUGINS_TFGUARD_MODE": "warn"})
            inside += [float(m) for m in re.findall(r"judged the transaction in ([0-9.]+) ms", out.output)]
        unrelated = ("install", "--dry-run", "-y", "-p", str(prefix), "-c", "conda-forge", "zlib")
        unrelated_on = median_ms(lambda: cli(*unrelated), 5)
        unrelated_off = median_ms(lambda: cli(*unrelated, env={"CONDA_PLUGINS_TFGUARD_MODE": "off"}), 5)
    on, off, none = (statistics.median(seed[k]) for k in ("plugin_on", "plugin_off", "no_plugins"))
    guard_ms = statistics.median(inside) if inside else float("nan")
    tag = f"dry_run_{filler}_filler" if filler else "dry_run"
    results[f"{tag}_seed_no_plugins_ms"] = none
    results[f"{tag}_seed_guard_off_ms"] = off
    results[f"{tag}_seed_guard_on_ms"] = on
    results[f"{tag}_seed_guard_inside_ms"] = guard_ms
    results[f"{tag}_seed_guard_share_percent"] = guard_ms / (on - guard_ms) * 100
    results[f"{tag}_no_tf_guard_on_ms"] = unrelated_on
    results[f"{tag}_no_tf_guard_off_ms"] = unrelated_off


def bench_hook_fast_path(results: dict) -> None:
    """The post-solve hook on a transaction with no TensorFlow-stack package."""
    try:
        from conda.base.context import reset_context
        from conda.models.records import PackageRecord
    except ImportError:
        results["post_solve_no_tf_1000_ms"] = "skipped: conda is not importable here"
        return
    from conda_tfguard.guard import judge_solution

    reset_context()
    for size in (10, 100, 1000):
        records = tuple(PackageRecord(name=f"lib{i}", version="1.0", build="h0_0", build_number=0,
                                      channel="conda-forge", subdir="linux-64") for i in range(size))
        results[f"post_solve_no_tf_{size}_ms"] = median_ms(lambda: judge_solution("repodata.json", (), records), 200)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--filler", type=int, nargs="*", default=[0, 30000], metavar="N",
                        help="unrelated records added to each channel for the conda dry runs (default: 0 and 30000)")
    args = parser.parse_args()
    # Measure what an installed package does: with its bytecode compiled (conda and pip
    # compile it at install time), not recompiled from source on every start.
    import compileall

    import conda_tfguard

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(Path(conda_tfguard.__file__).parent, quiet=1)
    results: dict = {"python": sys.version.split()[0], "machine": os.uname().machine, "cpus": os.cpu_count()}
    for bench in (bench_core, bench_probe, bench_status, bench_plugin_import, bench_hook_fast_path):
        bench(results)
    for filler in args.filler:
        bench_conda_install(results, filler)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:42s} {value:.3f}" if isinstance(value, float) else f"{key:42s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
