"""Hostile input: what a user sees when the files, variables and libraries around us are bad.

Every case asserts the user's view: a one-line ``tfguard: error: ...`` on stderr with exit 2,
or a logged warning (loggers ``conda.conda_tfguard.*``) and a working command; never a
traceback, never a hang, and no file changed that should not be. Cases that could hang or
eat the machine's memory run ``python -m conda_tfguard`` in a child process with a time
and an address-space limit.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conda_tfguard import gpu
from conda_tfguard.__main__ import main
from conda_tfguard.envfile import EnvFile, read_env_file
from conda_tfguard.errors import SpecError
from conda_tfguard.findings import GpuFacts
from conda_tfguard.prefix import PrefixContents, read_prefix
from helpers import CF, CLEAN_TF215, MAIN, make_prefix

pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is needed for NVML's real exception classes")

DRIVER_ENV = "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION"
CUDA_ENV = "CONDA_OVERRIDE_CUDA"
KNOWLEDGE_ENV = "CONDA_PLUGINS_TFGUARD_KNOWLEDGE_FILE"
CHILD_TIMEOUT = 60  # seconds a child `python -m conda_tfguard` may take before we call it a hang
CHILD_MEMORY = 1 << 30  # bytes of address space a child may use (a bounded reader needs far less)


# --------------------------------------------------------------------------- helpers
@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No active env, no GPU from this machine, a fresh NVML answer for every case."""
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.setenv(CUDA_ENV, "")
    gpu.clear_cache()
    yield
    gpu.clear_cache()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, *needles):
    """Exit 2, nothing on stdout, exactly one ``tfguard: error:`` line on stderr."""
    assert "Traceback" not in err and "Traceback" not in out, err
    assert code == 2, (code, out, err)
    assert out == "", out
    assert err.startswith("tfguard: error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)


def assert_worked(code, out, err, codes=(0,)):
    assert "Traceback" not in err and "Traceback" not in out, err
    assert code in codes, (code, out, err)
    assert "tfguard: error" not in err, err


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("conda.conda_tfguard") and r.levelno >= logging.WARNING]


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every regular file under ``root``: its bytes and its mtime."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def tf_env(tmp_path, records=None, **kwargs) -> Path:
    return make_prefix(tmp_path / "env", CLEAN_TF215 if records is None else records, **kwargs)


def replace_record(records, name, *, version=None, build=None):
    out = []
    for rec in records:
        if rec[0] == name:
            rec = (rec[0], rec[1] if version is None else version, rec[2] if build is None else build, rec[3], rec[4])
        out.append(rec)
    return out


