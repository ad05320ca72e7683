"""End to end: the REAL conda CLI, with conda-tfguard installed as its plugin.

Every test runs ``python -m conda ...`` in a subprocess against an offline file channel
tree built by ``conda_channels.build_tf_universe`` (three sub-channels behind one
``channel_alias``: ``pkgs/main`` as ``defaults``, ``anaconda``, ``conda-forge``), once
with the classic solver and once with conda-rattler-solver. Each test asserts what a
user sees: the exit status, tfguard's lines, and what is in the environment afterwards.

The package universe (tiny real packages; only their names, versions, builds and
``depends`` matter):

* defaults: python 3.9.18 / 3.11.9, numpy 1.23.5, h5py 3.7.0, protobuf 3.19.6 / 3.20.3,
  keras 2.10.0, tensorflow(-base) 2.10.0 ``mkl_py39h0_0`` (keras >=2.10,<2.11,
  protobuf <3.20) and tensorflow(-base) 2.11.0 whose metadata says nothing of keras;
* anaconda: keras 2.4.3 (needs tensorflow >=2.3,<2.4), tensorflow(-base) 2.3.0,
  numpy 1.18.5, h5py 2.10.0;
* conda-forge: a coherent python 3.11 / tensorflow 2.15.0 ``cpu_py311h0_0`` /
  keras 2.15.0 / numpy 1.26.4 / protobuf 4.24.4 stack, and zlib 1.3.1.

conda is not on PyPI: where it cannot be imported (plain CI) every test here skips.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex

import pytest


def _conda_importable() -> bool:
    try:
        return importlib.util.find_spec("conda") is not None and importlib.util.find_spec("conda.cli.main") is not None
    except (ImportError, ValueError):
        return False


HAVE_CONDA = _conda_importable()


def _conda_has_hook(name: str) -> bool:
    if not HAVE_CONDA:
        return False
    from conda.plugins.hookspec import CondaSpecs

    return hasattr(CondaSpecs, name)


needs_error_hints = pytest.mark.skipif(
    HAVE_CONDA and not _conda_has_hook("conda_error_hints"),
    reason="error hints need conda >= 26.7 (the conda_error_hints hook)")
needs_transaction_actions = pytest.mark.skipif(
    HAVE_CONDA and not _conda_has_hook("conda_pre_transaction_actions"),
    reason="lock-file installs never solve; conda >= 25.5 lets a pre-transaction action judge them")

pytestmark = [
    pytest.mark.conda,
    pytest.mark.skipif(
        not HAVE_CONDA,
        reason="conda is not importable here (it is not on PyPI); "
               "install conda-tfguard into a conda environment to run these",
    ),
]

SEED_SPECS = ("python=3.9", "tensorflow<2.11")
# The seed report: "I asked for keras from the anaconda channel and my TensorFlow went
# from 2.10 to 2.3". With conda's default *flexible* channel priority an installed
# keras already satisfies a bare `keras`, so conda changes nothing (see
# test_keras_from_anaconda_with_flexible_priority_is_a_quiet_no_op); with strict
# priority (a common .condarc setting) keras must come from anaconda, and the solver
# drags TensorFlow down to 2.3.0.
KERAS_FROM_ANACONDA = ("-c", "anaconda", "--strict-channel-priority", "keras")
FINDING_LINE = re.compile(r"^(?:\S+ )*tfguard (?:BLOCK|WARN |INFO ) \[(?P<rule>[a-z-]+)\] ", re.M)


# --------------------------------------------------------------------------- helpers
def make_seed_env(conda_cli, name: str = "seed", *extra_specs: str):
    """``conda create -p ENV python=3.9 "tensorflow<2.11"`` from defaults: TensorFlow 2.10.0."""
    prefix = conda_cli.prefix(name)
    result = conda_cli("create", "-y", "-p", str(prefix), *SEED_SPECS, *extra_specs)
    assert result.returncode == 0, result
    assert not result.tfguard_lines(), result
    installed = conda_cli.installed(prefix)
    assert installed["tensorflow"].version == "2.10.0", installed
    assert installed["tensorflow"].channel == "pkgs/main", installed
    assert installed["keras"].version == "2.10.0", installed
    return prefix


def rules_in(text: str) -> set[str]:
    """The rule ids of the ``tfguard BLOCK|WARN|INFO [rule] ...`` lines in ``text``."""
    return {m.group("rule") for m in FINDING_LINE.finditer(text)}


def fix_commands(text: str, rule: str) -> list[str]:
    """The commands of the ``tfguard   fix [rule] ...`` lines."""
    return re.findall(rf"tfguard   fix \[{re.escape(rule)}\] (.+)$", text, re.M)


def run_printed_command(conda_cli, command: str, prefix):
    """Run a ``conda ...`` command tfguard printed, against ``prefix``, non-interactively."""
    argv = shlex.split(command)
    assert argv[0] == "conda", command
    subcommand, rest = argv[1], argv[2:]
    if subcommand == "tfguard":
        return conda_cli("tfguard", rest[0], "-p", str(prefix), *rest[1:])
    return conda_cli(subcommand, "-y", "-p", str(prefix), *rest)


# --------------------------------------------------------------------------- 1. the seed case
def test_keras_from_anaconda_downgrading_tf_is_blocked(conda_cli):
    env = make_seed_env(conda_cli)
    before = conda_cli.installed(env)

    result = conda_cli("install", "-y", "-p", str(env), *KERAS_FROM_ANACONDA)

    assert result.returncode != 0, result
    assert "TfguardBlocked" in result.stderr, result
    assert "tensorflow 2.10.0 (defaults) → 2.3.0 (anaconda)" in result.output, result
    assert "[tf-downgrade]" in result.output, result
    fixes = fix_commands(result.output, "tf-downgrade")
    assert fixes and all(f.startswith("conda install") for f in fixes), result
    # nothing was downloaded, linked or unlinked
    assert conda_cli.installed(env) == before
    assert conda_cli.versions(env)["tensorflow"] == "2.10.0"
    assert conda_cli.versions(env)["keras"] == "2.10.0"
    assert "Executing transaction" not in result.stdout, result


def test_fix_printed_for_blocked_keras_install_is_safe_to_run(conda_cli):
    env = make_seed_env(conda_cli)
    blocked = conda_cli("install", "-y", "-p", str(env), *KERAS_FROM_ANACONDA)
    assert blocked.returncode != 0, blocked
    [fix] = fix_commands(blocked.output, "tf-downgrade")

    result = run_printed_command(conda_cli, fix, env)

    assert result.returncode == 0, result
    assert not rules_in(result.output), result
    versions = conda_cli.versions(env)
    assert (versions["tensorflow"], versions["keras"]) == ("2.10.0", "2.10.0")


def test_keras_from_anaconda_in_warn_mode_goes_ahead_with_a_warning(conda_cli):
    env = make_seed_env(conda_cli)

    result = conda_cli("install", "-y", "-p", str(env), *KERAS_FROM_ANACONDA,
                       env={"CONDA_PLUGINS_TFGUARD_MODE": "warn"})

    assert result.returncode == 0, result
    assert "TfguardBlocked" not in result.output, result
    assert any("[tf-downgrade]" in line for line in result.tfguard_lines("stderr")), result
    assert not result.tfguard_lines("stdout"), result
    installed = conda_cli.installed(env)
    assert installed["tensorflow"].version == "2.3.0", installed
    assert installed["tensorflow"].channel == "anaconda", installed
    assert installed["keras"].version == "2.4.3", installed


def test_keras_from_anaconda_with_flexible_priority_is_a_quiet_no_op(conda_cli):
    """The literal `conda install -c anaconda keras`: conda keeps the installed keras."""
    env = make_seed_env(conda_cli)
    before = conda_cli.installed(env)

    result = conda_cli("install", "-y", "-p", str(env), "-c", "anaconda", "keras")

    assert result.returncode == 0, result
    assert "All requested packages already installed" in result.stdout, result
    assert not result.tfguard_lines(), result
    assert conda_cli.installed(env) == before


def test_asking_for_old_keras_by_version_is_blocked_as_a_tf_downgrade(conda_cli):
    env = make_seed_env(conda_cli)
    before = conda_cli.installed(env)

    result = conda_cli("install", "-y", "-p", str(env), "-c", "anaconda", "keras=2.4.3")

    assert result.returncode != 0, result
    assert "TfguardBlocked" in result.stderr, result
    assert "tensorflow 2.10.0 (defaults) → 2.3.0 (anaconda)" in result.output, result
    assert "tf-downgrade" in rules_in(result.output), result
    assert conda_cli.installed(env) == before


@needs_error_hints
def test_hint_after_a_failed_solve_names_a_check_command_tfguard_accepts(conda_cli):
    """A TensorFlow this universe lacks: conda fails, tfguard's hint names `conda tfguard check ...`."""
    env = make_seed_env(conda_cli)
    failed = conda_cli("install", "-y", "-p", str(env), "tensorflow=2.12")
    assert failed.returncode != 0, failed
    suggested = re.findall(r"`(conda tfguard check [^`]*)`", failed.output)
    assert suggested, failed

    result = run_printed_command(conda_cli, suggested[0], env)

    assert result.returncode in (0, 1), result  # 2 is "cannot read your input"
    assert "TfguardArgumentError" not in result.output, result


