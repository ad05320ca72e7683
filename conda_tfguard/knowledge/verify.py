"""``python -m conda_tfguard.knowledge verify``: observe which TensorFlow stacks work.

For each TensorFlow version of the plan (``plans/verify.yaml``) this tool makes a throwaway
virtualenv, lets pip resolve ``tensorflow-cpu==X`` (or ``tensorflow==X``) by itself — the
*control* — and runs a fixed probe in a subprocess: ``import tensorflow``, a tensor op, one
step of a tiny Keras model, a ``.h5`` save and load, ``import tf_keras``. Then, one at a
time, it forces one package to another version (``pip install --no-deps``), probes again,
and puts the control's versions back. Each observation is a row of ``evidence.yaml``.

It downloads gigabytes of wheels and takes about an hour: a maintainers' tool, opt-in, never
run by the tests or by CI, and never imported by the plugin. Only the stdlib, ``packaging``
and ``ruamel.yaml``.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import glob
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from packaging.specifiers import SpecifierSet
from packaging.version import Version

HERE = Path(__file__).resolve().parent
DEFAULT_PLAN = HERE / "plans" / "verify.yaml"
DEFAULT_OUTPUT = HERE / "evidence.yaml"
DEFAULT_WORKDIR = Path("/work/scratch/verify")
SOURCE_URL = "https://github.com/conda-incubator/conda-tfguard/blob/main/conda_tfguard/knowledge/verify.py"
SOURCE_TITLE = (
    "conda-tfguard verify: real PyPI wheels installed side by side in throwaway virtualenvs on "
    "linux x86_64, then import + op + Keras model + .h5 round trip"
)

STAGES = ("import", "op", "model", "h5", "tf_keras", "rnn", "ok")
from .model import EXTRA_STAGES  # stages a plan stack may ask for beside the fixed ones
#: what the probe reports under ``installed`` (TensorFlow itself is the row's ``tensorflow``)
REPORTED = ("numpy", "protobuf", "h5py", "keras", "tf-keras", "tensorflow-estimator")
#: compiled packages that must come as wheels in the control; pure-Python sdists such as
#: gast 0.2.2 or termcolor 1.1.0 (required by TensorFlow 1.x) may be built.
BINARY_ONLY = ("tensorflow", "tensorflow-cpu", "numpy", "h5py", "grpcio", "scipy", "protobuf",
               "ml-dtypes", "tensorflow-io-gcs-filesystem")
MARK = "TFV-PROBE "
PYPI = "https://pypi.org/simple"

# The probe runs under every Python from 3.6 on: no walrus, no importlib.metadata on 3.6/3.7.
PROBE = r'''
import json, os, sys, traceback
MARK = "TFV-PROBE "
state = {"stage": "import"}

def say(kind, value):
    sys.stdout.write(MARK + json.dumps({kind: value}) + "\n")
    sys.stdout.flush()

def stage(name):
    state["stage"] = name
    say("stage", name)

def version_of(name):
    try:
        from importlib import metadata
        return metadata.version(name)
    except ImportError:
        import pkg_resources
        return pkg_resources.get_distribution(name).version

def versions():
    out = {}
    for name in ("tensorflow", "tensorflow-cpu", "numpy", "protobuf", "h5py", "keras",
                 "tf-keras", "tensorflow-estimator"):
        try:
            out[name] = version_of(name)
        except Exception:
            pass
    return out

installed = versions()
say("installed", installed)
try:
    stage("import")
    import tensorflow as tf
    import numpy as np
    stage("op")
    a = tf.constant([[1.0, 2.0]])
    b = tf.constant([[3.0], [4.0]])
    if getattr(tf, "executing_eagerly", None) and tf.executing_eagerly():
        value = tf.matmul(a, b).numpy()
    else:
        with tf.Session() as session:
            value = session.run(tf.matmul(a, b))
    if float(np.asarray(value).ravel()[0]) != 11.0:
        raise AssertionError("matmul gave %r" % (value,))
    stage("model")
    kerases = [tf.keras]
    if "keras" in installed:
        import keras
        if keras is not tf.keras:
            kerases.append(keras)
    x = np.random.rand(8, 4).astype("float32")
    y = np.random.rand(8, 1).astype("float32")
    models = []
    for K in kerases:
        model = K.models.Sequential([K.layers.Dense(3, input_shape=(4,)), K.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mean_squared_error")
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
        model.predict(x)
        models.append((K, model))
    stage("h5")
    for i, (K, model) in enumerate(models):
        path = os.path.join(os.getcwd(), "model%d.h5" % i)
        model.save(path)
        again = K.models.load_model(path)
        again.predict(x)
    if "tf-keras" in installed:
        stage("tf_keras")
        import tf_keras
        model = tf_keras.models.Sequential([tf_keras.layers.Dense(3, input_shape=(4,)), tf_keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mean_squared_error")
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
        path = os.path.join(os.getcwd(), "tf_keras.h5")
        model.save(path)
        tf_keras.models.load_model(path).predict(x)
    if "rnn" in sys.argv[1:]:
        stage("rnn")
        sequences = np.random.rand(8, 3, 2).astype("float32")
        model = tf.keras.models.Sequential([tf.keras.layers.LSTM(4, input_shape=(3, 2)), tf.keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mean_squared_error")
        model.fit(sequences, y, epochs=1, batch_size=4, verbose=0)
    stage("ok")
    say("result", {"result": "pass", "stage": "ok", "error": ""})
except BaseException as error:
    lines = traceback.format_exception_only(type(error), error)
    text = "".join(lines).strip().splitlines()
    first = ""
    for line in lines[-1:]:
        first = line.strip().splitlines()[0] if line.strip() else ""
    if not first and text:
        first = text[0]
    say("result", {"result": "fail", "stage": state["stage"], "error": first or type(error).__name__})
'''


# --------------------------------------------------------------------------- the plan (pure)

@dataclass(frozen=True)
class Force:
    """One package forced to one version beside a control stack."""

    package: str
    version: str


@dataclass(frozen=True)
class Stack:
    """One TensorFlow version under one CPython: a control and the forces tried beside it."""

    tensorflow: str
    python: str
    distribution: str
    forces: Tuple[Force, ...]
    primary: bool = True  # the first stack of its TensorFlow version: ids carry no python tag
    constrain: Tuple[str, ...] = ()  # pins pip's own resolution of the control obeys ("protobuf<4")
    tag: str = ""  # names a constrained stack in its row ids
    stages: Tuple[str, ...] = ()  # probe stages beyond the fixed ones (EXTRA_STAGES)

    @property
    def key(self) -> str:
        return f"tf{self.tensorflow}-py{self.python}" + (f"-{self.tag}" if self.tag else "")

    @property
    def control_id(self) -> str:
        return row_id(self, None)


@dataclass(frozen=True)
class Companion:
    """Packages installed (pinned to the control where it has them) beside a forced package."""

    package: str
    versions: SpecifierSet
    install: Tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    stacks: Tuple[Stack, ...]
    companions: Tuple[Companion, ...] = ()

    def companions_for(self, force: Force) -> Tuple[str, ...]:
        out: List[str] = []
        for companion in self.companions:
            if companion.package == force.package and Version(force.version) in companion.versions:
                out.extend(p for p in companion.install if p not in out)
        return tuple(out)

    @property
    def size(self) -> int:
        return sum(1 + len(s.forces) for s in self.stacks)


class PlanError(ValueError):
    """The plan file is not what this tool reads; the message says where."""


def row_id(stack: Stack, force: Optional[Force]) -> str:
    """``tf2.15.1-keras3.0.5``, ``tf2.15.1-control``; ``-py3.7`` before the tail off the primary stack."""
    head = f"tf{stack.tensorflow}" + ("" if stack.primary else f"-py{stack.python}")
    head += f"-{stack.tag}" if stack.tag else ""  # constrained or extra-stage stacks
    return f"{head}-control" if force is None else f"{head}-{force.package}{force.version}"


def parse_plan(data: object) -> Plan:
    """Turn the loaded plan YAML into a :class:`Plan`, or raise :class:`PlanError`."""
    if not isinstance(data, Mapping) or data.get("schema") != 1:
        raise PlanError("plan: expected a mapping with 'schema: 1'")
    companions = []
    for i, item in enumerate(data.get("companions") or []):
        try:
            companions.append(Companion(str(item["package"]), SpecifierSet(str(item.get("versions", ""))),
                                        tuple(str(p) for p in item["install"])))
        except (KeyError, TypeError, ValueError) as error:
            raise PlanError(f"plan: companions[{i}]: {error}") from None
    stacks: List[Stack] = []
    seen_tf = set()
    for i, item in enumerate(data.get("stacks") or []):
        where = f"plan: stacks[{i}]"
        if not isinstance(item, Mapping):
            raise PlanError(f"{where}: expected a mapping")
        try:
            tf, python = str(item["tensorflow"]), str(item["python"])
            Version(tf)
        except (KeyError, ValueError) as error:
            raise PlanError(f"{where}: {error}") from None
        forces = []
        for j, spec in enumerate(item.get("force") or []):
            name, sep, version = str(spec).partition("==")
            if not sep or not name or not version:
                raise PlanError(f"{where}.force[{j}]: expected 'package==version', got {spec!r}")
            try:
                Version(version)
            except ValueError:
                raise PlanError(f"{where}.force[{j}]: bad version {version!r}") from None
            forces.append(Force(name.strip().lower(), version.strip()))
        constrain = tuple(str(c) for c in item.get("constrain") or ())
        tag = str(item.get("tag") or "")
        extra = tuple(str(x) for x in item.get("stages") or ())
        if (constrain or extra) and not tag:
            raise PlanError(f"{where}: a stack with constrain or stages needs a tag to name its rows")
        if set(extra) - set(EXTRA_STAGES):
            raise PlanError(f"{where}: stages may only be {', '.join(EXTRA_STAGES)}")
        stack = Stack(tf, python, str(item.get("distribution", "tensorflow-cpu")), tuple(forces),
                      primary=tf not in seen_tf and not (constrain or extra), constrain=constrain, tag=tag,
                      stages=extra)
        seen_tf.add(tf)
        stacks.append(stack)
    ids = [row_id(s, f) for s in stacks for f in (None,) + s.forces]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PlanError(f"plan: duplicate rows: {', '.join(dupes)}")
    return Plan(tuple(stacks), tuple(companions))


def select(plan: Plan, patterns: Sequence[str]) -> Plan:
    """Keep the stacks and forces whose row id matches one of the globs (controls always run)."""
    if not patterns:
        return plan

    def hit(rid: str) -> bool:
        return any(fnmatch.fnmatchcase(rid, p) or fnmatch.fnmatchcase(rid, p + "*") for p in patterns)

    kept = []
    for stack in plan.stacks:
        forces = tuple(f for f in stack.forces if hit(row_id(stack, f)))
        if forces or hit(stack.control_id):
            kept.append(Stack(stack.tensorflow, stack.python, stack.distribution, forces, stack.primary,
                              stack.constrain, stack.tag, stack.stages))
    return Plan(tuple(kept), plan.companions)


# --------------------------------------------------------------------------- commands (pure)

def control_install_command(python: Path, stack: Stack) -> List[str]:
    """pip resolves the whole stack by itself from ``<distribution>==<version>`` (and the
    stack's ``constrain`` pins, where the plan gives some)."""
    return [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
            "--only-binary=" + ",".join(BINARY_ONLY), f"{stack.distribution}=={stack.tensorflow}", *stack.constrain]


def force_install_command(python: Path, force: Force) -> List[str]:
    """Force one package over the control: a wheel, no dependency changes."""
    return [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", f"{force.package}=={force.version}"]


def companion_install_command(python: Path, packages: Sequence[str], constraints: Path) -> List[str]:
    return [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
            "--prefer-binary", "-c", str(constraints), *packages]


def restore_commands(python: Path, control: Mapping[str, str], now: Mapping[str, str]) -> List[List[str]]:
    """Commands that put the venv back to the control's ``pip list``: uninstall extras, reinstall changes."""
    base = [str(python), "-m", "pip"]
    extra = sorted(n for n in now if n not in control)
    changed = sorted(f"{n}=={v}" for n, v in control.items() if now.get(n) != v)
    out = []
    if extra:
        out.append(base + ["uninstall", "-y", *extra])
    if changed:
        out.append(base + ["install", "--no-input", "--disable-pip-version-check", "--no-deps", *changed])
    return out


def normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


# --------------------------------------------------------------------------- the probe's output (pure)

def classify(returncode: Optional[int], stdout: str, stderr: str, timeout: Optional[float] = None) -> Dict[str, object]:
    """Read the probe's marked lines: result, stage, first error line, installed versions.

    ``returncode`` is ``None`` when the probe timed out; a negative one is a signal (crash).
    """
    stage, installed, result = "import", {}, None
    for line in stdout.splitlines():
        if not line.startswith(MARK):
            continue
        try:
            item = json.loads(line[len(MARK):])
        except ValueError:
            continue
        if "stage" in item:
            stage = str(item["stage"])
        if "installed" in item and isinstance(item["installed"], dict):
            installed = {str(k): str(v) for k, v in item["installed"].items()}
        if "result" in item and isinstance(item["result"], dict):
            result = item["result"]
    if returncode is None:
        return {"result": "fail", "stage": stage, "error": f"timeout after {timeout:g}s", "installed": installed}
    if result is not None and returncode == 0:
        return {"result": str(result.get("result")), "stage": str(result.get("stage")),
                "error": str(result.get("error") or ""), "installed": installed}
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        error = f"crashed: {name}"
    else:
        tail = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        error = f"exit code {returncode}" + (f": {tail[-1]}" if tail else "")
    if result is not None and result.get("error"):
        error = str(result["error"])
    return {"result": "fail", "stage": stage, "error": error, "installed": installed}


def make_row(stack: Stack, force: Optional[Force], outcome: Mapping[str, object], seconds: float,
             today: str) -> Dict[str, object]:
    """One evidence row, keys in the file's order."""
    installed = outcome.get("installed") or {}
    row: Dict[str, object] = {
        "id": row_id(stack, force),
        "tensorflow": stack.tensorflow,
        "distribution": stack.distribution,
        "python": stack.python,
        "control": force is None,
    }
    if stack.constrain:
        row["constraints"] = list(stack.constrain)
    if stack.stages:
        row["stages"] = list(stack.stages)
    if force is not None:
        row["forced"] = {"package": force.package, "version": force.version}
    row["installed"] = {k: str(installed[k]) for k in REPORTED if k in installed}
    row["result"] = str(outcome["result"])
    row["stage"] = "ok" if outcome["result"] == "pass" else str(outcome["stage"])
    row["error"] = _SITE.sub("site-packages/", str(outcome.get("error") or ""))
    row["seconds"] = round(float(seconds), 1)
    row["checked"] = today
    row["source"] = source_id(today)
    return row


#: a path into the throwaway venv says nothing to a reader: keep it from ``site-packages/`` on
_SITE = re.compile(r"/[^\s'\"()]*/site-packages/")


def source_id(today: str) -> str:
    return f"tfv-verify-{today}"


# --------------------------------------------------------------------------- the evidence file (pure)

def _q(value: object) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(str(value), ensure_ascii=False)


def _flow(mapping: Mapping[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {_q(v)}" for k, v in mapping.items()) + "}"


def sort_rows(rows: Sequence[Mapping[str, object]]) -> List[Mapping[str, object]]:
    def key(row):
        try:
            v = Version(str(row["tensorflow"]))
        except ValueError:
            v = Version("0")
        return (v, str(row["id"]))
    return sorted(rows, key=key)


def merge_rows(old: Sequence[Mapping[str, object]], new: Sequence[Mapping[str, object]]) -> List[Mapping[str, object]]:
    """Old rows, with those of the same id replaced by the new ones; sorted."""
    fresh = {str(r["id"]): r for r in new}
    kept = [r for r in old if str(r.get("id")) not in fresh]
    return sort_rows(kept + list(fresh.values()))


def render_evidence(rows: Sequence[Mapping[str, object]], sources: Mapping[str, Mapping[str, str]],
                    machine: str, started: datetime.datetime, ended: datetime.datetime) -> str:
    wall = int((ended - started).total_seconds())
    lines = [
        "# Observed by `python -m conda_tfguard.knowledge verify` (plan: plans/verify.yaml). Do not edit by hand: rerun.",
        f"# Machine: {machine}; run {started:%Y-%m-%d %H:%M} .. {ended:%Y-%m-%d %H:%M} UTC; "
        f"wall time {wall // 3600}:{wall % 3600 // 60:02d}.",
        "schema: 1",
        "sources:",
    ]
    for sid in sorted(sources):
        src = sources[sid]
        lines += [f"  {sid}:", f"    url: {src['url']}", f"    checked: {src['checked']}",
                  f"    title: {_q(src['title'])}"]
    lines.append("evidence:" if rows else "evidence: []")
    for row in sort_rows(rows):
        lines.append(f"  - id: {row['id']}")
        lines.append(f"    tensorflow: {_q(row['tensorflow'])}")
        lines.append(f"    distribution: {row['distribution']}")
        lines.append(f"    python: {_q(row['python'])}")
        lines.append(f"    control: {'true' if row['control'] else 'false'}")
        if row.get("constraints"):
            lines.append(f"    constraints: [{', '.join(_q(str(c)) for c in row['constraints'])}]")
        if row.get("stages"):
            lines.append(f"    stages: [{', '.join(str(c) for c in row['stages'])}]")
        if row.get("forced"):
            lines.append(f"    forced: {{package: {row['forced']['package']}, version: {_q(row['forced']['version'])}}}")
        lines.append(f"    installed: {_flow(row.get('installed') or {})}")
        lines.append(f"    result: {row['result']}")
        lines.append(f"    stage: {row['stage']}")
        lines.append(f"    error: {_q(row.get('error') or '')}")
        lines.append(f"    seconds: {float(row['seconds']):.1f}")
        lines.append(f"    checked: {_q(row['checked'])}")
        lines.append(f"    source: {row['source']}")
    return "\n".join(lines) + "\n"


def read_evidence(path: Path) -> Tuple[List[Dict[str, object]], Dict[str, Dict[str, str]]]:
    """The rows and sources of an existing evidence file; nothing when there is none."""
    if not path.exists():
        return [], {}
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    rows = [dict(r) for r in data.get("evidence") or [] if isinstance(r, dict) and "id" in r]
    for row in rows:
        for key in ("tensorflow", "python", "checked"):
            row[key] = str(row[key])
    sources = {str(k): {kk: str(vv) for kk, vv in v.items()} for k, v in (data.get("sources") or {}).items()}
    return rows, sources


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=str(path.parent))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- running (the outside world)

def find_python(version: str, finder: Optional[str] = None) -> Optional[Path]:
    """``finder`` is a glob with ``{version}``; default pyenv's, else ``pythonX.Y`` on PATH."""
    patterns = [finder] if finder else ["/root/.pyenv/versions/{version}.*/bin/python"]
    for pattern in patterns:
        hits = sorted(glob.glob(pattern.format(version=version)),
                      key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")])
        if hits:
            return Path(hits[-1])
    found = shutil.which(f"python{version}")
    return Path(found) if found else None


def machine() -> str:
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system().lower()} {platform.machine()}, {cpu}, {os.cpu_count()} cores"


def _say(message: str) -> None:
    print(f"[verify {datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@dataclass
class Runner:
    plan: Plan
    workdir: Path
    output: Path
    timeout: float
    install_timeout: float
    finder: Optional[str]
    keep: bool = False
    started: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))
    lock: threading.Lock = field(default_factory=threading.Lock)
    rows: List[Dict[str, object]] = field(default_factory=list)
    sources: Dict[str, Dict[str, str]] = field(default_factory=dict)
    done: int = 0
    dropped: set = field(default_factory=set)
    keep_ids: Optional[set] = None  # --prune: the ids of the whole plan; rows of other ids go

    def env(self) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV", "CONDA")) or k in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT")}
        # PyPI only: no machine-wide pip.conf (extra indexes, find-links, constraints) bends the resolution.
        env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=PYPI,
                   PIP_CACHE_DIR=str(self.workdir / "pip-cache"), PIP_DISABLE_PIP_VERSION_CHECK="1",
                   PYTHONNOUSERSITE="1", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
                   KERAS_BACKEND="tensorflow", PYTHONDONTWRITEBYTECODE="1")
        return env

    def sh(self, cmd: Sequence[str], log: Path, timeout: float, env=None, cwd=None) -> Tuple[Optional[int], str, str]:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"\n$ {' '.join(cmd)}\n")
        try:
            proc = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                                  env=env or self.env(), cwd=cwd, universal_newlines=True, errors="replace")
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as expired:
            code = None
            out = expired.stdout.decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
            err = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else (expired.stderr or "")
        with log.open("a", encoding="utf-8") as handle:
            handle.write(out[-20000:] + err[-20000:] + f"[exit {code}]\n")
        return code, out, err

    def pip_list(self, python: Path, log: Path) -> Dict[str, str]:
        code, out, _ = self.sh([str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                               log, 300)
        if code != 0:
            return {}
        try:
            return {normalize(i["name"]): i["version"] for i in json.loads(out.strip().splitlines()[-1])
                    if normalize(i["name"]) not in ("pip", "setuptools", "wheel")}
        except (ValueError, IndexError, KeyError):
            return {}

    def probe(self, python: Path, log: Path, stages: Sequence[str] = ()) -> Tuple[Dict[str, object], float]:
        script = self.workdir / "probe.py"
        with tempfile.TemporaryDirectory(dir=str(self.workdir / "tmp")) as cwd:
            env = self.env()
            env["HOME"] = cwd
            t0 = time.monotonic()
            code, out, err = self.sh([str(python), str(script), *stages], log, self.timeout, env=env, cwd=cwd)
            seconds = time.monotonic() - t0
        return classify(code, out, err, self.timeout), seconds

    def record(self, row: Dict[str, object]) -> None:
        with self.lock:
            self.rows = [r for r in self.rows if r["id"] != row["id"]] + [row]
            self.done += 1
            mark = "PASS" if row["result"] == "pass" else f"FAIL at {row['stage']}: {row['error']}"
            _say(f"[{self.done}/{self.plan.size}] {row['id']} (py{row['python']}, {row['seconds']}s): {mark}")
            self.write()

    def unobserved(self, ids: Sequence[str], why: str) -> None:
        """Rows that could not be observed (pip could not install the stack): no row, and no stale one."""
        with self.lock:
            self.dropped.update(ids)
            self.rows = [r for r in self.rows if r["id"] not in self.dropped]
            self.done += len(ids)
            _say(f"[{self.done}/{self.plan.size}] not observed, no row: {', '.join(ids)}: {why}")
            self.write()

    def write(self) -> None:
        old, sources = read_evidence(self.output)
        sources.update(self.sources)
        rows = [r for r in merge_rows(old, self.rows) if r["id"] not in self.dropped
                and (self.keep_ids is None or r["id"] in self.keep_ids)]
        used = {str(r["source"]) for r in rows}
        for sid in used - set(sources):
            if sid.startswith("tfv-verify-"):
                day = sid[len("tfv-verify-"):]
                sources[sid] = {"url": SOURCE_URL, "checked": day, "title": SOURCE_TITLE}
        sources = {k: v for k, v in sources.items() if k in used}
        text = render_evidence(rows, sources, machine(), self.started, datetime.datetime.now(datetime.timezone.utc))
        write_atomic(self.output, text)

    def run_stack(self, stack: Stack) -> None:
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.sources[source_id(today)] = {"url": SOURCE_URL, "checked": today, "title": SOURCE_TITLE}
        venv = self.workdir / "venvs" / stack.key
        log = self.workdir / "logs" / f"{stack.key}.log"
        log.write_text(f"# {stack.key} {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC\n", encoding="utf-8")
        base = find_python(stack.python, self.finder)
        if base is None:
            _say(f"{stack.key}: no python{stack.python} found; skipped")
            return
        _say(f"{stack.key}: venv with {base}, pip install {stack.distribution}=={stack.tensorflow}")
        shutil.rmtree(venv, ignore_errors=True)
        python = venv / "bin" / "python"
        try:
            code, _, err = self.sh([str(base), "-m", "venv", str(venv)], log, 600)
            if code == 0:
                code, _, err = self.sh([str(python), "-m", "pip", "install", "--no-input", "-U", "pip"], log, 600)
            if code != 0:
                _say(f"{stack.key}: could not make the venv ({code}); see {log}")
                return
            code, _, err = self.sh(control_install_command(python, stack), log, self.install_timeout)
            if code != 0:
                tail = [ln for ln in err.splitlines() if ln.strip().startswith("ERROR")][-1:] or err.splitlines()[-1:]
                message = f"pip install {stack.distribution}=={stack.tensorflow} failed: " + (tail[0].strip() if tail else f"exit {code}")
                self.unobserved([row_id(stack, f) for f in (None,) + stack.forces], message + f" (see {log})")
                return
            control = self.pip_list(python, log)
            (venv / "control.txt").write_text("".join(f"{n}=={v}\n" for n, v in sorted(control.items())))
            outcome, seconds = self.probe(python, log, stack.stages)
            self.record(make_row(stack, None, outcome, seconds, today))
            for force in stack.forces:
                self.run_force(stack, force, python, control, venv / "control.txt", log, today)
        finally:
            if not self.keep:
                shutil.rmtree(venv, ignore_errors=True)

    def run_force(self, stack: Stack, force: Force, python: Path, control: Mapping[str, str],
                  constraints: Path, log: Path, today: str) -> None:
        code, _, err = self.sh(force_install_command(python, force), log, self.install_timeout)
        if code != 0:
            tail = [ln for ln in err.splitlines() if ln.strip().startswith("ERROR")][-1:] or err.splitlines()[-1:]
            self.unobserved([row_id(stack, force)], f"pip install --no-deps {force.package}=={force.version} failed: "
                            + (tail[0].strip() if tail else f"exit {code}"))
            return
        companions = self.plan.companions_for(force)
        if companions:
            self.sh(companion_install_command(python, companions, constraints), log, self.install_timeout)
        outcome, seconds = self.probe(python, log, stack.stages)
        self.record(make_row(stack, force, outcome, seconds, today))
        for cmd in restore_commands(python, control, self.pip_list(python, log)):
            self.sh(cmd, log, self.install_timeout)
        after = self.pip_list(python, log)
        if after != control:
            _say(f"{stack.key}: could not restore the control after {force.package}=={force.version}; "
                 f"differs in {sorted(set(after.items()) ^ set(control.items()))}")

    def run(self, jobs: int) -> int:
        for sub in ("venvs", "logs", "tmp", "pip-cache"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        (self.workdir / "probe.py").write_text(PROBE, encoding="utf-8")
        _say(f"{len(self.plan.stacks)} stacks, {self.plan.size} rows, {jobs} jobs; workdir {self.workdir}; "
             f"writing {self.output} after every row")
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(self._guarded, s) for s in self.plan.stacks]
            for future in futures:
                future.result()
        wall = datetime.datetime.now(datetime.timezone.utc) - self.started
        failed = [r for r in self.rows if r["result"] != "pass"]
        _say(f"done: {len(self.rows)} rows, {len(failed)} failed, wall time {wall}; wrote {self.output}")
        return 0

    def _guarded(self, stack: Stack) -> None:
        try:
            self.run_stack(stack)
        except Exception as error:  # one broken stack must not stop the others
            _say(f"{stack.key}: tool error {type(error).__name__}: {error}")


def load_plan(path: Path) -> Plan:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as error:
        raise PlanError(f"{path}: {error}") from None
    return parse_plan(data)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conda_tfguard.knowledge verify",
        description="Install real TensorFlow wheels side by side in throwaway virtualenvs, probe them, "
                    "and write the evidence file. Downloads gigabytes; takes about an hour.")
    parser.add_argument("--plan", type=Path, default=DEFAULT_PLAN)
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="run only the rows whose id matches this glob (repeatable), e.g. 'tf2.15.*'")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--python-finder", default=None, metavar="GLOB",
                        help="glob of a CPython with {version}, e.g. '/opt/py{version}/bin/python' "
                             "(default: /root/.pyenv/versions/{version}.*/bin/python, else python{version} on PATH)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for one probe (default 300)")
    parser.add_argument("--install-timeout", type=float, default=1800.0)
    parser.add_argument("--keep-venvs", action="store_true")
    parser.add_argument("--list", action="store_true", help="print the row ids the plan would run, and stop")
    parser.add_argument("--prune", action="store_true",
                        help="also drop rows of the output whose id is no longer in the plan")
    args = parser.parse_args(list(argv))
    try:
        whole = load_plan(args.plan)
        plan = select(whole, [p for item in args.only for p in item.split(",") if p])
    except PlanError as error:
        print(f"verify: {error}", file=sys.stderr)
        return 2
    if args.list:
        for stack in plan.stacks:
            for force in (None,) + stack.forces:
                print(row_id(stack, force))
        return 0
    if not plan.stacks:
        print("verify: nothing in the plan matches --only", file=sys.stderr)
        return 2
    runner = Runner(plan, args.workdir.resolve(), args.output.resolve(), args.timeout, args.install_timeout,
                    args.python_finder, keep=args.keep_venvs)
    if args.prune:
        runner.keep_ids = {row_id(s, f) for s in whole.stacks for f in (None,) + s.forces}
    return runner.run(args.jobs)