def _limit_memory():  # runs in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def run_child(*argv, env=None, timeout=CHILD_TIMEOUT):
    """``python -m conda_tfguard ARGV`` in a child bounded in time and memory."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONDA")}
    environ.update({CUDA_ENV: "", "PYTHONIOENCODING": "utf-8"}, **(env or {}))
    try:
        return subprocess.run(
            [sys.executable, "-m", "conda_tfguard", *argv], capture_output=True, text=True, errors="replace",
            env=environ, timeout=timeout, preexec_fn=_limit_memory if sys.platform != "win32" else None,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"python -m conda_tfguard {' '.join(argv)} hung: no answer within {timeout} s")


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """YAML anchors that expand to width**levels scalars: tiny on disk, huge if ever expanded."""
    lines = ["  a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# =========================================================================== conda-meta records
BAD_RECORDS = {
    "truncated": b'{"name": "zlib", "version": "1.3',
    "empty": b"",
    "whitespace": b"  \n\t\n",
    "not-json": b"this is not json at all",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
    "utf16": '{"name": "zlib", "version": "1.3"}'.encode("utf-16"),
    "json-list": b'["zlib", "1.3"]',
    "json-string": b'"zlib"',
    "json-number": b"42",
    "json-null": b"null",
    "missing-name": json.dumps({"version": "1.3", "build": "h0_0"}).encode(),
    "missing-version": json.dumps({"name": "zlib", "build": "h0_0"}).encode(),
    "empty-version": json.dumps({"name": "zlib", "version": ""}).encode(),
    "name-not-string": json.dumps({"name": 42, "version": "1.3"}).encode(),
    "name-is-list": json.dumps({"name": ["zlib"], "version": "1.3"}).encode(),
    "version-not-string": json.dumps({"name": "zlib", "version": 1.3}).encode(),
    "huge-integer": b'{"name": "zlib", "version": "1.3", "build_number": ' + b"9" * 50_000 + b"}",
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "deeply-nested-depends": (b'{"name": "zlib", "version": "1.3", "depends": '
                              + b"[" * 100_000 + b"]" * 100_000 + b"}"),
}


@pytest.mark.parametrize("kind", BAD_RECORDS)
def test_a_bad_conda_record_is_skipped_with_a_warning_and_status_still_works(capsys, caplog, tmp_path, kind):
    prefix = tf_env(tmp_path)
    (prefix / "conda-meta" / "zz-bad.json").write_bytes(BAD_RECORDS[kind])
    before = snapshot(prefix)
    code, out, err = run(capsys, "status", "-p", str(prefix))
    assert_worked(code, out, err)
    assert "tensorflow       2.15.0" in out  # the good records are all still read
    assert "(skipped unreadable records: zz-bad.json)" in out
    assert any("zz-bad.json" in w for w in warnings_of(caplog)), warnings_of(caplog)
    assert snapshot(prefix) == before


@pytest.mark.parametrize("kind", ["truncated", "binary", "json-list", "name-not-string", "deeply-nested"])
def test_a_bad_conda_record_does_not_stop_check_or_pin(capsys, caplog, tmp_path, kind):
    prefix = tf_env(tmp_path, pinned="# mine\n")
    bad = prefix / "conda-meta" / "zz-bad.json"
    bad.write_bytes(BAD_RECORDS[kind])
    code, out, err = run(capsys, "check", "-p", str(prefix), "keras=3.0.5", "--json")
    assert_worked(code, out, err, codes=(1,))
    assert json.loads(out)["findings"][0]["rule"] == "keras-mismatch"
    assert any("zz-bad.json" in w for w in warnings_of(caplog))
    caplog.clear()
    stamp = bad.stat().st_mtime_ns
    code, out, err = run(capsys, "pin", "-p", str(prefix))
    assert_worked(code, out, err)
    assert "tensorflow ==2.15.0" in (prefix / "conda-meta" / "pinned").read_text()
    assert any("zz-bad.json" in w for w in warnings_of(caplog))
    assert bad.read_bytes() == BAD_RECORDS[kind] and bad.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("field, value", [
    ("depends", "numpy >=1.23.5,<2.0a0"),  # a string, not a list
    ("depends", {"numpy": ">=1.23"}),
    ("depends", [1, None, ["numpy"], {"a": 1}, "numpy >=1.23.5,<2.0a0"]),
    ("depends", None),
    ("files", "lib/python3.11/site-packages/x"),
    ("files", [1, None, {"a": 1}]),
    ("build", 17),
    ("build", None),
    ("channel", {"url": CF}),
    ("channel", 3),
    ("url", ["x"]),
    ("subdir", 64),
])
def test_odd_fields_of_a_readable_record_are_tolerated(capsys, caplog, tmp_path, field, value):
    prefix = tf_env(tmp_path)
    path = next((prefix / "conda-meta").glob("tensorflow-base-*.json"))
    record = json.loads(path.read_text())
    record[field] = value
    path.write_text(json.dumps(record))
    contents = read_prefix(prefix)
    assert "tensorflow-base" in {v.name for v in contents.conda} and contents.skipped == ()
    code, out, err = run(capsys, "status", "-p", str(prefix), "--json")
    assert_worked(code, out, err)
    assert "tensorflow-base" in {p["name"] for p in json.loads(out)["packages"]}


def test_a_huge_depends_list_is_read_quickly(capsys, tmp_path):
    import time

    prefix = tf_env(tmp_path)
    path = next((prefix / "conda-meta").glob("tensorflow-base-*.json"))
    record = json.loads(path.read_text())
    record["depends"] = [f"lib{i} >={i}.0,<{i + 1}.0a0" for i in range(200_000)] + record["depends"]
    path.write_text(json.dumps(record))
    started = time.perf_counter()
    code, out, err = run(capsys, "status", "-p", str(prefix), "--json")
    assert_worked(code, out, err)
    assert time.perf_counter() - started < 10
    assert json.loads(out)["verdict"] in ("ok", "warn")


def test_a_record_that_is_a_directory_or_a_dangling_link_is_skipped(capsys, caplog, tmp_path):
    prefix = tf_env(tmp_path)
    (prefix / "conda-meta" / "dir.json").mkdir()
    (prefix / "conda-meta" / "loop.json").symlink_to("loop.json")
    (prefix / "conda-meta" / "gone.json").symlink_to(tmp_path / "nowhere.json")
    code, out, err = run(capsys, "status", "-p", str(prefix))
    assert_worked(code, out, err)
    for name in ("dir.json", "loop.json", "gone.json"):
        assert name in out
        assert any(name in w for w in warnings_of(caplog))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_conda_meta_does_not_hang_status(tmp_path):
    prefix = tf_env(tmp_path)
    os.mkfifo(prefix / "conda-meta" / "zz-fifo.json")
    result = run_child("status", "-p", str(prefix), timeout=15)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0 and "zz-fifo.json" in result.stdout + result.stderr


# --------------------------------------------------------------------------- pinned
JUNK_PINNED = {
    "binary": b"# mine\n\x89PNG\x00\xff\xfe junk\nscipy 1.11.*\n",
    "latin-1": b"# d\xe9j\xe0 vu\nscipy 1.11.*\n",
    "crlf": b"# mine\r\nscipy 1.11.*\r\n",
    "form-feed-and-unicode-separators": "scipy 1.11.*\x0cfoo\nbar\u2028baz\x1cqux\x85\n".encode("utf-8"),
    "bad-operator": b"scipy >>= 1\n",
    "very-long-line": b"scipy " + b"1" * 200_000 + b"\n# end\n",
    "nul-bytes": b"scipy\x00 1.11.*\n",
    "no-final-newline": b"# mine\nscipy 1.11.*",
    "only-blank-lines": b"\n\n   \n",
}


@pytest.mark.parametrize("kind", JUNK_PINNED)
def test_pin_keeps_junk_lines_of_pinned_byte_for_byte(capsys, tmp_path, kind):
    prefix = tf_env(tmp_path)
    pinned = prefix / "conda-meta" / "pinned"
    old = JUNK_PINNED[kind]
    pinned.write_bytes(old)
    code, out, err = run(capsys, "pin", "-p", str(prefix))
    assert_worked(code, out, err)
    new = pinned.read_bytes()
    kept = old if old.endswith(b"\n") else old + b"\n"
    assert new.startswith(kept), f"the existing lines changed:\n{old[:200]!r}\n->\n{new[:200]!r}"
    added = new[len(kept):].decode("utf-8").splitlines()
    assert "tensorflow ==2.15.0" in added and "numpy 1.*" in added


@pytest.mark.parametrize("kind", ["binary", "bad-operator", "very-long-line"])
def test_status_and_check_do_not_care_about_a_junk_pinned(capsys, tmp_path, kind):
    prefix = tf_env(tmp_path)
    (prefix / "conda-meta" / "pinned").write_bytes(JUNK_PINNED[kind])
    before = snapshot(prefix)
    assert_worked(*run(capsys, "status", "-p", str(prefix)))
    assert_worked(*run(capsys, "check", "-p", str(prefix)))
    assert snapshot(prefix) == before


def test_pin_warns_about_a_pinned_line_conda_cannot_read(capsys, caplog, tmp_path):
    # `tensorflow >>= 2` is not a match spec: conda cannot honour it, and pin must not
    # quietly treat tensorflow as "already pinned" because of it.
    prefix = tf_env(tmp_path, pinned="tensorflow >>= 2\n")
    code, out, err = run(capsys, "pin", "-p", str(prefix), "--dry-run")
    assert_worked(code, out, err)
    assert any("tensorflow >>= 2" in w for w in warnings_of(caplog)), warnings_of(caplog)
    assert (prefix / "conda-meta" / "pinned").read_text() == "tensorflow >>= 2\n"


def test_a_junk_pinned_line_with_an_unreadable_head_is_warned_about(capsys, caplog, tmp_path):
    prefix = tf_env(tmp_path, pinned="@@@ not a spec\n")
    code, out, err = run(capsys, "pin", "-p", str(prefix))
    assert_worked(code, out, err)
    assert any("@@@ not a spec" in w for w in warnings_of(caplog))
    assert (prefix / "conda-meta" / "pinned").read_text().startswith("@@@ not a spec\n")


# =========================================================================== environment.yml
MALFORMED_ENV_FILES = {
    "not-yaml": ("name: [unclosed\n", "not valid YAML"),
    "tabs": ("name: x\ndependencies:\n\t- numpy=1.26.4\n", "tabs"),
    "empty": ("", "environment file"),
    "only-a-comment": ("# nothing here\n", "environment file"),
    "scalar": ("tensorflow=2.15.0\n", "not an environment file"),
    "number": ("42\n", "not an environment file"),
    "list": ("- tensorflow=2.15.0\n- python=3.11\n", "not an environment file"),
    "dependencies-scalar": ("dependencies: tensorflow=2.15.0\n", "'dependencies' must be a list"),
    "dependencies-mapping": ("dependencies: {tensorflow: 2.15.0}\n", "'dependencies' must be a list"),
    "channels-scalar": ("channels: conda-forge\ndependencies: [tensorflow=2.15.0]\n", "'channels' must be a list"),
    "duplicate-keys": ("dependencies: [a=1]\ndependencies: [b=2]\n", "environment.yml"),
    "deep-nesting": ("dependencies: " + "[" * 5000 + "]" * 5000 + "\n", "environment.yml"),
    "nul-byte": ("name: x\x00\ndependencies: []\n", "environment.yml"),
}


@pytest.mark.parametrize("kind", MALFORMED_ENV_FILES)
def test_a_malformed_environment_file_is_one_clear_line(capsys, tmp_path, kind):
    text, message = MALFORMED_ENV_FILES[kind]
    env = tmp_path / "environment.yml"
    env.write_text(text, encoding="utf-8")
    before = snapshot(tmp_path)
    code, out, err = run(capsys, "check", "-f", str(env))
    assert_one_line_error(code, out, err, str(env), message)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff", "cannot read environment file"),
    ("name: d\xe9j\xe0\ndependencies: []\n".encode("latin-1"), "cannot read environment file"),
    (b"dependencies: [" + b"x" * (1024 * 1024) + b"]\n", "larger than"),
])
def test_a_binary_or_huge_environment_file_is_one_clear_line(capsys, tmp_path, data, message):
    env = tmp_path / "environment.yml"
    env.write_bytes(data)
    code, out, err = run(capsys, "check", "-f", str(env))
    assert_one_line_error(code, out, err, str(env), message)


def test_an_environment_file_that_is_a_directory_is_one_clear_line(capsys, tmp_path):
    code, out, err = run(capsys, "check", "-f", str(tmp_path))
    assert_one_line_error(code, out, err, str(tmp_path))


def test_unknown_keys_are_a_warning_and_the_file_is_still_checked(capsys, caplog, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(textwrap.dedent("""\
        name: tf
        channels: [conda-forge]
        frobnicate: yes
        dependencies:
          - python=3.11
          - tensorflow=2.15.0
          - keras=3.1.1
        """))
    code, out, err = run(capsys, "check", "-f", str(env), "--json")
    assert_worked(code, out, err, codes=(1,))
    assert json.loads(out)["findings"][0]["rule"] == "keras-mismatch"
    assert any("frobnicate" in w for w in warnings_of(caplog)), warnings_of(caplog)


def test_pip_sections_of_every_shape_are_listed_as_unchecked_never_guessed(capsys, caplog, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(textwrap.dedent("""\
        name: tf
        channels: [conda-forge]
        dependencies:
          - python=3.11
          - tensorflow=2.15.0
          - keras=2.15.0
          - pip
          - pip:
            - -r requirements.txt
            - -e git+https://github.com/example/proj.git#egg=proj
            - --extra-index-url https://example.org/simple
            - https://example.org/wheels/tensorflow-2.15.0-cp311-cp311-manylinux_2_17_x86_64.whl
            - tensorflow[and-cuda]==2.15.0
            - 'numpy==1.26.4; python_version < "3.12"'
            - h5py==3.10.0 --hash=sha256:0123456789abcdef
            - protobuf>=4,<5
            - tf-keras~=2.15.0
            - numpy===1.26.4
            - - nested
            - {weird: mapping}
            -
          - pip: not-a-list
          - conda: [numpy=1.26.4]
        """))
    code, out, err = run(capsys, "check", "-f", str(env), "--json")
    assert_worked(code, out, err)
    data = json.loads(out)
    # tensorflow[and-cuda]==2.15.0 is a pin of pip's tensorflow, beside conda's: the one finding.
    assert data["verdict"] == "warn"
    assert [f["rule"] for f in data["findings"] if f["severity"] != "info"] == ["pip-shadow"]
    unchecked = data["unchecked"]
    assert "pip: tensorflow[and-cuda]==2.15.0" not in unchecked
    for item in ("-r requirements.txt", "-e git+https://github.com/example/proj.git#egg=proj",
                 "https://example.org/wheels/tensorflow-2.15.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                 'numpy==1.26.4; python_version < "3.12"',
                 "h5py==3.10.0 --hash=sha256:0123456789abcdef", "protobuf>=4,<5", "tf-keras~=2.15.0",
                 "numpy===1.26.4"):
        assert f"pip: {item}" in unchecked, (item, unchecked)
    assert all(len(u) < 200 for u in unchecked)
    warned = " ".join(warnings_of(caplog))
    assert "pip" in warned and "conda" in warned  # the two entries that are not pip lists


def test_a_pip_name_is_normalised_like_pip_does(tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text("dependencies:\n  - python=3.11\n  - pip:\n    - tf_keras==2.15.0\n    - Keras==2.15.0\n")
    names = {v.name for v in read_env_file(env).packages}
    assert {"tf-keras", "keras"} <= names, names


CONDA_SPECS = [
    # (spec as written in environment.yml, pinned version or None for "listed as unchecked")
    ("numpy>=1.26", None),
    ("numpy >=1.26", None),
    ("numpy>=1.26,<2", None),
    ("numpy >=1.26,<2.0a0", None),
    ("python 3.11|3.12", None),
    ("python >=3.9|<3.0", None),
    ("numpy *", None),
    ("numpy", None),
    ("numpy 1.26.*", None),
    ("numpy=1.26.*", None),
    ("numpy 1.26*", None),
    ("numpy~=1.26.0", None),
    ("numpy!=1.26.0", None),
    ("numpy[version='>=1.26']", None),
    ('numpy[version=">=1.26,<2",build=py311*]', None),
    ("conda-forge::numpy", None),
    ("conda-forge::numpy>=1.26", None),
    ("numpy=1.26", None),  # conda reads =1.26 as the 1.26 line (1.26*), like `numpy 1.26.*` above
    ("numpy==1.26.4", "1.26.4"),
    ("numpy 1.26.4", "1.26.4"),
    ("numpy 1.26.4 py311h64a7726_0", "1.26.4"),
    ("numpy=1.26.4=py311h64a7726_0", "1.26.4"),
    ("conda-forge::numpy=1.26.4=py311h64a7726_0", "1.26.4"),
    ("pkgs/main::numpy==1.26.4", "1.26.4"),
    ("https://conda.anaconda.org/conda-forge/linux-64::numpy=1.26.4", "1.26.4"),
]


@pytest.mark.parametrize("spec, pinned", CONDA_SPECS, ids=[s for s, _ in CONDA_SPECS])
def test_every_conda_spec_form_is_checked_or_listed_never_a_crash(capsys, tmp_path, spec, pinned):
    env = tmp_path / "environment.yml"
    env.write_text(textwrap.dedent(f"""\
        channels: [conda-forge]
        dependencies:
          - python=3.11
          - tensorflow=2.15.0
          - keras=2.15.0
          - {json.dumps(spec)}
        """))
    parsed = read_env_file(env)
    numpy = [v for v in parsed.packages if v.name == "numpy"]
    if pinned is None:
        assert numpy == [] and parsed.unchecked == (spec,), (numpy, parsed.unchecked)
    else:
        assert [v.version for v in numpy] == [pinned] and parsed.unchecked == ()
    code, out, err = run(capsys, "check", "-f", str(env), "--json")
    assert_worked(code, out, err, codes=(0, 1))
    data = json.loads(out)
    if pinned is None:
        assert data["unchecked"] == [spec]
    else:
        assert "unchecked" not in data


@pytest.mark.parametrize("spec", ["numpy=2.0.0", "numpy 2.0.0", "conda-forge::numpy=2.0.0=py311h0_0", "numpy==2.0.0"])
def test_a_pinned_spec_in_an_environment_file_is_really_checked(capsys, tmp_path, spec):
    env = tmp_path / "environment.yml"
    env.write_text(f"dependencies:\n  - python=3.11\n  - tensorflow=2.15.0\n  - keras=2.15.0\n  - {spec}\n")
    code, out, err = run(capsys, "check", "-f", str(env), "--json")
    assert_worked(code, out, err, codes=(1,))
    assert json.loads(out)["findings"][0]["rule"] == "numpy-abi"


def test_odd_dependency_items_are_listed_not_crashed_on(capsys, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(textwrap.dedent("""\
        dependencies:
          - python=3.11
          - tensorflow=2.15.0
          - keras=2.15.0
          - 42
          - [a, nested, list]
          - {unknown: entry}
          - "  "
          - "tensorflow 2.15.0 *cuda*"
          - "tensorflow=2.15|2.16"
        """))
    code, out, err = run(capsys, "check", "-f", str(env), "--json")
    assert_worked(code, out, err, codes=(0, 1))
    assert all(len(u) < 200 for u in json.loads(out).get("unchecked", []))


@pytest.mark.parametrize("where", ["dependency", "pip", "channels"])
def test_a_yaml_alias_bomb_in_an_environment_file_is_bounded(tmp_path, where):
    body = {
        "dependency": "dependencies: [python=3.11, tensorflow=2.15.0, *a8]\n",
        "pip": "dependencies: [python=3.11, tensorflow=2.15.0, {pip: [*a8]}]\n",
        "channels": "channels: [*a8]\ndependencies: [python=3.11, tensorflow=2.15.0]\n",
    }[where]
    env = tmp_path / "environment.yml"
    env.write_text("anchors:\n" + alias_bomb() + body)
    assert env.stat().st_size < 2000
    result = run_child("check", "-f", str(env), "--json", timeout=30)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    assert result.returncode in (0, 1, 2), result.stderr[-2000:]
    assert len(result.stdout) + len(result.stderr) < 100_000


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_environment_file_is_refused_not_read_into_memory():
    result = run_child("check", "-f", "/dev/zero", timeout=30)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "/dev/zero" in result.stderr


# =========================================================================== version strings
ODD_VERSIONS = ["1.0_1", "2.10.0rc1", "custom", "1.2.3.4.5.6.7", "v2", "2.15.0+cuda120", "2.15.0.post1", "0",
                "\u00b2.15", "2.15.0-1"]


@pytest.mark.parametrize("name", ["tensorflow", "keras", "numpy", "python", "protobuf", "h5py", "cuda-version", "cudnn"])
@pytest.mark.parametrize("version", ODD_VERSIONS)
def test_odd_versions_in_specs_never_crash(capsys, name, version):
    others = [s for s in ("tensorflow=2.15.0", "keras=2.15.0", "python=3.11") if not s.startswith(name + "=")]
    code, out, err = run(capsys, "check", f"{name}={version}", *others, "--json")
    assert_worked(code, out, err, codes=(0, 1))
    data = json.loads(out)
    assert data["verdict"] in ("ok", "warn", "block")


@pytest.mark.parametrize("spec", ["tensorflow=", "tensorflow==", "=2.15.0", "tensorflow=2.15.0=", "tensorflow=2.15.0==x",
                                  "tensorflow=2.15 .0", "::tensorflow=2.15.0", "tensorflow\x00=2.15.0", "tensorflow=1!2.0",
                                  "tensorflow>=2", "tensorflow", "tensorflow=2.15.*", "tensorflow[version='2.15.0']"])
def test_an_unreadable_spec_is_one_line(capsys, spec):
    code, out, err = run(capsys, "check", spec)
    assert_one_line_error(code, out, err)


def test_an_unreadable_tensorflow_version_is_said_not_guessed(capsys):
    code, out, err = run(capsys, "check", "tensorflow=custom", "python=3.11", "--json")
    assert_worked(code, out, err)
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["unknown"]


@pytest.mark.parametrize("name", ["python", "cuda-version"])
def test_an_unreadable_version_of_a_judged_package_is_said_not_silently_ok(capsys, name):
    # keras=custom and numpy=custom get an `unknown` finding; python=custom must too.
    others = ["tensorflow=2.15.0", "keras=2.15.0"] + (["python=3.11"] if name != "python" else [])
    code, out, err = run(capsys, "check", f"{name}=custom", *others, "--json")
    assert_worked(code, out, err)
    findings = json.loads(out)["findings"]
    assert any(f["rule"] == "unknown" and f"{name} custom" in f["message"] for f in findings), findings


def test_a_v_prefixed_tensorflow_version_is_not_judged_as_another_release(capsys):
    # conda does not read `v2` as 2.0; judging it by TensorFlow 2.0's facts is a guess.
    code, out, err = run(capsys, "check", "tensorflow=v2", "python=3.11", "--json")
    assert_worked(code, out, err, codes=(0, 1))
    findings = json.loads(out)["findings"]
    assert any(f["rule"] == "unknown" for f in findings), findings


@pytest.mark.parametrize("version", ODD_VERSIONS + ["1!2.0", "", "   "])
@pytest.mark.parametrize("name", ["tensorflow", "keras", "numpy"])
def test_odd_versions_in_conda_meta_never_crash_status_or_pin(capsys, caplog, tmp_path, name, version):
    prefix = tf_env(tmp_path, replace_record(CLEAN_TF215, name, version=version))
    code, out, err = run(capsys, "status", "-p", str(prefix), "--json")
    assert_worked(code, out, err)
    data = json.loads(out)
    listed = [p["version"] for p in data["packages"] if p["name"] == name and p["installer"] == "conda"]
    if version:
        assert listed == [version]
    else:  # a record without a version is skipped, and said so
        assert listed == [] and any("no name or version" in w for w in warnings_of(caplog)), warnings_of(caplog)
    code, out, err = run(capsys, "pin", "-p", str(prefix), "--dry-run")
    assert "Traceback" not in err and code in (0, 2)
    if code == 2:
        assert_one_line_error(code, out, err)


@pytest.mark.parametrize("version", ODD_VERSIONS + ["1!2.0", "", "   "])
def test_odd_versions_in_pip_metadata_never_crash_status(capsys, tmp_path, version):
    prefix = tf_env(tmp_path)
    dist = prefix / "lib" / "python3.11" / "site-packages" / "tensorflow-0.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tensorflow\nVersion: {version}\n")
    code, out, err = run(capsys, "status", "-p", str(prefix), "--json")
    assert_worked(code, out, err)
    pip = [p for p in json.loads(out)["packages"] if p["installer"] == "pip"]
    assert [p["name"] for p in pip] == ["tensorflow"]
    assert pip[0]["version"] == (version.strip() or "0.0.0")


@pytest.mark.parametrize("metadata", [
    b"\x89PNG\x00\xff\xfe\n",
    b"",
    b"Name: \nVersion: \n",
    b"Name: tensorflow\nVersion: 2.15.1\nVersion: 9.9.9\n",
    "Name: tensörflöw\nVersion: 2.15.1\n".encode("utf-8"),
    b"Name: tensorflow\r\nVersion: 2.15.1\r\n",
    b"Metadata-Version: 2.1\n\n\nName: tensorflow\n",
    b"Name: " + b"x" * 100_000 + b"\nVersion: 1\n",
])
def test_garbage_pip_metadata_never_crashes_status(capsys, tmp_path, metadata):
    prefix = tf_env(tmp_path)
    dist = prefix / "lib" / "python3.11" / "site-packages" / "tensorflow-2.15.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_bytes(metadata)
    site = prefix / "lib" / "python3.11" / "site-packages"
    (site / "numpy-1.26.4.egg-info").write_text("not a directory")  # egg-info can be a file
    (site / "-.dist-info").mkdir()
    code, out, err = run(capsys, "status", "-p", str(prefix), "--json")
    assert_worked(code, out, err)


BUILDS = ["cuda120py311h06d1c5b_201", "gpu_py39h8236f22_0", "mkl_py310h0b323c9_0", "eigen_py37h0b323c9_0",
          "cpu_py312h69ecde4_1", "pyhd8ed1ab_0", "0", "py_0", "", "cuda", "cuda99999999999999py311h0_0",
          "cuda1py311h0_0", "h" * 200, "cuda120py311h06d1c5b_201\n", "*cuda*"]


@pytest.mark.parametrize("build", BUILDS, ids=[repr(b[:30]) for b in BUILDS])
def test_build_strings_of_every_channel_style_never_crash(capsys, tmp_path, build):
    prefix = tf_env(tmp_path, replace_record(CLEAN_TF215, "tensorflow", build=build))
    code, out, err = run(capsys, "status", "-p", str(prefix), "--json", "--driver", "550.54.14")
    assert_worked(code, out, err)
    [tf] = [p for p in json.loads(out)["packages"] if p["name"] == "tensorflow"]
    assert tf["build"] == build
    code, out, err = run(capsys, "pin", "-p", str(prefix), "--dry-run")
    assert "Traceback" not in err and code in (0, 2)
    if build.startswith("cuda120"):
        assert "tensorflow 2.15.0 cuda*" in out
    spec = f"conda-forge::tensorflow=2.15.0={build}" if build and "\n" not in build else "tensorflow=2.15.0"
    code, out, err = run(capsys, "check", spec, "keras=2.15.0", "python=3.11", "--cuda", "12.4", "--json")
    assert_worked(code, out, err, codes=(0, 1))


def test_a_gpu_build_with_a_huge_cuda_number_is_unknown_not_a_crash(capsys):
    code, out, err = run(capsys, "check", "conda-forge::tensorflow=2.15.0=cuda99999999999999py311h0_0",
                         "keras=2.15.0", "python=3.11", "--driver", "550.54.14", "--json")
    assert_worked(code, out, err, codes=(0, 1))


# =========================================================================== knowledge files
SCHEMA_HEAD = 'schema: 1\nsources:\n  mine: {url: "https://intranet.example.org/tf", checked: 2026-11-20}\n'
ONLY_PY37 = SCHEMA_HEAD + textwrap.dedent("""\
    releases:
      - tensorflow: "2.15"
        python: {supported: ["3.7"], source: mine}
    """)
BROKEN_KNOWLEDGE = {
    "not-yaml": (b"schema: 1\nreleases: [\n", "not valid YAML"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", "mine.yaml"),
    "nul-bytes": (b"schema: 1\x00\n", "mine.yaml"),
    "empty": (b"", "empty"),
    "scalar": (b"just text\n", "mine.yaml"),
    "no-schema": (b"releases: []\n", "schema: 1"),
    "releases-scalar": ((SCHEMA_HEAD + "releases: 2.15\n").encode(), "must be a list"),
    "tabs": (b"schema: 1\nreleases:\n\t- tensorflow: '2.15'\n", "mine.yaml"),
    "deep": (b"schema: 1\nnewest: " + b"[" * 5000 + b"]" * 5000 + b"\n", "mine.yaml"),
}


@pytest.mark.parametrize("how", ["flag", "env"])
@pytest.mark.parametrize("kind", BROKEN_KNOWLEDGE)
def test_a_broken_knowledge_file_is_one_clear_line_naming_it(capsys, monkeypatch, tmp_path, kind, how):
    data, message = BROKEN_KNOWLEDGE[kind]
    path = tmp_path / "mine.yaml"
    path.write_bytes(data)
    argv = ["check", "tensorflow=2.15.0", "python=3.11"]
    if how == "flag":
        argv += ["--knowledge", str(path)]
    else:
        monkeypatch.setenv(KNOWLEDGE_ENV, str(path))
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, out, err, str(path), message)
    assert path.read_bytes() == data


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_huge_knowledge_file_is_refused(capsys, monkeypatch, tmp_path, how):
    path = tmp_path / "huge.yaml"
    path.write_text("schema: 1\n" + "# padding padding padding padding\n" * 130_000)
    assert path.stat().st_size > 4 * 1024 * 1024
    argv = ["status", "-p", str(tf_env(tmp_path))]
    if how == "flag":
        argv += ["--knowledge", str(path)]
    else:
        monkeypatch.setenv(KNOWLEDGE_ENV, str(path))
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, out, err, str(path), "over the")


@pytest.mark.parametrize("target", ["missing", "directory"])
def test_a_knowledge_path_that_is_no_file_is_one_line(capsys, tmp_path, target):
    path = tmp_path / "nope.yaml"
    if target == "directory":
        path.mkdir()
    code, out, err = run(capsys, "check", "tensorflow=2.15.0", "--knowledge", str(path))
    assert_one_line_error(code, out, err, str(path))


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_user_knowledge_file_that_contradicts_the_shipped_one_wins(capsys, monkeypatch, tmp_path, how):
    path = tmp_path / "mine.yaml"
    path.write_text(ONLY_PY37)
    extra = ["--knowledge", str(path)] if how == "flag" else []
    if how == "env":
        monkeypatch.setenv(KNOWLEDGE_ENV, str(path))
    # Shipped facts: 2.15 supports 3.9-3.11, so 3.11 is fine ...
    code, out, err = run(capsys, "check", "tensorflow=2.15.0", "keras=2.15.0", "python=3.11", "--json")
    if how == "flag":
        assert_worked(code, out, err)
        assert json.loads(out)["verdict"] == "ok"
    # ... but the user says 3.7 only: 3.11 is now a block and 3.7 is fine.
    code, out, err = run(capsys, "check", "tensorflow=2.15.0", "keras=2.15.0", "python=3.11", "--json", *extra)
    assert_worked(code, out, err, codes=(1,))
    [finding] = [f for f in json.loads(out)["findings"] if f["rule"] == "python-unsupported"]
    assert finding["severity"] == "block" and "3.7" in finding["message"]
    assert finding["source"] == "https://intranet.example.org/tf"
    code, out, err = run(capsys, "check", "tensorflow=2.15.0", "keras=2.15.0", "python=3.7", "--json", *extra)
    assert_worked(code, out, err, codes=(0, 1))
    assert "python-unsupported" not in [f["rule"] for f in json.loads(out)["findings"]]


def test_pin_honours_a_contradicting_user_knowledge_file(capsys, tmp_path):
    # The env's TensorFlow is conda-forge's, judged by what conda-forge built: contradict that.
    path = tmp_path / "mine.yaml"
    path.write_text(SCHEMA_HEAD + textwrap.dedent("""\
        channel_builds:
          - channel: conda-forge
            tensorflow: "2.15"
            python: ["3.7"]
            source: mine
        """))
    # (records whose own depends and build strings say nothing about python: those would be the build's word)
    records = [(n, v, b.replace("py311", ""), c, [d for d in deps if not d.startswith("python ")])
               for n, v, b, c, deps in CLEAN_TF215]
    prefix = tf_env(tmp_path, records, pinned="# mine\n")
    assert_worked(*run(capsys, "pin", "-p", str(prefix), "--dry-run"))
    code, out, err = run(capsys, "pin", "-p", str(prefix), "--knowledge", str(path))
    assert_one_line_error(code, out, err, "refusing to pin", "python-unsupported")
    assert (prefix / "conda-meta" / "pinned").read_text() == "# mine\n"


def test_a_yaml_alias_bomb_in_a_knowledge_file_is_bounded(tmp_path):
    refs = ", ".join(["lol"] * 10)
    lines = [SCHEMA_HEAD.rstrip("\n"), f"  s0: {{url: 'https://x.org', checked: 2026-01-01, note: &a0 [{refs}]}}"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"  s{i}: {{url: 'https://x.org', checked: 2026-01-01, note: &a{i} [{refs}]}}")
    lines += ["package_families:", "  ff: {members: [tensorflow-foo], stack: *a8, source: mine}"]
    path = tmp_path / "mine.yaml"
    path.write_text("\n".join(lines) + "\n")
    result = run_child("check", "tensorflow=2.15.0", "--knowledge", str(path), timeout=30)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and str(path) in result.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_knowledge_file_is_refused_not_read_into_memory():
    result = run_child("check", "tensorflow=2.15.0", "--knowledge", "/dev/zero", timeout=30)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "/dev/zero" in result.stderr


# =========================================================================== NVML
NVML_ERRORS = [name for name in dir(pynvml) if name.startswith("NVML_ERROR_")]


def nvml_error(name):
    """How pynvml raises: NVMLError(code) returns the code's subclass."""
    error = pynvml.NVMLError(getattr(pynvml, name))
    assert isinstance(error, pynvml.NVMLError)
    return error


