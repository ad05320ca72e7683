"""``python -m conda_tfguard``: what a user types and what they see. No conda needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conda_tfguard.__main__ import main
from helpers import CF, CLEAN_TF215, MAIN, make_prefix


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_readme_example_is_ok_as_json_and_exits_0(capsys):
    code, out, err = run(capsys, "check", "tensorflow=2.15.0", "keras=2.15.0", "numpy=1.26.4", "python=3.11", "--json")
    assert code == 0 and err == ""
    assert json.loads(out) == {"verdict": "ok", "findings": []}


def test_python_dash_m_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "conda_tfguard", "check", "tensorflow=2.15.0", "keras=3.1.1", "python=3.11"],
        capture_output=True, text=True, env={**os.environ, "CONDA_OVERRIDE_CUDA": ""},
    )
    assert result.returncode == 1
    assert result.stdout.startswith("tfguard BLOCK [keras-mismatch]")
    assert "tfguard   fix [keras-mismatch] conda install" in result.stdout


def test_json_has_exactly_the_documented_shape(capsys):
    code, out, _ = run(capsys, "check", "tensorflow=2.14.0", "numpy=2.0.0", "python=3.11", "--json")
    data = json.loads(out)
    assert code == 1 and data["verdict"] == "block"
    assert set(data) == {"verdict", "findings"}
    for finding in data["findings"]:
        assert set(finding) == {"rule", "severity", "message", "packages", "fix", "source"}
    assert data["findings"][0]["rule"] == "numpy-abi"


def test_human_output_is_most_severe_first_with_the_fix_under_each(capsys):
    code, out, _ = run(capsys, "check", "defaults::tensorflow=2.15.0=mkl_py311h0_0", "conda-forge::keras=3.0.5=pyhd8ed1ab_0",
                       "defaults::python=3.11.9=h0_0")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("tfguard BLOCK [keras-mismatch]")
    assert lines[1].startswith("tfguard   fix [keras-mismatch]")
    assert any(line.startswith("tfguard WARN  [channel-mix]") for line in lines)


def test_all_well_is_a_single_ok_line(capsys):
    code, out, _ = run(capsys, "check", "tensorflow=2.16.1", "keras=3.3.3", "python=3.12")
    assert code == 0 and out == "tfguard OK: 3 packages checked, nothing to report\n"


@pytest.mark.parametrize("argv, message", [
    (["check", "tensorflow>=2"], "cannot read package spec"),
    (["check", "-f", "/nonexistent/environment.yml"], "no such environment file"),
    (["check", "-p", "/nonexistent/env"], "does not exist"),
    (["check"], "nothing to check"),
    (["check", "tensorflow=2.15.0", "--python", "three"], "not a Python version"),
    (["check", "tensorflow=2.15.0", "--driver", "banana"], "not an NVIDIA driver version"),
    (["check", "tensorflow=2.15.0", "--cuda", "twelve"], "not a CUDA version"),
    (["status", "-n", "myenv"], "needs conda"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_driver_override_blocks_old_driver_and_passes_new_one(capsys):
    base = ["check", "tensorflow=2.15.0", "keras=2.15.0", "cuda-version=12.2", "python=3.11", "--json"]
    code, out, _ = run(capsys, *base, "--driver", "470.82.01")
    assert code == 1 and [f["rule"] for f in json.loads(out)["findings"]] == ["driver-too-old"]
    code, out, _ = run(capsys, *base, "--driver", "550.54.14")
    assert code == 0 and not [f for f in json.loads(out)["findings"] if f["rule"] == "driver-too-old"]


def test_conda_override_cuda_is_honoured(capsys, monkeypatch):
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "11.4")
    code, out, _ = run(capsys, "check", "tensorflow=2.15.0", "cuda-version=12.2", "python=3.11", "--json")
    assert code == 1 and json.loads(out)["findings"][0]["rule"] == "driver-too-old"


def test_a_spec_layered_over_a_prefix_replaces_its_family(capsys, tmp_path):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215)
    code, out, _ = run(capsys, "check", "-p", str(prefix), "--json")
    assert code == 0 and json.loads(out)["verdict"] == "ok"
    # Asking for keras 3 on top of this env is a keras mismatch, not a TF downgrade.
    code, out, _ = run(capsys, "check", "-p", str(prefix), "keras=3.0.5", "--json")
    assert code == 1 and [f["rule"] for f in json.loads(out)["findings"]] == ["keras-mismatch"]
    # An explicit older TensorFlow is what the user asked for: no tf-downgrade.
    code, out, _ = run(capsys, "check", "-p", str(prefix), "tensorflow=2.14.1", "keras=2.14.0", "--json")
    assert "tf-downgrade" not in [f["rule"] for f in json.loads(out)["findings"]]


def test_environment_file_pins_are_checked_and_the_rest_listed_as_unchecked(capsys, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(textwrap.dedent("""\
        name: tf
        channels: [conda-forge]
        dependencies:
          - python=3.11
          - tensorflow=2.15.0
          - keras 3.1.1
          - numpy>=1.26
          - pip:
            - tf-keras==2.15.0
            - -r requirements.txt
        """))
    code, out, _ = run(capsys, "check", "-f", str(env), "--json")
    data = json.loads(out)
    assert code == 1 and data["findings"][0]["rule"] == "keras-mismatch"
    assert data["unchecked"] == ["numpy>=1.26", "pip: -r requirements.txt"]
    code, out, _ = run(capsys, "check", "-f", str(env))
    assert "tfguard INFO  [unchecked] numpy>=1.26 is not pinned: not checked" in out


@pytest.mark.parametrize("text, message", [
    ("name: x\ndependencies:\n\t- numpy=1\n", "tabs"),
    ("name: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "not an environment file"),
    ("dependencies: numpy\n", "'dependencies' must be a list"),
])
def test_a_malformed_environment_file_is_one_line(capsys, tmp_path, text, message):
    env = tmp_path / "environment.yml"
    env.write_text(text)
    code, out, err = run(capsys, "check", "-f", str(env))
    assert code == 2 and message in err and err.count("\n") == 1


def test_status_shows_the_stack_the_gpu_and_the_verdict(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215, pip=[("tensorflow", "2.15.1")])
    code, out, _ = run(capsys, "status", "-p", str(prefix))
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert ["tensorflow", "2.15.0", "cpu_py311h0_0", "conda-forge"] in rows
    assert ["tensorflow", "2.15.1", "-", "pip"] in rows
    assert "pip-installed: tensorflow 2.15.1" in out
    assert "GPU: no NVIDIA driver found (CONDA_OVERRIDE_CUDA is empty: no CUDA driver)" in out
    assert "Verdict: WARN" in out and "[pip-shadow]" in out


def test_status_json_and_a_cpu_build_beside_a_driver(capsys, tmp_path):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215)
    code, out, _ = run(capsys, "status", "-p", str(prefix), "--driver", "535.104.05", "--json")
    data = json.loads(out)
    assert code == 0 and data["tensorflow"] is True
    assert {"prefix", "tensorflow", "packages", "gpu", "verdict", "findings"} <= set(data)
    assert data["gpu"]["driver_version"] == "535.104.05"
    # conda-forge built GPU builds of 2.15, and this machine has a driver: say so.
    assert data["verdict"] == "warn"
    assert [f["rule"] for f in data["findings"]] == ["gpu-build-without-driver"]


def test_status_names_the_cuda_the_driver_runs(capsys, tmp_path):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215)
    code, out, _ = run(capsys, "status", "-p", str(prefix), "--driver", "470.82.01")
    assert "GPU: driver 470.82.01, runs CUDA 11.4 (by NVIDIA's driver table); from --driver" in out


def test_status_of_an_env_without_tensorflow_says_so(capsys, tmp_path):
    prefix = make_prefix(tmp_path / "env", [("python", "3.12.1", "h0_0", MAIN, []), ("zlib", "1.3.1", "h0_0", MAIN, [])])
    code, out, _ = run(capsys, "status", "-p", str(prefix), "--cuda", "12.4")
    assert code == 0 and "No TensorFlow in this environment" in out


def test_status_exits_0_even_when_the_verdict_is_block(capsys, tmp_path):
    broken = [r for r in CLEAN_TF215 if r[0] != "keras"] + [("keras", "3.0.5", "pyh0_0", CF, [])]
    prefix = make_prefix(tmp_path / "env", broken)
    code, out, _ = run(capsys, "status", "-p", str(prefix), "--cuda", "")
    assert code == 0 and "Verdict: BLOCK" in out


def test_pin_appends_the_stack_and_keeps_existing_lines(capsys, tmp_path):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215, pinned="# mine\nscipy 1.11.*\n")
    code, out, _ = run(capsys, "pin", "-p", str(prefix), "--dry-run")
    assert code == 0 and "would add" in out and "tensorflow ==2.15.0" in out
    assert (prefix / "conda-meta" / "pinned").read_text() == "# mine\nscipy 1.11.*\n"
    code, out, _ = run(capsys, "pin", "-p", str(prefix))
    assert code == 0
    assert (prefix / "conda-meta" / "pinned").read_text().splitlines() == [
        "# mine", "scipy 1.11.*", "tensorflow ==2.15.0", "keras 2.15.*", "numpy 1.*",
    ]
    code, out, _ = run(capsys, "pin", "-p", str(prefix))
    assert "nothing to add" in out


def test_pin_refuses_a_broken_env_and_leaves_pinned_untouched(capsys, tmp_path):
    broken = [r for r in CLEAN_TF215 if r[0] != "keras"] + [("keras", "3.0.5", "pyh0_0", CF, [])]
    prefix = make_prefix(tmp_path / "env", broken, pinned="scipy 1.11.*\n")
    code, out, err = run(capsys, "pin", "-p", str(prefix))
    assert code == 2 and "refusing to pin" in err and "keras-mismatch" in err
    assert (prefix / "conda-meta" / "pinned").read_text() == "scipy 1.11.*\n"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores read-only directories")
def test_pin_into_a_read_only_env_fails_cleanly(capsys, tmp_path):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215, pinned="scipy 1.11.*\n")
    (prefix / "conda-meta").chmod(0o555)
    try:
        code, out, err = run(capsys, "pin", "-p", str(prefix))
    finally:
        (prefix / "conda-meta").chmod(0o755)
    assert code == 2 and "cannot write" in err
    assert (prefix / "conda-meta" / "pinned").read_text() == "scipy 1.11.*\n"


@pytest.mark.parametrize("failing", ["mkstemp", "replace"])
def test_pin_that_cannot_write_leaves_pinned_whole(capsys, tmp_path, monkeypatch, failing):
    # What a read-only env does to us, also where the tests run as root (root ignores chmod).
    import conda_tfguard.prefix as prefix_module

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    if failing == "mkstemp":
        import tempfile

        monkeypatch.setattr(tempfile, "mkstemp", denied)
    else:
        monkeypatch.setattr(prefix_module.os, "replace", denied)
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215, pinned="scipy 1.11.*\n")
    code, out, err = run(capsys, "pin", "-p", str(prefix))
    assert code == 2 and "cannot write" in err and "Permission denied" in err
    assert (prefix / "conda-meta" / "pinned").read_text() == "scipy 1.11.*\n"
    assert [p.name for p in (prefix / "conda-meta").iterdir() if p.name.startswith(".pinned")] == []


def test_specs_may_follow_the_options(capsys):
    code, out, _ = run(capsys, "check", "tensorflow=2.15.0", "--driver", "470.82.01", "cuda-version=12.2", "python=3.11")
    assert code == 1 and out.startswith("tfguard BLOCK [driver-too-old]")


def test_fixes_name_the_environment_the_user_named(capsys, tmp_path):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215)
    code, out, _ = run(capsys, "check", "-p", str(prefix), "keras=3.0.5", "--json")
    [finding] = json.loads(out)["findings"]
    assert finding["fix"].startswith(f"conda install -p {prefix} ")


def test_pip_fixes_run_through_the_named_environments_python(capsys, tmp_path):
    prefix = make_prefix(tmp_path / "env", CLEAN_TF215, pip=[("keras", "3.3.3")])
    code, out, _ = run(capsys, "status", "-p", str(prefix), "--cuda", "", "--json")
    fixes = [f["fix"] for f in json.loads(out)["findings"]]
    assert f"conda run -p {prefix} python -m pip uninstall keras" in fixes


def test_python_given_twice_differently_is_an_error(capsys):
    code, out, err = run(capsys, "check", "tensorflow=2.15.0", "python=3.13", "--python", "3.12")
    assert code == 2 and "contradicts" in err


def test_a_pip_pin_with_extras_is_checked(capsys, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text("dependencies:\n  - python=3.11\n  - pip:\n    - tensorflow[and-cuda]==2.15.0\n    - keras==3.1.1\n")
    code, out, _ = run(capsys, "check", "-f", str(env), "--json")
    assert code == 1 and json.loads(out)["findings"][0]["rule"] == "keras-mismatch"


@pytest.mark.parametrize("numpy_entry, warned", [("", True), ("  - numpy<2\n", False), ("  - numpy\n", True)])
def test_a_file_that_bounds_what_pips_tensorflow_admits_gets_no_warning_about_it(capsys, tmp_path, numpy_entry, warned):
    # corpus 54: `numpy<2` beside pip's tensorflow==2.14 (whose metadata does not cap numpy)
    env = tmp_path / "environment.yml"
    env.write_text("dependencies:\n  - python=3.11\n" + numpy_entry + "  - pip:\n    - tensorflow==2.14.0\n")
    code, out, _ = run(capsys, "check", "-f", str(env), "--json")
    assert code == 0
    assert any(f["rule"] == "numpy-abi" and f["severity"] == "warn" for f in json.loads(out)["findings"]) is warned