@needs_error_hints
def test_failed_solve_for_keras_gets_a_hint_that_conda_can_carry_out(conda_cli):
    env = make_seed_env(conda_cli)
    # defaults has no keras 2.4.3: the solve fails, and tfguard's hint names the keras that fits.
    failed = conda_cli("install", "-y", "-p", str(env), "--override-channels", "-c", "defaults", "keras=2.4.3")
    assert failed.returncode != 0, failed
    hints = re.findall(r"\(tfguard_fitting_stack\) tfguard: [^:]*: (conda install .+)$", failed.output, re.M)
    assert hints, failed

    result = run_printed_command(conda_cli, hints[0], env)

    assert result.returncode == 0, result
    versions = conda_cli.versions(env)
    assert (versions["tensorflow"], versions["keras"]) == ("2.10.0", "2.10.0")


def test_a_blocked_install_does_not_repeat_its_fix_as_a_hint(conda_cli):
    env = make_seed_env(conda_cli)
    blocked = conda_cli("install", "-y", "-p", str(env), "-c", "anaconda", "keras=2.4.3")
    assert blocked.returncode != 0 and "TfguardBlocked" in blocked.output, blocked
    assert "(tfguard_" not in blocked.output, blocked


def test_fix_printed_for_old_keras_by_version_is_a_command_conda_can_carry_out(conda_cli):
    env = make_seed_env(conda_cli)
    blocked = conda_cli("install", "-y", "-p", str(env), "-c", "anaconda", "keras=2.4.3")
    assert blocked.returncode != 0, blocked
    fixes = fix_commands(blocked.output, "tf-downgrade")
    assert fixes, blocked

    result = run_printed_command(conda_cli, fixes[0], env)

    assert result.returncode == 0, result
    assert conda_cli.versions(env)["tensorflow"] == "2.10.0"