def fake_nvml(**raising):
    """A pynvml look-alike; every function named in ``raising`` raises what it maps to."""
    def make(name, value):
        def function(*args):
            if name in raising:
                raise raising[name]
            return value(*args) if callable(value) else value
        return function

    answers = {
        "nvmlInit": None,
        "nvmlShutdown": None,
        "nvmlSystemGetDriverVersion": "550.54.14",
        "nvmlSystemGetCudaDriverVersion": 12040,
        "nvmlDeviceGetCount": 1,
        "nvmlDeviceGetHandleByIndex": lambda index: f"handle-{index}",
        "nvmlDeviceGetName": "NVIDIA A10",
        "nvmlDeviceGetMemoryInfo": SimpleNamespace(total=24 << 30, free=0, used=0),
        "nvmlDeviceGetCudaComputeCapability": (8, 6),
    }
    return SimpleNamespace(**{name: make(name, value) for name, value in answers.items()})


def test_the_real_exception_classes_are_what_pynvml_raises():
    assert type(nvml_error("NVML_ERROR_DRIVER_NOT_LOADED")) is pynvml.NVMLError_DriverNotLoaded
    assert type(nvml_error("NVML_ERROR_LIBRARY_NOT_FOUND")) is pynvml.NVMLError_LibraryNotFound
    assert type(nvml_error("NVML_ERROR_NO_PERMISSION")) is pynvml.NVMLError_NoPermission


