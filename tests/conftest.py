import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True, scope="session")
def _knowledge_cache_in_a_temporary_directory(tmp_path_factory):
    """The parsed-knowledge cache goes to a temporary directory, never the user's home."""
    previous = os.environ.get("TFGUARD_CACHE_DIR")
    os.environ["TFGUARD_CACHE_DIR"] = str(tmp_path_factory.mktemp("tfguard-cache"))
    yield
    if previous is None:
        os.environ.pop("TFGUARD_CACHE_DIR", None)
    else:
        os.environ["TFGUARD_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def _no_machine_gpu_overrides(monkeypatch):
    """Tests describe the machine explicitly: the developer's own overrides must not leak in."""
    for name in ("CONDA_OVERRIDE_CUDA", "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION",
                 "CONDA_PLUGINS_TFGUARD_KNOWLEDGE_FILE", "CONDA_PLUGINS_TFGUARD_IGNORE"):
        monkeypatch.delenv(name, raising=False)


# --- real-conda fixtures ---
# Used by test_conda_e2e.py: a real conda CLI run as a subprocess against an offline
# local channel tree (tests/conda_channels.py). Nothing here imports conda at module
# level, so this block costs nothing where conda is absent (the tests skip there).
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

TFGUARD_WORD = re.compile(r"(?<![\w./-])[Tt]fguard|conda_tfguard")
CONDA_TIMEOUT = 300  # seconds for one conda command; a hang must not hold CI for ever


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


HAVE_CONDA = _importable("conda") and _importable("conda.cli.main")
def _rattler_registered() -> bool:
    """conda-rattler-solver installed AND loadable by this conda (0.2 needs conda >= 24.11)."""
    if not (HAVE_CONDA and _importable("conda_rattler_solver")):
        return False
    try:
        from conda.base.context import context

        return "rattler" in context.plugin_manager.get_solvers()
    except Exception:
        return False


HAVE_RATTLER = _rattler_registered()


@dataclass
class CondaResult:
    """One finished conda command: what a user would have seen."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def tfguard_lines(self, stream: Optional[str] = None) -> list[str]:
        """Lines where tfguard speaks (``tfguard``, ``TfguardBlocked``, its module ``conda_tfguard``),
        in stdout, stderr or (default) both. A path that merely contains the letters, such
        as a pytest tmp dir named after the test, does not count."""
        text = {"stdout": self.stdout, "stderr": self.stderr}.get(stream, self.output)
        return [line for line in text.splitlines() if TFGUARD_WORD.search(line)]

    def __str__(self) -> str:  # shown by pytest when an assertion names the result
        return (f"$ conda {' '.join(self.args)}\n-> exit {self.returncode}\n"
                f"--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-6000:]}")

    def __repr__(self) -> str:
        return f"<conda {' '.join(self.args)} -> exit {self.returncode}>"


@dataclass(frozen=True)
class Installed:
    name: str
    version: str
    build: str
    channel: str  # the sub-channel it came from: pkgs/main, anaconda, conda-forge


class CondaCLI:
    """The real conda CLI of this Python (``python -m conda``), isolated in ``base``.

    CONDARC, CONDA_PKGS_DIRS, CONDA_ROOT_PREFIX and HOME point into ``base``; the
    solver is fixed per test; conda is offline and never reports errors or shows
    notices. Every ``CONDA_*`` variable of the caller (CONDA_PREFIX, CONDA_PLUGINS_*,
    ...) and XDG_CONFIG_HOME are dropped, so the machine's own conda setup cannot leak
    in. CONDA_OVERRIDE_CUDA is set empty ("no CUDA driver") so a GPU on the test
    machine does not change tfguard's verdicts, and CONDA_SUBDIR=linux-64 matches the
    channel tree.
    """

    def __init__(self, channel, solver: str, base: Path) -> None:
        self.channel = channel
        self.solver = solver
        self.base = base
        for sub in ("home", "pkgs", "root", "envs"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CONDA") and k not in ("XDG_CONFIG_HOME", "REQUESTS_CA_BUNDLE")}
        env.update(
            CONDARC=str(channel.condarc),
            CONDA_PKGS_DIRS=str(base / "pkgs"),
            CONDA_ROOT_PREFIX=str(base / "root"),
            HOME=str(base / "home"),
            CONDA_SOLVER=solver,
            CONDA_OFFLINE="true",
            CONDA_REPORT_ERRORS="false",
            CONDA_NUMBER_CHANNEL_NOTICES="0",
            CONDA_OVERRIDE_CUDA="",
            CONDA_SUBDIR="linux-64",
            PYTHONIOENCODING="utf-8",
        )
        self.env = env

    def __call__(self, *args: str, env: Optional[dict] = None, timeout: int = CONDA_TIMEOUT) -> CondaResult:
        full_env = dict(self.env, **(env or {}))
        try:
            cp = subprocess.run(
                [sys.executable, "-m", "conda", *args], env=full_env, cwd=str(self.base),
                capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"conda {' '.join(args)} did not finish within {timeout} s\n{exc.stdout}\n{exc.stderr}")
        result = CondaResult(tuple(args), cp.returncode, cp.stdout, cp.stderr)
        print(result, end="\n\n")  # the whole transcript, shown by pytest when a test fails
        return result

    def prefix(self, name: str) -> Path:
        """Where the test's environment ``name`` goes (not created)."""
        return self.base / "envs" / name

    def installed(self, prefix: Path) -> dict[str, Installed]:
        """What ``conda-meta`` says is in ``prefix`` (empty if it is no environment)."""
        meta = Path(prefix) / "conda-meta"
        out = {}
        for record in sorted(meta.glob("*.json")) if meta.is_dir() else ():
            data = json.loads(record.read_text())
            channel_url = str(data.get("channel", "")).rstrip("/")
            rel = channel_url.split(self.channel.root.as_uri() + "/", 1)[-1]
            channel = rel.rsplit("/", 1)[0] if rel.endswith(("/linux-64", "/noarch")) else rel
            out[data["name"]] = Installed(data["name"], data["version"], data["build"], channel)
        return out

    def versions(self, prefix: Path) -> dict[str, str]:
        return {name: rec.version for name, rec in self.installed(prefix).items()}


@pytest.fixture(scope="session")
def tf_channel(tmp_path_factory):
    """The offline channel tree with the TensorFlow universe, built once per session."""
    if not HAVE_CONDA:
        pytest.skip("conda is not importable here")
    from importlib.metadata import entry_points

    conda_plugins = entry_points(group="conda") if sys.version_info >= (3, 10) else entry_points().get("conda", ())
    if not any(ep.value.startswith("conda_tfguard") for ep in conda_plugins):
        pytest.fail("conda is importable but conda-tfguard is not installed as its plugin here: "
                    f"run `{sys.executable} -m pip install -e .` first")
    from conda_channels import build_tf_universe

    return build_tf_universe(tmp_path_factory.mktemp("channels"))


@pytest.fixture(scope="session")
def real_records_channel(tmp_path_factory):
    """Packages made from the real published records in tests/records (for lock files)."""
    if not HAVE_CONDA:
        pytest.skip("conda is not importable here")
    from conda_channels import build_real_records

    return build_real_records(tmp_path_factory.mktemp("real-records"), Path(__file__).parent / "records")


@pytest.fixture(params=[
    pytest.param("classic", id="classic"),
    pytest.param("rattler", id="rattler", marks=pytest.mark.skipif(
        HAVE_CONDA and not HAVE_RATTLER, reason="conda-rattler-solver is not installed here, or this conda cannot load it")),
])
def conda_solver(request) -> str:
    """Each real-conda scenario runs once per solver."""
    return request.param


@pytest.fixture
def conda_cli(tf_channel, conda_solver, tmp_path) -> CondaCLI:
    """A real conda CLI for one test: its own HOME, package cache and root prefix."""
    return CondaCLI(tf_channel, conda_solver, tmp_path / "conda")
# --- end real-conda fixtures ---