# --------------------------------------------------------------------------- 2. update --all
def test_update_all_moving_tf_past_installed_keras_is_blocked(conda_cli):
    # keras is asked for by name, so `update --all` keeps it (the classic solver drops
    # dependencies nobody asked for); tensorflow 2.11's metadata does not mention keras.
    env = make_seed_env(conda_cli, "seed", "keras")
    before = conda_cli.installed(env)

    result = conda_cli("update", "--all", "-y", "-p", str(env))

    assert result.returncode != 0, result
    assert "TfguardBlocked" in result.stderr, result
    assert "[keras-mismatch]" in result.output, result
    assert "keras 2.10.0 (defaults)" in result.output, result
    assert "tensorflow 2.11.0" in result.output, result
    assert conda_cli.installed(env) == before


# --------------------------------------------------------------------------- 3./4. silence
def test_clean_conda_forge_stack_is_created_without_a_word_from_tfguard(conda_cli):
    env = conda_cli.prefix("cf")

    result = conda_cli("create", "-y", "-p", str(env), "-c", "conda-forge", "--override-channels",
                       "python=3.11", "tensorflow=2.15.0", "keras=2.15.0", "numpy=1.26.4")

    assert result.returncode == 0, result
    assert not result.tfguard_lines("stdout"), result
    assert not result.tfguard_lines("stderr"), result
    installed = conda_cli.installed(env)
    assert {n: (r.version, r.channel) for n, r in installed.items()
            if n in ("tensorflow", "tensorflow-base", "keras", "numpy", "python")} == {
        "tensorflow": ("2.15.0", "conda-forge"),
        "tensorflow-base": ("2.15.0", "conda-forge"),
        "keras": ("2.15.0", "conda-forge"),
        "numpy": ("1.26.4", "conda-forge"),
        "python": ("3.11.9", "conda-forge"),
    }


def test_transaction_without_tensorflow_stack_is_left_alone(conda_cli):
    env = conda_cli.prefix("zlib")

    result = conda_cli("create", "-y", "-p", str(env), "-c", "conda-forge", "--override-channels", "zlib")

    assert result.returncode == 0, result
    assert not result.tfguard_lines(), result
    assert conda_cli.versions(env) == {"zlib": "1.3.1"}

    status = conda_cli("tfguard", "status", "-p", str(env))

    assert status.returncode == 0, status
    assert "No TensorFlow" in status.stdout, status