@pytest.mark.parametrize("name", NVML_ERRORS)
def test_nvml_init_raising_any_error_kind_is_a_reason_not_an_exception(name):
    error = nvml_error(name)
    facts = gpu.probe(environ={}, nvml=fake_nvml(nvmlInit=error), timeout=5)
    assert isinstance(facts, GpuFacts) and not facts.found
    assert str(error) in facts.reason and "\n" not in facts.reason


@pytest.mark.parametrize("function", ["nvmlSystemGetDriverVersion", "nvmlSystemGetCudaDriverVersion",
                                      "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetName",
                                      "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetCudaComputeCapability",
                                      "nvmlShutdown"])
@pytest.mark.parametrize("name", ["NVML_ERROR_UNINITIALIZED", "NVML_ERROR_GPU_IS_LOST", "NVML_ERROR_NOT_SUPPORTED",
                                  "NVML_ERROR_NO_PERMISSION", "NVML_ERROR_UNKNOWN", "NVML_ERROR_FUNCTION_NOT_FOUND",
                                  "NVML_ERROR_DRIVER_NOT_LOADED", "NVML_ERROR_TIMEOUT"])
def test_an_nvml_call_after_init_raising_keeps_the_rest(function, name):
    facts = gpu.probe(environ={}, nvml=fake_nvml(**{function: nvml_error(name)}), timeout=5)
    assert isinstance(facts, GpuFacts) and facts.found
    if function != "nvmlSystemGetDriverVersion":
        assert facts.driver_version == "550.54.14"
    if function not in ("nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex"):
        assert len(facts.gpus) == 1


