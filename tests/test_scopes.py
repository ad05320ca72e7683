"""Two scopes of fact: the wheels' facts judge wheels; a conda build is judged by itself.

Cases come from issue 8 (a new user's run over real environment files) and use the
depends of real published records (tests/records, /work/shared/real-channel-records):
a guard that blocks a working conda environment gets uninstalled.
"""

from __future__ import annotations

import pytest

from conda_tfguard.findings import GpuFacts
from helpers import findings_for, pkgs, rules_of, with_depends

# conda-forge tensorflow-base-2.10.0-cpu_py310hc537a0e_0 (regro/libcfgraph @ 65a852f8), the part the rules read
CF_TF210_BASE_DEPENDS = (
    "h5py >=2.9.0", "keras >=2.10,<2.11", "libprotobuf >=3.21.6,<3.22.0a0", "numpy >=1.21.6,<2.0a0",
    "protobuf >=3.9.2", "python >=3.10,<3.11.0a0", "tensorboard >=2.10,<2.11",
)


def cf_tf210(*others: str):
    base = with_depends(pkgs("conda-forge::tensorflow-base=2.10.0=cpu_py310hc537a0e_0")[0], *CF_TF210_BASE_DEPENDS)
    tf = with_depends(pkgs("conda-forge::tensorflow=2.10.0=cpu_py310hd1aba9c_0")[0],
                      "python >=3.10,<3.11.0a0", "tensorflow-base 2.10.0 cpu_py310hc537a0e_0")
    return (tf, base, *pkgs("conda-forge::python=3.10.13=hd12c33a_0", "conda-forge::keras=2.10.0=pyhd8ed1ab_0",
                            "conda-forge::h5py=3.7.0=nompi_py310h416281c_102", *others))


def test_conda_forge_210_with_protobuf_421_is_silent():
    # libprotobuf 3.21 pairs with Python protobuf 4.21: the wheel's `protobuf <3.20` is not this build's
    found = findings_for(cf_tf210("conda-forge::protobuf=4.21.12=py310heca2aa9_0", "conda-forge::numpy=1.23.5=py310h53a5b5f_0"))
    assert found == ()


def test_a_conda_forge_spec_without_a_build_is_judged_by_what_conda_forge_built():
    # `check conda-forge::tensorflow=2.10.0 ... conda-forge::protobuf=4.21.12` (issue 8): no PyPI warning
    found = findings_for(pkgs("conda-forge::tensorflow=2.10.0", "conda-forge::protobuf=4.21.12",
                              "conda-forge::python=3.10.13", "conda-forge::keras=2.10.0"))
    assert "protobuf-range" not in rules_of(found)
    assert not any("protobuf>=3.9.2,<3.20" in f.fix for f in found)


def test_the_same_release_as_a_wheel_is_judged_by_the_wheel():
    found = findings_for(pkgs("tensorflow=2.10.0", "protobuf=4.21.12", "python=3.10.13", "keras=2.10.0"))
    assert rules_of(found)["protobuf-range"] in ("warn", "block")


def test_numpy_2_under_a_record_capped_below_2_is_blocked():
    found = findings_for(cf_tf210("conda-forge::protobuf=4.21.12=py310heca2aa9_0", "conda-forge::numpy=2.0.2=py310h0_0"))
    assert rules_of(found)["numpy-abi"] == "block"


@pytest.mark.parametrize("numpy_spec, severity", [
    (">=1.20", "block"),            # written before numpy 2 existed: no word on it, the break applies
    (">=1.19.2", "block"),
    (">=1.21.6,<3", None),          # a record built against numpy 2 says so with an upper bound
    (">=1.23.5,<2.3", None),
])
def test_an_open_ended_depends_is_no_evidence_against_the_numpy_2_break(numpy_spec, severity):
    base = with_depends(pkgs("conda-forge::tensorflow-base=2.11.0=cpu_py310h9fe5a9a_1")[0],
                        f"numpy {numpy_spec}", "python >=3.10,<3.11.0a0", "keras >=2.11,<2.12")
    found = findings_for((base, *pkgs("conda-forge::numpy=2.1.3=py310h0_0", "conda-forge::python=3.10.13=h0_0",
                                      "conda-forge::keras=2.11.0=pyhd8ed1ab_0")))
    assert rules_of(found).get("numpy-abi") == severity


def test_the_keras_line_holds_for_any_build():
    base = with_depends(pkgs("defaults::tensorflow-base=2.10.0=mkl_py39h0_0")[0], "python >=3.9,<3.10.0a0")
    found = findings_for((base, *pkgs("anaconda::keras=2.3.1=py39h0_0", "defaults::python=3.9.18=h0_0")))
    assert rules_of(found)["keras-mismatch"] == "block"