# --------------------------------------------------------------------------- 5. --dry-run, --json
def test_dry_run_shows_the_downgrade_without_blocking(conda_cli):
    env = make_seed_env(conda_cli)
    before = conda_cli.installed(env)

    result = conda_cli("install", "-y", "--dry-run", "-p", str(env), *KERAS_FROM_ANACONDA)

    assert result.returncode == 0, result  # conda's own dry-run status
    assert "TfguardBlocked" not in result.output, result
    assert any("[tf-downgrade]" in line for line in result.tfguard_lines()), result
    assert "DryRunExit" in result.output, result
    assert conda_cli.installed(env) == before


def test_blocked_install_with_json_prints_one_json_object_with_the_findings(conda_cli):
    env = make_seed_env(conda_cli)
    before = conda_cli.installed(env)

    result = conda_cli("install", "-y", "--json", "-p", str(env), *KERAS_FROM_ANACONDA)

    assert result.returncode != 0, result
    data = json.loads(result.stdout)
    assert data["exception_name"] == "TfguardBlocked", data
    assert isinstance(data["findings"], list), data
    assert "tf-downgrade" in {f["rule"] for f in data["findings"]}, data
    downgrade = next(f for f in data["findings"] if f["rule"] == "tf-downgrade")
    assert downgrade["severity"] == "block", downgrade
    assert "tensorflow 2.10.0 (defaults) → 2.3.0 (anaconda)" in downgrade["packages"], downgrade
    assert conda_cli.installed(env) == before


# --------------------------------------------------------------------------- 6. conda tfguard ...
def test_status_shows_the_tensorflow_row_and_a_gpu_section(conda_cli):
    env = make_seed_env(conda_cli)

    result = conda_cli("tfguard", "status", "-p", str(env))

    assert result.returncode == 0, result
    assert re.search(r"^tensorflow\s+2\.10\.0\s+mkl_py39h0_0\s+defaults\s*$", result.stdout, re.M), result
    assert re.search(r"^keras\s+2\.10\.0\s", result.stdout, re.M), result
    assert re.search(r"^GPU:", result.stdout, re.M), result


def test_status_json_has_the_documented_keys(conda_cli):
    env = make_seed_env(conda_cli)

    result = conda_cli("tfguard", "status", "-p", str(env), "--json")

    assert result.returncode == 0, result
    data = json.loads(result.stdout)
    assert {"prefix", "tensorflow", "packages", "gpu", "verdict", "findings"} <= set(data), data
    assert data["tensorflow"] is True
    assert {"name": "tensorflow", "version": "2.10.0"}.items() <= next(
        p for p in data["packages"] if p["name"] == "tensorflow").items(), data
    assert data["gpu"]["found"] is False, data  # CONDA_OVERRIDE_CUDA="" in these tests


def test_check_of_old_keras_against_the_seed_env_blocks(conda_cli):
    env = make_seed_env(conda_cli)

    result = conda_cli("tfguard", "check", "-p", str(env), "keras=2.4.3")

    assert result.returncode == 1, result
    assert rules_in(result.stdout) & {"keras-mismatch", "tf-downgrade"}, result


def test_pin_dry_run_lists_the_tensorflow_pin_and_writes_nothing(conda_cli):
    env = make_seed_env(conda_cli)
    pinned = env / "conda-meta" / "pinned"

    result = conda_cli("tfguard", "pin", "-p", str(env), "--dry-run")

    assert result.returncode == 0, result
    assert re.search(r"^\s*tensorflow ==2\.10\.0\s*$", result.stdout, re.M), result
    assert not pinned.exists()


def test_pin_writes_pinned_and_the_keras_downgrade_then_cannot_happen(conda_cli):
    env = make_seed_env(conda_cli)
    pinned = env / "conda-meta" / "pinned"
    pinned.write_text("protobuf 3.19.*\n")

    result = conda_cli("tfguard", "pin", "-p", str(env))

    assert result.returncode == 0, result
    lines = [line.strip() for line in pinned.read_text().splitlines() if line.strip()]
    assert lines[0] == "protobuf 3.19.*", lines  # the user's own pin is kept, first
    assert "tensorflow ==2.10.0" in lines, lines
    assert len(lines) == len(set(lines)), lines
    before = conda_cli.installed(env)

    install = conda_cli("install", "-y", "-p", str(env), *KERAS_FROM_ANACONDA)

    assert install.returncode != 0, install  # unsolvable with the pins, or blocked
    assert conda_cli.installed(env) == before
    assert conda_cli.versions(env)["tensorflow"] == "2.10.0"