def test_every_nvml_call_after_init_raising_is_a_reason():
    error = nvml_error("NVML_ERROR_UNKNOWN")
    facts = gpu.probe(environ={}, nvml=fake_nvml(**{name: error for name in (
        "nvmlSystemGetDriverVersion", "nvmlSystemGetCudaDriverVersion", "nvmlDeviceGetCount", "nvmlShutdown")}),
        timeout=5)
    assert not facts.found and facts.reason


@pytest.mark.parametrize("answer", [
    {"nvmlSystemGetDriverVersion": b"\xff\xfe\x00"},
    {"nvmlSystemGetDriverVersion": "banana"},
    {"nvmlSystemGetDriverVersion": None},
    {"nvmlSystemGetDriverVersion": 550},
    {"nvmlSystemGetCudaDriverVersion": -1},
    {"nvmlSystemGetCudaDriverVersion": "12040"},
    {"nvmlDeviceGetCount": -3},
    {"nvmlDeviceGetCount": "2"},
    {"nvmlDeviceGetCount": None},
    {"nvmlDeviceGetName": b"\xff\xfeTesla"},
    {"nvmlDeviceGetName": None},
    {"nvmlDeviceGetMemoryInfo": None},
    {"nvmlDeviceGetMemoryInfo": SimpleNamespace(total="lots")},
    {"nvmlDeviceGetCudaComputeCapability": None},
    {"nvmlDeviceGetCudaComputeCapability": (8,)},
    {"nvmlDeviceGetCudaComputeCapability": "8.6"},
])
def test_nvml_answering_garbage_is_tolerated(answer):
    nvml = fake_nvml()
    for name, value in answer.items():
        setattr(nvml, name, lambda *args, _value=value: _value)
    facts = gpu.probe(environ={}, nvml=nvml, timeout=5)
    assert isinstance(facts, GpuFacts)
    assert facts.driver_version is None or facts.driver_version == "550.54.14"