def test_a_build_string_names_the_python_it_was_made_for():
    found = findings_for(pkgs("defaults::tensorflow=2.4.1=gpu_py39h8236f22_0", "defaults::python=3.8.18=h0_0"))
    [finding] = [f for f in found if f.rule == "python-unsupported"]
    assert finding.severity == "block" and "3.9" in finding.message


def test_a_conda_build_with_no_facts_is_unknown_not_judged_by_the_wheels():
    # a channel the knowledge base knows nothing of: no Python / protobuf block from PyPI facts
    found = findings_for(pkgs("esri::tensorflow=2.4.1", "python=3.9.18", "esri::protobuf=4.21.12"))
    assert "python-unsupported" not in rules_of(found) and "protobuf-range" not in rules_of(found)
    assert rules_of(found).get("unknown") == "info"


# --------------------------------------------------------------------------- pip over conda
def test_pip_tensorflow_over_a_conda_one_is_the_one_judged():
    # issue 8: pip's TF 2.9.3 over conda's tensorflow-gpu 2.4.1; numpy and CUDA judged against 2.9.3
    stack = pkgs("defaults::tensorflow-gpu=2.4.1=h30adc30_0", "defaults::tensorflow=2.4.1=gpu_py39h8236f22_0",
                 "defaults::tensorflow-base=2.4.1=gpu_py39h29c2da4_0", "defaults::cudatoolkit=10.1.243=h6bb024c_0",
                 "defaults::cudnn=7.6.5=cuda10.1_0", "defaults::numpy=1.19.2=py39h89c1606_0",
                 "defaults::python=3.9.18=h0_0", "pypi::tensorflow=2.9.3", "pypi::numpy=1.23.5",
                 "pypi::keras=2.9.0")
    found = findings_for(stack)
    shadow = [f for f in found if f.rule == "pip-shadow" and f.packages[0].startswith("tensorflow 2.9.3")]
    assert shadow and shadow[0].severity == "warn"
    # numpy 1.23.5 (pip's, the one imported) fits 2.9.3: nothing about numpy 1.19.2 under 2.9.3
    assert not any(f.rule.startswith("numpy") and f.severity != "info" for f in found)
    # what is said of the shadowed conda 2.4.1 is info, and says so
    for f in found:
        if any(p.startswith("tensorflow 2.4.1") for p in f.packages) and f.rule not in ("pip-shadow", "channel-mix"):
            assert f.severity == "info" and "shadowed" in f.message, f


# --------------------------------------------------------------------------- channels in fixes
def test_a_fix_never_names_a_channel_unknown_to_carry_the_package():
    found = findings_for(pkgs("esri::tensorflow=2.4.1", "numpy=2.0.0", "python=3.8.18"))
    assert found and all("-c esri" not in f.fix and "esri::" not in f.fix for f in found)


def test_channel_mix_covers_numpy_and_python_too():
    found = findings_for(pkgs("conda-forge::tensorflow=2.15.0=cpu_py311h0_0", "conda-forge::keras=2.15.0=pyh0_0",
                              "defaults::numpy=1.26.4=py311h0_0", "defaults::python=3.11.9=h0_0"))
    [finding] = [f for f in found if f.rule == "channel-mix"]
    assert "defaults: numpy, python" in finding.message and finding.severity == "warn"


# --------------------------------------------------------------------------- unknown releases
@pytest.mark.parametrize("version", ["2.99.0", "0.5.0"])
def test_a_release_the_knowledge_base_does_not_know_is_never_a_silent_ok(version):
    found = findings_for(pkgs(f"tensorflow={version}", "python=3.12"))
    assert rules_of(found).get("unknown") == "warn"


# --------------------------------------------------------------------------- pip wheels and their CUDA
def test_nvidia_wheels_beside_a_tensorflow_that_does_not_load_them_are_not_its_cuda():
    # corpus 32: pip TF 2.7 beside PyTorch's nvidia-*-cu12 wheels (only 2.14+ load nvidia-* wheels)
    found = findings_for(pkgs("pypi::tensorflow=2.7.0", "pypi::nvidia-cuda-runtime-cu12=12.1.105",
                              "pypi::nvidia-cudnn-cu12=8.9.2.26", "defaults::cudatoolkit=10.1.243=h6bb024c_0",
                              "defaults::cudnn=7.6.5=cuda10.1_0", "defaults::_tflow_select=2.1.0=gpu",
                              "python=3.9.18"), gpu=GpuFacts(driver_version="535.104.05"))
    assert "block" not in {f.severity for f in found}, found
    assert not any("nvidia-cuda-runtime-cu12" in f.message for f in found)
    assert rules_of(found)["cuda-mismatch"] == "warn"  # it runs, on the CPU: conda's CUDA 10.1 is not 11.2