# --------------------------------------------------------------------------- 7. lock files
def _explicit_file(conda_cli, tmp_path, tf_version: str) -> str:
    ch = conda_cli.channel
    stack = [
        ch.get("pkgs/main", "python", "3.9.18"),
        ch.get("pkgs/main", "numpy", "1.23.5", "py39h0_0"),
        ch.get("pkgs/main", "h5py", "3.7.0"),
        ch.get("pkgs/main", "protobuf", "3.19.6"),
        ch.get("pkgs/main", "tensorflow-base", tf_version),
        ch.get("pkgs/main", "tensorflow", tf_version),
        ch.get("anaconda", "keras", "2.4.3"),  # the broken part
    ]
    path = tmp_path / f"explicit-tf{tf_version}.txt"
    path.write_text(ch.explicit(stack))
    return str(path)


@needs_transaction_actions
def test_lock_file_pairing_tf_2_10_with_keras_2_4_is_blocked(conda_cli, tmp_path):
    """tensorflow-base 2.10.0's own depends say keras >=2.10,<2.11."""
    env = conda_cli.prefix("locked")

    result = conda_cli("create", "-y", "-p", str(env), "--file", _explicit_file(conda_cli, tmp_path, "2.10.0"))

    assert result.returncode != 0, result
    assert "[keras-mismatch]" in result.output, result
    assert conda_cli.installed(env) == {}


@needs_transaction_actions
def test_lock_file_pairing_tf_2_11_with_keras_2_4_is_blocked(conda_cli, tmp_path):
    """The same lock-file path for a TensorFlow the knowledge base has facts for."""
    env = conda_cli.prefix("locked")

    result = conda_cli("create", "-y", "-p", str(env), "--file", _explicit_file(conda_cli, tmp_path, "2.11.0"))

    assert result.returncode != 0, result
    assert "TfguardBlocked" in result.stderr, result
    assert "[keras-mismatch]" in result.output, result
    assert conda_cli.installed(env) == {}


# --------------------------------------------------------------------------- 7b. real records
# Lock files of the records conda-forge and Anaconda really published (tests/records, with
# their full depends): a conda build is judged by what its channel built, not by PyPI.
def _lock(ch, tmp_path, name: str, *packages: tuple) -> str:
    path = tmp_path / f"{name}.txt"
    path.write_text(ch.explicit([ch.get(*p) for p in packages]))
    return str(path)


CF_TF210_CPU = (("conda-forge", "tensorflow", "2.10.0", "cpu_py310hd1aba9c_0"),
                ("conda-forge", "tensorflow-base", "2.10.0", "cpu_py310hc537a0e_0"),
                ("conda-forge", "tensorflow-estimator", "2.10.0", "cpu_py310had6d012_0"),
                ("conda-forge", "python", "3.10.13"), ("conda-forge", "numpy", "1.23.5"),
                ("conda-forge", "keras", "2.10.0"), ("conda-forge", "h5py", "3.7.0"))
DEFAULTS_TF241_GPU = (("pkgs/main", "tensorflow", "2.4.1", "gpu_py39h8236f22_0"),
                      ("pkgs/main", "tensorflow-base", "2.4.1", "gpu_py39h29c2da4_0"),
                      ("pkgs/main", "tensorflow-gpu", "2.4.1"), ("pkgs/main", "_tflow_select", "2.1.0"),
                      ("pkgs/main", "python", "3.9.18"), ("pkgs/main", "cudatoolkit", "10.1.243"),
                      ("pkgs/main", "cudnn", "7.6.5"))


@needs_transaction_actions
def test_a_lock_of_conda_forge_2_10_with_protobuf_4_21_installs_without_a_word(conda_cli, real_records_channel, tmp_path):
    env = conda_cli.prefix("cf210")
    lock = _lock(real_records_channel, tmp_path, "cf210", *CF_TF210_CPU, ("conda-forge", "protobuf", "4.21.12"))

    result = conda_cli("create", "-y", "-p", str(env), "--file", lock)

    assert result.returncode == 0, result
    assert not result.tfguard_lines(), result
    assert conda_cli.versions(env)["protobuf"] == "4.21.12"
    status = conda_cli("tfguard", "status", "-p", str(env))
    assert status.returncode == 0 and "Verdict: OK" in status.stdout, status