def test_nvml_raising_a_non_nvml_exception_is_a_reason():
    for error in (OSError("libnvidia-ml.so.1: cannot open shared object file"), RuntimeError("boom"),
                  UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), AttributeError("nvmlInit")):
        gpu.clear_cache()
        facts = gpu.probe(environ={}, nvml=fake_nvml(nvmlInit=error), timeout=5)
        assert not facts.found and facts.reason


@pytest.mark.parametrize("name", ["NVML_ERROR_LIBRARY_NOT_FOUND", "NVML_ERROR_DRIVER_NOT_LOADED",
                                  "NVML_ERROR_NO_PERMISSION", "NVML_ERROR_UNKNOWN", "NVML_ERROR_UNINITIALIZED"])
def test_status_shows_the_nvml_reason_in_one_line(capsys, monkeypatch, tmp_path, name):
    monkeypatch.delenv(CUDA_ENV)
    error = nvml_error(name)
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(nvmlInit=error))
    prefix = tf_env(tmp_path)
    code, out, err = run(capsys, "status", "-p", str(prefix))
    assert_worked(code, out, err)
    assert f"GPU: no NVIDIA driver found (NVML: {error})" in out


# =========================================================================== override variables
GARBAGE_CUDA = ["banana", "twelve", "12.2.3.4", "-1", "12.2; rm -rf /", "12.2\n12.4", "12,2", "nan", "1" * 500,
                "12.2-beta", "\x00", "１２.２", "١٢.٢"]