def test_a_pip_tensorflow_whose_metadata_admits_a_known_break_is_a_warning():
    # corpus 47: `tensorflow ==2.6` from pip with nothing pinning keras: pip takes keras 2.7+
    found = findings_for(pkgs("pypi::tensorflow=2.6", "python=3.9.18"))
    [finding] = [f for f in found if f.rule == "keras-mismatch"]
    assert finding.severity == "warn" and "nothing pins keras" in finding.message
    assert finding.fix == 'python -m pip install "keras~=2.6,<2.7"'
    # pinned to a fitting keras, nothing to say about keras
    assert "keras-mismatch" not in rules_of(findings_for(pkgs("pypi::tensorflow=2.6", "pypi::keras=2.6.0", "python=3.9.18")))


def test_status_of_a_record_from_a_custom_channel_url_names_no_channel_in_its_fixes(capsys, tmp_path):
    import json

    from conda_tfguard.__main__ import main
    from helpers import make_prefix

    mirror = "https://conda.example.org/team/tf-builds/linux-64"
    prefix = make_prefix(tmp_path / "env", [
        ("python", "3.11.9", "h0_0", mirror, []),
        ("tensorflow-base", "2.14.0", "cpu_py311h0_0", mirror, ["numpy >=1.23.5", "python >=3.11,<3.12.0a0"]),
        ("tensorflow", "2.14.0", "cpu_py311h0_0", mirror, ["tensorflow-base 2.14.0 cpu_py311h0_0"]),
        ("numpy", "2.0.2", "py311h0_0", mirror, []),
    ])
    assert main(["status", "-p", str(prefix), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "block"  # numpy 2 under a numpy-1 build, whatever channel built it
    assert all("tf-builds" not in f["fix"] and "-c " not in f["fix"] for f in data["findings"]), data["findings"]


# --------------------------------------------------------------------------- review regressions
def test_an_environment_files_conda_entry_is_a_conda_build_of_unknown_channel(tmp_path, capsys):
    # `channels: [defaults]`, `tensorflow=2.4.1`, `python=3.9`: defaults built 2.4.1 for 3.9 (the wheels stop at 3.8)
    import json

    from conda_tfguard.__main__ import main

    env = tmp_path / "environment.yml"
    env.write_text("channels: [defaults]\ndependencies:\n  - python=3.9\n  - tensorflow=2.4.1\n")
    assert main(["check", "-f", str(env), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] != "block" and "python-unsupported" not in {f["rule"] for f in data["findings"]}


def test_a_tensorflow_the_knowledge_base_does_not_know_with_its_own_depends_excluding_numpy_does_not_crash():
    tf = with_depends(pkgs("conda-forge::tensorflow=2.22.0=cpu_py312h0_0")[0], "numpy >=1.26,<2.0a0")
    found = findings_for((tf, *pkgs("conda-forge::numpy=1.26.4=py312h0_0", "pypi::numpy=2.1.0", "python=3.12")))
    assert rules_of(found)["unknown"] == "warn"


def test_a_driver_too_old_for_a_cuda_a_pip_tensorflow_only_sits_beside_is_a_warning():
    found = findings_for(pkgs("pypi::tensorflow=2.13.1", "conda-forge::cuda-version=12.1=h0_0", "python=3.11"),
                         gpu=GpuFacts(cuda_driver="11.4", origin="__cuda"))
    assert rules_of(found).get("driver-too-old") == "warn"


def test_every_spec_a_record_puts_on_a_package_counts():
    # tensorflow says a bare `numpy`, tensorflow-base `numpy >=1.22,<2.0a0`: numpy 2 is still excluded
    tf = with_depends(pkgs("conda-forge::tensorflow=2.13.1=cpu_py311h0_0")[0], "numpy")
    base = with_depends(pkgs("conda-forge::tensorflow-base=2.13.1=cpu_py311h0_0")[0], "numpy >=1.22,<2.0a0",
                        "numpy >=1.23.5,<2.0a0", "python >=3.11,<3.12.0a0")
    found = findings_for((tf, base, *pkgs("conda-forge::numpy=2.0.2=py311h0_0", "conda-forge::python=3.11.9=h0_0")))
    assert rules_of(found)["numpy-abi"] == "block"
    found = findings_for((tf, base, *pkgs("conda-forge::numpy=1.22.4=py311h0_0", "conda-forge::python=3.11.9=h0_0")))
    assert rules_of(found).get("numpy-range") == "warn"  # outside the second spec: conda would not pair them


def test_anaconda_beside_defaults_is_not_a_channel_mix():
    found = findings_for(pkgs("anaconda::tensorflow=2.10.0=mkl_py39h0_0", "defaults::numpy=1.23.5=py39h0_0",
                              "defaults::python=3.9.18=h0_0"))
    assert "channel-mix" not in rules_of(found)