@needs_transaction_actions
def test_a_lock_of_anacondas_2_4_1_gpu_py39_build_with_cuda_10_1_installs(conda_cli, real_records_channel, tmp_path):
    env = conda_cli.prefix("d241")
    lock = _lock(real_records_channel, tmp_path, "d241", *DEFAULTS_TF241_GPU, ("pkgs/main", "numpy", "1.19.2"))

    result = conda_cli("create", "-y", "-p", str(env), "--file", lock, env={"CONDA_OVERRIDE_CUDA": "11.2"})

    assert result.returncode == 0, result
    assert not rules_in(result.output), result
    assert conda_cli.versions(env)["tensorflow-base"] == "2.4.1"


@needs_transaction_actions
def test_the_same_build_with_numpy_2_is_blocked(conda_cli, real_records_channel, tmp_path):
    env = conda_cli.prefix("d241np2")
    lock = _lock(real_records_channel, tmp_path, "d241np2", *DEFAULTS_TF241_GPU, ("pkgs/main", "numpy", "2.0.1"))

    result = conda_cli("create", "-y", "-p", str(env), "--file", lock, env={"CONDA_OVERRIDE_CUDA": "11.2"})

    assert result.returncode != 0, result
    assert "TfguardBlocked" in result.stderr and "[numpy-abi]" in result.output, result
    assert conda_cli.installed(env) == {}


@needs_transaction_actions
def test_a_lock_of_an_uncapped_pre_numpy_2_record_with_numpy_2_is_blocked(conda_cli, real_records_channel, tmp_path):
    """conda-forge's tensorflow-base 2.4.1 (2021) depends on `numpy >=1.19`: no word about numpy 2."""
    env = conda_cli.prefix("cf241np2")
    lock = _lock(real_records_channel, tmp_path, "cf241np2", ("conda-forge", "tensorflow-base", "2.4.1"),
                 ("conda-forge", "python", "3.9.18"), ("conda-forge", "numpy", "2.0.2"))

    result = conda_cli("create", "-y", "-p", str(env), "--file", lock)

    assert result.returncode != 0, result
    assert "[numpy-abi]" in result.output, result
    assert conda_cli.installed(env) == {}


# --------------------------------------------------------------------------- 8. conda doctor
def test_doctor_runs_the_tfguard_check_cleanly(conda_cli):
    env = make_seed_env(conda_cli)

    result = conda_cli("doctor", "-p", str(env))

    assert result.returncode == 0, result
    assert "Traceback" not in result.output, result
    assert "ERROR REPORT" not in result.output, result
    assert result.tfguard_lines("stdout"), result


def test_conda_tfguard_check_takes_specs_after_options_and_needs_no_env(conda_cli):
    # No environment is active and the root prefix is empty: check is a pure what-if.
    result = conda_cli("tfguard", "check", "tensorflow=2.15.0", "--driver", "470.82.01", "cuda-version=12.2",
                       "python=3.11")
    assert result.returncode == 1, result
    assert result.stdout.startswith("tfguard BLOCK [driver-too-old]"), result


# --------------------------------------------------------------------------- the GPU, through the overrides
GPU_STACK = ("-c", "conda-forge", "--override-channels", "python=3.11", "tensorflow=2.15.0=cuda*",
             "keras=2.15.0", "cuda-version=12.2")


def test_a_cuda_12_build_on_a_driver_too_old_for_it_is_blocked(conda_cli):
    env = conda_cli.prefix("gpu")
    machine = {"CONDA_OVERRIDE_CUDA": "12.2", "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION": "470.82.01"}
    blocked = conda_cli("create", "-y", "-p", str(env), *GPU_STACK, env=machine)
    assert blocked.returncode != 0 and "TfguardBlocked" in blocked.output, blocked
    assert "[driver-too-old]" in blocked.output and "535.54.03" in blocked.output, blocked
    assert not conda_cli.installed(env), "the environment must not be created"


def test_the_same_build_on_a_new_enough_driver_says_nothing(conda_cli):
    env = conda_cli.prefix("gpu")
    machine = {"CONDA_OVERRIDE_CUDA": "12.4", "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION": "550.54.14"}
    created = conda_cli("create", "-y", "-p", str(env), *GPU_STACK, env=machine)
    assert created.returncode == 0, created
    assert not created.tfguard_lines(), created
    assert conda_cli.installed(env)["tensorflow"].build.startswith("cuda120"), created