GARBAGE_DRIVER = ["banana", "535", "535.104.05.01.02", "535.104.05; echo hi", "-535.104", "535.104.05\n550.1",
                  "5" * 500, "nan", "٥٣٥.١٠٤.٠٥", "５３５.１０４.０５", "\x00"]


@pytest.mark.parametrize("command", ["check", "status"])
@pytest.mark.parametrize("variable, value", [(CUDA_ENV, v) for v in GARBAGE_CUDA] + [(DRIVER_ENV, v) for v in GARBAGE_DRIVER],
                         ids=[f"cuda-{v[:12]!r}" for v in GARBAGE_CUDA] + [f"driver-{v[:12]!r}" for v in GARBAGE_DRIVER])
def test_a_garbage_override_variable_is_one_line_naming_it(capsys, monkeypatch, tmp_path, command, variable, value):
    if "\x00" in value:
        # A real environment cannot hold NUL: hand the command a mapping that does.
        from conda_tfguard import cli

        environ = dict(os.environ, **{variable: value})
        if variable == DRIVER_ENV:
            environ.pop(CUDA_ENV, None)
        monkeypatch.setattr("conda_tfguard.__main__.standalone_host", lambda: cli.standalone_host(environ))
    else:
        monkeypatch.setenv(variable, value)
    if variable == DRIVER_ENV:
        monkeypatch.delenv(CUDA_ENV)
    argv = (["check", "tensorflow=2.15.0", "keras=2.15.0", "python=3.11", "cuda-version=12.2"] if command == "check"
            else ["status", "-p", str(tf_env(tmp_path))])
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, out, err, variable)


@pytest.mark.parametrize("variable, value", [(CUDA_ENV, "banana"), (DRIVER_ENV, "banana")])
def test_a_garbage_override_from_the_real_command_line_is_exit_2(tmp_path, variable, value):
    result = run_child("check", "tensorflow=2.15.0", "python=3.11", env={variable: value, **(
        {CUDA_ENV: "12.2"} if variable == DRIVER_ENV else {})})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and variable in result.stderr and "Traceback" not in result.stderr


# =========================================================================== prefixes
def test_a_prefix_that_does_not_exist_is_one_line(capsys, tmp_path):
    for command in ("status", "check", "pin"):
        code, out, err = run(capsys, command, "-p", str(tmp_path / "nope"))
        assert_one_line_error(code, out, err, str(tmp_path / "nope"), "does not exist")
    assert not (tmp_path / "nope").exists()


def test_a_prefix_that_is_a_file_is_one_line(capsys, tmp_path):
    path = tmp_path / "env"
    path.write_text("not a directory")
    for command in ("status", "check", "pin"):
        code, out, err = run(capsys, command, "-p", str(path))
        assert_one_line_error(code, out, err, str(path))
    assert path.read_text() == "not a directory"


@pytest.mark.parametrize("layout", ["empty-dir", "conda-meta-is-a-file", "conda-meta-is-a-dangling-link"])
def test_a_directory_that_is_no_conda_env_is_one_line(capsys, tmp_path, layout):
    root = tmp_path / "env"
    root.mkdir()
    if layout == "conda-meta-is-a-file":
        (root / "conda-meta").write_text("x")
    elif layout == "conda-meta-is-a-dangling-link":
        (root / "conda-meta").symlink_to(tmp_path / "gone")
    before = snapshot(root)
    for command in ("status", "check", "pin"):
        code, out, err = run(capsys, command, "-p", str(root))
        assert_one_line_error(code, out, err, str(root), "not a conda environment")
    assert snapshot(root) == before


def test_an_empty_conda_meta_is_an_env_without_tensorflow(capsys, tmp_path):
    root = tmp_path / "env"
    (root / "conda-meta").mkdir(parents=True)
    code, out, err = run(capsys, "status", "-p", str(root))
    assert_worked(code, out, err)
    assert "No TensorFlow in this environment" in out
    code, out, err = run(capsys, "pin", "-p", str(root))
    assert_one_line_error(code, out, err, "nothing to pin")
    assert not (root / "conda-meta" / "pinned").exists()


@pytest.mark.parametrize("command", ["status", "pin"])
def test_an_empty_prefix_argument_is_an_error_not_the_active_env(capsys, monkeypatch, tmp_path, command):
    # `conda tfguard pin -p "$ENV"` with ENV unset must not pin whatever env is active.
    active = tf_env(tmp_path)
    monkeypatch.setenv("CONDA_PREFIX", str(active))
    before = snapshot(active)
    code, out, err = run(capsys, command, "-p", "")
    assert_one_line_error(code, out, err)
    assert snapshot(active) == before


def test_an_unreadable_conda_record_is_skipped_with_a_warning(capsys, caplog, monkeypatch, tmp_path):
    prefix = tf_env(tmp_path)
    victim = next((prefix / "conda-meta").glob("h5py-*.json"))
    real_read_text = Path.read_text

    def read_text(self, *args, **kwargs):
        if self == victim:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    before = snapshot(prefix)
    code, out, err = run(capsys, "status", "-p", str(prefix))
    assert_worked(code, out, err)
    assert f"(skipped unreadable records: {victim.name})" in out
    assert any(victim.name in w and "Permission denied" in w for w in warnings_of(caplog))
    code, out, err = run(capsys, "pin", "-p", str(prefix))
    assert_worked(code, out, err)
    assert snapshot(prefix)[f"conda-meta/{victim.name}"] == before[f"conda-meta/{victim.name}"]


def test_an_unreadable_pinned_is_one_line_and_left_alone(capsys, monkeypatch, tmp_path):
    prefix = tf_env(tmp_path, pinned="scipy 1.11.*\n")
    pinned = prefix / "conda-meta" / "pinned"
    before = snapshot(prefix)

    def denied(real):
        def read(self, *args, **kwargs):
            if self == pinned:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)
        return read

    monkeypatch.setattr(Path, "read_text", denied(Path.read_text))
    monkeypatch.setattr(Path, "read_bytes", denied(Path.read_bytes))
    code, out, err = run(capsys, "pin", "-p", str(prefix))
    monkeypatch.undo()
    assert_one_line_error(code, out, err, str(pinned), "Permission denied")
    assert snapshot(prefix) == before


@pytest.mark.parametrize("failure", [
    PermissionError(errno.EACCES, "Permission denied"),
    OSError(errno.EROFS, "Read-only file system"),
    OSError(errno.ENOSPC, "No space left on device"),
])
def test_pin_into_a_read_only_env_leaves_pinned_untouched(capsys, monkeypatch, tmp_path, failure):
    import conda_tfguard.prefix as prefix_module

    prefix = tf_env(tmp_path, pinned="# mine\nscipy 1.11.*\n")
    before = snapshot(prefix)
    real_fdopen = os.fdopen

    class FailingWriter:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()
            return False

        def write(self, text):
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            raise failure

    monkeypatch.setattr(prefix_module.os, "fdopen", lambda fd, *a, **k: FailingWriter(real_fdopen(fd, *a, **k)))
    code, out, err = run(capsys, "pin", "-p", str(prefix))
    assert_one_line_error(code, out, err, "cannot write", failure.strerror)
    assert snapshot(prefix) == before  # no half-written pinned, no temporary file left behind


def test_pin_dry_run_writes_nothing_whatever_the_env(capsys, tmp_path):
    prefix = tf_env(tmp_path)
    before = snapshot(prefix)
    code, out, err = run(capsys, "pin", "-p", str(prefix), "--dry-run")
    assert_worked(code, out, err)
    assert snapshot(prefix) == before and not (prefix / "conda-meta" / "pinned").exists()


# =========================================================================== properties
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

yaml_scalar = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
spec_text = st.one_of(
    yaml_scalar,
    st.from_regex(r"\A([a-z\-]{1,12}::)?[a-z][a-z0-9_\-]{0,12}( ?(==|=|>=|<|!=|~=)?[0-9a-z.*_+|,]{0,12}){0,3}"
                  r"(\[version='[^']{0,8}'\])?\Z"),
)


@st.composite
def env_file_texts(draw):
    """Arbitrary text, and text shaped like an environment file with arbitrary entries."""
    if draw(st.booleans()):
        return draw(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
    deps = draw(st.lists(spec_text, max_size=8))
    pip = draw(st.lists(spec_text, max_size=4))
    lines = ["name: " + json.dumps(draw(yaml_scalar)), "channels: " + json.dumps(draw(st.lists(yaml_scalar, max_size=3))),
             "dependencies:"]
    lines += ["  - " + json.dumps(d) for d in deps]
    if pip:
        lines += ["  - pip:"] + ["    - " + json.dumps(p) for p in pip]
    return "\n".join(lines) + "\n"


@PROPERTY_SETTINGS
@given(text=env_file_texts())
def test_read_env_file_returns_an_env_file_or_raises_spec_error(tmp_path, text):
    path = tmp_path / "environment.yml"
    path.write_text(text, encoding="utf-8")
    try:
        result = read_env_file(path)
    except SpecError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert isinstance(result, EnvFile)
    for view in result.packages:
        assert isinstance(view.name, str) and view.name and isinstance(view.version, str) and view.version
    assert all(isinstance(u, str) for u in result.unchecked)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | yaml_scalar,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(yaml_scalar, children, max_size=4),
    max_leaves=12,
)
record_like = st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.sampled_from(["tensorflow", "keras", "numpy", "python", "cuda-version"]), json_values),
    "version": st.one_of(st.sampled_from(ODD_VERSIONS + ["2.15.0", ""]), json_values),
    "build": st.one_of(st.sampled_from(BUILDS), json_values),
    "channel": st.one_of(st.sampled_from([CF, MAIN, "defaults", "pypi", ""]), json_values),
    "depends": st.one_of(st.lists(spec_text, max_size=5), json_values),
    "files": st.one_of(st.lists(yaml_scalar, max_size=3), json_values),
})


@PROPERTY_SETTINGS
@given(data=st.one_of(st.binary(max_size=400), record_like.map(lambda r: json.dumps(r).encode())))
@example(data=b"[" * 100_000)
def test_read_prefix_survives_any_bytes_in_a_record(tmp_path, data):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215[:2])
    (prefix / "conda-meta" / "zz-fuzz.json").write_bytes(data)
    try:
        contents = read_prefix(prefix)
    except SpecError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(contents, PrefixContents)
    assert {"python", "tensorflow"} <= {v.name for v in contents.conda}
    fuzzed = len(contents.conda) == 3
    assert fuzzed != ("zz-fuzz.json" in contents.skipped)


@PROPERTY_SETTINGS
@given(data=record_like)
def test_status_survives_any_record_for_a_stack_package(capsys, tmp_path, data):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215)
    (prefix / "conda-meta" / "zz-fuzz.json").write_text(json.dumps(data))
    code, out, err = run(capsys, "status", "-p", str(prefix), "--json")
    assert_worked(code, out, err)
    json.loads(out)
