"""Every rule, table-driven, with cases drawn from real user reports.

Each case names the report it comes from (URL in the id or a comment). The assertions
are what a user would see: which rule fires, how severe, and what it says to run.
"""

from __future__ import annotations

import pytest

from conda_tfguard.findings import Gpu, GpuFacts
from helpers import asked, findings_for, pkgs, rules_of, with_depends

SEED_KERAS = "shared/seeds: conda install -c anaconda keras downgrades TF 2.10"
NUMPY2_TF214 = "https://github.com/tensorflow/tensorflow/issues/102743"
KERAS_TF25 = "https://github.com/tensorflow/tensorflow/issues/49172"
GPU_TO_MKL = "https://github.com/ContinuumIO/anaconda-issues/issues/13063"
CUDNN_OLDER = "https://github.com/NVIDIA/tensorflow/issues/83"
PROTOBUF4 = "https://github.com/tensorflow/tensorflow/issues/56266"
PY312 = "https://github.com/tensorflow/tensorflow/issues/62054"
WIN_NO_GPU = "https://github.com/tensorflow/tensorflow/issues/60237"
DRIVER_OLD = "https://github.com/tensorflow/tensorflow/issues/21832"
MIXED_CHANNELS = "https://github.com/conda/conda/issues/7467"
PIP_OVER_CONDA = "https://github.com/tensorflow/tensorflow/pull/5856"


# --------------------------------------------------------------------------- requirements
REQUIREMENT_CASES = [
    # (id, packages, rule, expected severity or None for "this rule stays silent")
    (SEED_KERAS + " (tf 2.10 + keras 2.3.1)", ["tensorflow=2.10.0", "keras=2.3.1", "python=3.9"], "keras-mismatch", "block"),
    ("keras 3 beside tf 2.15, outside its declared line and never observed", ["tensorflow=2.15.0", "keras=3.1.1", "python=3.11"], "keras-mismatch", "block"),
    ("keras 3.0.5 beside tf 2.15.0: outside the declared line, observed working", ["tensorflow=2.15.0", "keras=3.0.5", "python=3.11"], "keras-mismatch", "info"),
    ("tf 2.16 is made for keras 3", ["tensorflow=2.16.1", "keras=3.0.5", "python=3.11"], "keras-mismatch", None),
    ("keras 2 beside tf 2.16", ["tensorflow=2.16.1", "keras=2.15.0", "python=3.11"], "keras-mismatch", "block"),
    ("same-minor keras is fine", ["tensorflow=2.13.0", "keras=2.13.1", "python=3.11"], "keras-mismatch", None),
    ("https://github.com/keras-team/tf-keras/pull/759 tf-keras 2.15 beside tf 2.16",
     ["tensorflow=2.16.1", "keras=3.3.3", "tf-keras=2.15.0", "python=3.11"], "keras-mismatch", "block"),
    ("pip's keras is judged too", ["tensorflow=2.13.0", "pypi::keras=2.3.1", "python=3.11"], "keras-mismatch", "block"),
    (NUMPY2_TF214 + " (tf 2.14.0 + numpy 2)", ["tensorflow=2.14.0", "numpy=2.0.0", "python=3.11"], "numpy-abi", "block"),
    ("tf 2.14.1 with numpy 1.26", ["tensorflow=2.14.1", "numpy=1.26.4", "python=3.11"], "numpy-abi", None),
    ("tf 2.18 is the first built for numpy 2", ["tensorflow=2.18.0", "numpy=2.0.2", "python=3.11"], "numpy-abi", None),
    ("tf 2.13 declares numpy<=1.24.3", ["tensorflow=2.13.0", "numpy=1.25.2", "python=3.11"], "numpy-range", "warn"),
    (PROTOBUF4 + " (tf 2.11 wheels under protobuf 4.21: observed failing)", ["tensorflow=2.11.0", "protobuf=4.21.1", "python=3.10"], "protobuf-range", "block"),
    ("tf 2.11 declares protobuf<3.20; 3.20.3 is outside, not known to break", ["tensorflow=2.11.0", "protobuf=3.20.3", "python=3.10"], "protobuf-range", "warn"),
    ("tf 2.12 excludes protobuf 4.21.3", ["tensorflow=2.12.0", "protobuf=4.21.3", "python=3.10"], "protobuf-range", "warn"),
    ("tf 2.16 declares h5py>=3.10", ["tensorflow=2.16.1", "h5py=3.9.0", "python=3.11"], "h5py-range", "warn"),
]


@pytest.mark.parametrize("case, specs, rule, severity", REQUIREMENT_CASES, ids=[c[0] for c in REQUIREMENT_CASES])
def test_requirement_rules(case, specs, rule, severity):
    found = rules_of(findings_for(pkgs(*specs)))
    assert found.get(rule) == severity


def test_numpy_abi_block_says_why_and_what_to_run():
    [finding] = [f for f in findings_for(pkgs("tensorflow=2.14.0", "numpy=2.0.0", "python=3.11"))
                 if f.rule == "numpy-abi"]
    assert "numpy 2.0.0" in finding.message and "2.14.0" in finding.message
    assert finding.fix.startswith("conda install") and '<2"' in finding.fix and "tensorflow=2.14.0" in finding.fix
    assert finding.source.startswith("https://")


def test_keras_the_user_asked_for_moves_tensorflow_instead():
    # The user explicitly asked for keras 3 beside tf 2.15: the fix keeps keras 3 and
    # moves TensorFlow to a line made for it, rather than undoing the user's request.
    findings = findings_for(pkgs("tensorflow=2.15.0", "keras=3.1.1", "python=3.11"), requested=asked("keras=3.1.1"))
    [finding] = [f for f in findings if f.rule == "keras-mismatch"]
    assert '"tensorflow>=2.16"' in finding.fix and "keras=3.1.1" in finding.fix


def test_a_channel_build_is_judged_by_its_own_depends():
    # conda-forge rebuilt TF against numpy 2: its record's depends are the truth for it.
    tf = with_depends(pkgs("conda-forge::tensorflow-base=2.17.0=cpu_py311h0_0")[0], "numpy >=1.23.5,<3", "python >=3.11,<3.12.0a0")
    found = rules_of(findings_for((tf, *pkgs("conda-forge::numpy=2.1.0=py311h0_0", "conda-forge::python=3.11.9=h0_0"))))
    assert "numpy-abi" not in found and "python-unsupported" not in found


# --------------------------------------------------------------------------- python
PYTHON_CASES = [
    (PY312 + " (tf 2.15 has no cp312 wheels)", ["tensorflow=2.15.0", "python=3.12.4"], "block"),
    ("tf 2.16 has cp312 wheels", ["tensorflow=2.16.1", "python=3.12.4"], None),
    ("tf 2.21 dropped python 3.9", ["tensorflow=2.21.0", "python=3.9.18"], "block"),
    ("conda-forge built tf 2.16 for 3.12", ["conda-forge::tensorflow=2.16.2=cpu_py312h0_0", "python=3.12.4"], None),
    ("conda-forge built tf 2.14 only up to 3.11", ["conda-forge::tensorflow=2.14.0", "python=3.12.4"], "block"),
    ("a build string names its Python (real conda-forge record)",
     ["conda-forge::tensorflow=2.14.0=cpu_py311h4b67847_0", "python=3.12.4"], "block"),
    ("defaults built 2.4.1 GPU for py39, though the wheels stop at 3.8",
     ["defaults::tensorflow=2.4.1=gpu_py39h8236f22_0", "python=3.9.18"], None),
]


@pytest.mark.parametrize("case, specs, severity", PYTHON_CASES, ids=[c[0] for c in PYTHON_CASES])
def test_python_unsupported(case, specs, severity):
    assert rules_of(findings_for(pkgs(*specs))).get("python-unsupported") == severity


def test_python_unsupported_fix_names_a_python_that_works():
    [finding] = [f for f in findings_for(pkgs("tensorflow=2.15.0", "python=3.12.4")) if f.rule == "python-unsupported"]
    assert "3.9, 3.10, 3.11" in finding.message
    assert finding.fix == "conda install python=3.11 tensorflow=2.15.0"


# --------------------------------------------------------------------------- downgrades
SEED_BEFORE = pkgs(
    "defaults::tensorflow=2.10.0=mkl_py39h0_0", "defaults::tensorflow-base=2.10.0=mkl_py39h0_0",
    "defaults::keras=2.10.0=py39h0_0", "defaults::numpy=1.23.5=py39h0_0", "defaults::h5py=3.7.0=py39h0_0",
    "defaults::python=3.9.18=h0_0",
)
SEED_AFTER = pkgs(
    "anaconda::tensorflow=2.3.0=mkl_py39h0_0", "anaconda::tensorflow-base=2.3.0=mkl_py39h0_0",
    "anaconda::keras=2.4.3=py39h0_0", "anaconda::numpy=1.18.5=py39h0_0", "anaconda::h5py=2.10.0=py39h0_0",
    "defaults::python=3.9.18=h0_0",
)


def test_keras_from_anaconda_downgrading_tf_is_blocked():
    findings = findings_for(SEED_AFTER, before=SEED_BEFORE, requested=asked("keras"))
    [finding] = [f for f in findings if f.rule == "tf-downgrade"]
    assert finding.severity == "block"
    assert "tensorflow 2.10.0 (defaults) → 2.3.0 (anaconda)" in finding.packages
    assert "numpy 1.23.5 (defaults) → 1.18.5 (anaconda)" in finding.packages
    # The safe command keeps TensorFlow and asks for the keras that fits it, without -c anaconda.
    assert finding.fix.startswith("conda install ")
    assert "tensorflow=2.10.0" in finding.fix and '"keras>=2.10.0,<2.11"' in finding.fix
    assert "anaconda" not in finding.fix


def test_an_explicit_older_tensorflow_covers_its_family():
    before = SEED_BEFORE
    after = pkgs("defaults::tensorflow=2.9.1=mkl_py39h0_0", "defaults::tensorflow-base=2.9.1=mkl_py39h0_0",
                 "defaults::keras=2.9.0=py39h0_0", "defaults::numpy=1.23.5=py39h0_0", "defaults::h5py=3.7.0=py39h0_0",
                 "defaults::python=3.9.18=h0_0")
    assert "tf-downgrade" not in rules_of(findings_for(after, before=before, requested=asked("tensorflow=2.9.1")))
    # ...and the same move that nobody asked for is stopped.
    assert rules_of(findings_for(after, before=before, requested=asked("scipy"))).get("tf-downgrade") == "block"


def test_gpu_build_swapped_for_mkl_on_update_is_blocked():  # GPU_TO_MKL
    before = pkgs("anaconda::tensorflow=2.9.1=gpu_py310h5ade2b3_0", "anaconda::tensorflow-base=2.9.1=gpu_py310h9761872_0")
    after = pkgs("anaconda::tensorflow=2.9.1=mkl_py310h0b323c9_0", "anaconda::tensorflow-base=2.9.1=mkl_py310h6a7f48e_0")
    [finding] = [f for f in findings_for(after, before=before, requested=asked("tensorflow")) if f.rule == "tf-downgrade"]
    assert finding.severity == "block" and "GPU build to a CPU build" in finding.message
    assert "gpu_py310h5ade2b3_0" in finding.fix


def test_an_upgrade_is_not_a_downgrade():
    before = pkgs("conda-forge::tensorflow=2.15.0=cpu_py311h0_0", "conda-forge::keras=2.15.0=pyhd8ed1ab_0")
    after = pkgs("conda-forge::tensorflow=2.16.2=cpu_py311h0_0", "conda-forge::keras=3.3.3=pyhd8ed1ab_0")
    assert "tf-downgrade" not in rules_of(findings_for(after, before=before))


# --------------------------------------------------------------------------- CUDA / cuDNN
CUDA_CASES = [
    ("upstream 2.15 is built for CUDA 12.2: 11.8 is another major", ["tensorflow=2.15.0", "cuda-version=11.8"], "block"),
    ("upstream 2.15 with CUDA 12.4: same major, other minor", ["tensorflow=2.15.0", "cuda-version=12.4"], "warn"),
    ("upstream 2.15 with its own CUDA 12.2", ["tensorflow=2.15.0", "cuda-version=12.2"], None),
    ("conda-forge cuda120 build with cuda-version 12.4", ["conda-forge::tensorflow=2.15.0=cuda120py311h0_0", "cuda-version=12.4"], None),
    ("conda-forge cuda118 build with cuda-version 12.0", ["conda-forge::tensorflow=2.14.0=cuda118py311h0_0", "cuda-version=12.0"], "block"),
    ("a CPU build does not care about cudatoolkit", ["conda-forge::tensorflow=2.15.0=cpu_py311h0_0", "cudatoolkit=11.8.0"], None),
    (CUDNN_OLDER + " (cuDNN older than built with)", ["tensorflow=2.15.0", "cuda-version=12.2", "cudnn=8.6.0"], "block"),
    ("a newer cuDNN minor is backward compatible", ["tensorflow=2.15.0", "cuda-version=12.2", "cudnn=8.9.7"], None),
    ("cuDNN 9 under a cuDNN 8 build", ["tensorflow=2.15.0", "cuda-version=12.2", "cudnn=9.1.0"], "block"),
]


@pytest.mark.parametrize("case, specs, severity", CUDA_CASES, ids=[c[0] for c in CUDA_CASES])
def test_cuda_mismatch(case, specs, severity):
    assert rules_of(findings_for(pkgs(*specs))).get("cuda-mismatch") == severity


def test_what_the_tensorflow_record_depends_on_is_not_a_finding():
    tf = with_depends(pkgs("defaults::tensorflow-base=2.9.1=gpu_py310h0_0")[0], "cudatoolkit >=11.3,<12", "cudnn >=8.2,<9")
    others = pkgs("defaults::cudatoolkit=11.3.1=h0_0", "defaults::cudnn=8.2.1=h0_0")
    assert "cuda-mismatch" not in rules_of(findings_for((tf, *others)))


# --------------------------------------------------------------------------- driver
def driver(version: str) -> GpuFacts:
    return GpuFacts(driver_version=version, origin="--driver")


DRIVER_CASES = [
    (DRIVER_OLD + " (driver 470 cannot run CUDA 12.2)", driver("470.82.01"), "block"),
    ("driver 550 runs CUDA 12.2", driver("550.54.14"), None),
    ("driver 530 runs 12.2 only by minor-version compatibility", driver("530.30.02"), "warn"),
    ("__cuda says 11.4", GpuFacts(cuda_driver="11.4", origin="__cuda"), "block"),
    ("__cuda says 12.0", GpuFacts(cuda_driver="12.0", origin="__cuda"), "warn"),
    ("__cuda says 12.4", GpuFacts(cuda_driver="12.4", origin="__cuda"), None),
    ("not probed", None, None),
]


@pytest.mark.parametrize("case, gpu, severity", DRIVER_CASES, ids=[c[0] for c in DRIVER_CASES])
def test_driver_too_old(case, gpu, severity):
    found = findings_for(pkgs("tensorflow=2.15.0", "keras=2.15.0", "cuda-version=12.2", "python=3.11"), gpu=gpu)
    assert rules_of(found).get("driver-too-old") == severity


def test_driver_block_names_the_driver_it_needs():
    [finding] = [f for f in findings_for(pkgs("tensorflow=2.15.0", "cuda-version=12.2"), gpu=driver("470.82.01"))
                 if f.rule == "driver-too-old"]
    assert "535.54.03" in finding.message and "470.82.01" in finding.message
    assert "CUDA 11.4" in finding.message  # what this driver does run
    assert "535.54.03" in finding.fix


def test_windows_drivers_are_judged_by_the_windows_column():
    found = findings_for(pkgs("tensorflow=2.15.0", "cuda-version=12.2"), gpu=driver("536.25"), platform="win-64")
    assert "driver-too-old" not in rules_of(found)
    found = findings_for(pkgs("tensorflow=2.15.0", "cuda-version=12.2"), gpu=driver("536.25"), platform="linux-64")
    assert "driver-too-old" not in rules_of(found)  # 536.25 >= 535.54.03 on Linux too


# --------------------------------------------------------------------------- GPU presence
NO_DRIVER = GpuFacts(reason="NVML: NVML Shared Library Not Found", origin="NVML")
A_DRIVER = GpuFacts(driver_version="550.54.14", cuda_driver="12.4", gpus=(Gpu("NVIDIA A10", 22731, "8.6"),), origin="NVML")


def test_gpu_build_without_a_driver_warns():
    found = findings_for(pkgs("conda-forge::tensorflow=2.15.0=cuda120py311h0_0", "cuda-version=12.2"), gpu=NO_DRIVER)
    assert rules_of(found).get("gpu-build-without-driver") == "warn"


def test_cpu_build_beside_a_working_gpu_warns_and_says_how_to_get_the_gpu_build():
    found = findings_for(pkgs("conda-forge::tensorflow=2.15.0=cpu_py311h0_0", "python=3.11.9"), gpu=A_DRIVER)
    [finding] = [f for f in found if f.rule == "gpu-build-without-driver"]
    assert finding.severity == "warn" and "12.0" in finding.message
    assert finding.fix == 'conda install -c conda-forge "tensorflow=2.15.0=cuda*"'


def test_cpu_build_without_gpu_says_nothing():
    assert not findings_for(pkgs("conda-forge::tensorflow=2.15.0=cpu_py311h0_0", "python=3.11.9"), gpu=NO_DRIVER)


def test_maxwell_gpu_has_no_kernels_from_tf_217():  # TF 2.17.0 release notes, the knowledge base's source
    maxwell = GpuFacts(driver_version="550.54.14", gpus=(Gpu("Tesla M60", 8192, "5.2"),))
    [finding] = [f for f in findings_for(pkgs("tensorflow=2.17.0", "cuda-version=12.3"), gpu=maxwell)
                 if f.rule == "compute-capability"]
    assert finding.severity == "warn" and "5.2" in finding.message and "2.16 was the last" in finding.message
    assert "compute-capability" not in rules_of(findings_for(pkgs("tensorflow=2.16.1", "cuda-version=12.3"), gpu=maxwell))
    assert "compute-capability" not in rules_of(findings_for(pkgs("tensorflow=2.17.0", "cuda-version=12.3"), gpu=A_DRIVER))


def test_native_windows_has_no_gpu_after_tf_210():  # WIN_NO_GPU
    found = findings_for(pkgs("tensorflow=2.15.0", "cudatoolkit=11.8.0"), platform="win-64")
    [finding] = [f for f in found if f.rule == "windows-native-gpu"]
    assert finding.severity == "warn" and "WSL2" in finding.fix
    assert "windows-native-gpu" not in rules_of(findings_for(pkgs("tensorflow=2.10.0", "cudatoolkit=11.2.2"), platform="win-64"))
    assert "windows-native-gpu" not in rules_of(findings_for(pkgs("tensorflow=2.15.0", "cudatoolkit=11.8.0"), platform="linux-64"))


# --------------------------------------------------------------------------- channels and pip
def test_channel_mix_names_which_package_comes_from_where():  # MIXED_CHANNELS
    found = findings_for(pkgs("defaults::tensorflow=2.10.0=mkl_py39h0_0", "anaconda::keras=2.10.0=py39h0_0",
                              "conda-forge::numpy=1.23.5=py39h0_0"))
    [finding] = [f for f in found if f.rule == "channel-mix"]
    assert finding.severity == "warn"
    assert "defaults: tensorflow" in finding.message and "anaconda: keras" in finding.message
    assert "conda-forge: numpy" in finding.message  # numpy is read by the rules too: its channel matters
    assert finding.fix == "conda install pkgs/main::keras pkgs/main::numpy"


def test_one_channel_is_not_a_mix():
    found = findings_for(pkgs("conda-forge::tensorflow=2.15.0=cpu_py311h0_0", "conda-forge::keras=2.15.0=pyh0_0"))
    assert "channel-mix" not in rules_of(found)


def test_pip_tensorflow_beside_conda_tensorflow_is_reported():  # PIP_OVER_CONDA
    found = findings_for(pkgs("conda-forge::tensorflow=2.15.0=cpu_py311h0_0", "pypi::tensorflow=2.16.1",
                              "conda-forge::numpy=1.26.4=py311h0_0", "pypi::numpy=2.0.0", "python=3.11"))
    shadows = [f for f in found if f.rule == "pip-shadow"]
    assert {f.packages[0] for f in shadows} == {"tensorflow 2.16.1 (pip)", "numpy 2.0.0 (pip)"}
    assert all(f.fix.startswith("python -m pip uninstall ") for f in shadows)


def test_pip_tensorflow_alone_is_not_a_shadow():
    assert "pip-shadow" not in rules_of(findings_for(pkgs("pypi::tensorflow=2.16.1", "python=3.11.9")))


# --------------------------------------------------------------------------- unknown
def test_tensorflow_newer_than_the_knowledge_base_is_unknown_not_guessed():
    found = findings_for(pkgs("tensorflow=2.99.0", "keras=2.3.1", "numpy=2.0.0"))
    assert [(f.rule, f.severity) for f in found] == [("unknown", "warn")]  # never a silent ok
    assert "newer than the knowledge base" in found[0].message
    assert "python -m conda_tfguard.knowledge refresh" in found[0].fix and "tfguard_knowledge_file" in found[0].fix


def test_unreadable_versions_are_unknown():
    found = findings_for(pkgs("tensorflow=custom", "numpy=1.26.4"))
    assert [(f.rule, f.severity) for f in found] == [("unknown", "info")]
    found = findings_for(pkgs("tensorflow=2.15.0", "numpy=banana"))
    assert ("unknown", "info") in [(f.rule, f.severity) for f in found]


def test_keras_newer_than_the_knowledge_base_is_reported_as_unknown():
    found = findings_for(pkgs("tensorflow=2.21.0", "keras=9.0.0", "python=3.12"))
    assert rules_of(found) == {"unknown": "info"}


def test_a_set_without_tensorflow_has_nothing_to_say():
    assert findings_for(pkgs("numpy=2.0.0", "keras=3.0.0", "python=3.13")) == ()


def test_findings_come_most_severe_first():
    found = findings_for(pkgs("defaults::tensorflow=2.15.0=mkl_py311h0_0", "anaconda::keras=3.0.5=py311h0_0",
                              "defaults::numpy=1.26.4=py311h0_0", "pypi::numpy=1.26.4", "defaults::python=3.11.9=h0_0"))
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=["block", "warn", "info"].index)
    assert severities[0] == "block"


# --------------------------------------------------------------------------- review regressions
# Healthy environments a reviewer built by hand; each was once judged wrongly.
def test_pip_tensorflow_cpu_beside_pytorchs_cuda_is_not_a_gpu_stack():
    found = findings_for(pkgs("pypi::tensorflow-cpu=2.15.0", "pypi::keras=2.15.0", "conda-forge::cudatoolkit=11.8.0=h0_0",
                              "python=3.11.9"), gpu=driver("535.104.05"))
    assert "cuda-mismatch" not in rules_of(found) and "driver-too-old" not in rules_of(found)


def test_pip_tensorflow_with_its_own_nvidia_wheels_is_judged_by_them():
    stack = pkgs("pypi::tensorflow=2.16.1", "pypi::keras=3.3.3", "pypi::nvidia-cuda-runtime-cu12=12.3.101",
                 "pypi::nvidia-cudnn-cu12=8.9.7.29", "conda-forge::cuda-version=11.8=h0_0", "python=3.11.9")
    found = findings_for(stack, gpu=driver("470.82.01"))
    assert "cuda-mismatch" not in rules_of(found)  # PyTorch's conda CUDA 11.8 is not what it loads
    assert rules_of(found)["driver-too-old"] == "block"  # its CUDA 12.3 wheels need a newer driver


def test_pip_tensorflow_beside_another_cuda_major_only_warns():
    found = findings_for(pkgs("pypi::tensorflow=2.16.1", "pypi::keras=3.3.3", "conda-forge::cuda-version=11.8=h0_0",
                              "python=3.11.9"))
    assert rules_of(found)["cuda-mismatch"] == "warn"


def test_a_conda_cpu_build_without_cuda_depends_ignores_cudatoolkit():
    tf = with_depends(pkgs("conda-forge::tensorflow-base=2.4.1=py38h0_0")[0], "python >=3.8,<3.9.0a0", "numpy >=1.19")
    assert "cuda-mismatch" not in rules_of(findings_for((tf, *pkgs("conda-forge::cudatoolkit=10.2.89=h0_0"))))


def test_native_windows_skips_the_cuda_rules_it_cannot_use():
    found = findings_for(pkgs("pypi::tensorflow=2.15.0", "pypi::keras=2.15.0", "cudatoolkit=11.2.2", "cudnn=8.1.0",
                              "python=3.10.11"), gpu=driver("470.82.01"), platform="win-64")
    assert set(rules_of(found)) == {"windows-native-gpu"}
    [finding] = found
    assert 'python -m pip install "tensorflow<2.11"' in finding.fix


def test_asking_for_the_cpu_build_is_not_an_unasked_swap():
    before = pkgs("conda-forge::tensorflow=2.16.2=cuda120py311h0_0")
    after = pkgs("conda-forge::tensorflow=2.16.2=cpu_py311h0_0")
    for request in ("tensorflow-cpu", "tensorflow=*=cpu*"):
        from conda_tfguard.specs import parse_request

        assert "tf-downgrade" not in rules_of(findings_for(after, before=before, requested=[parse_request(request)]))
    assert rules_of(findings_for(after, before=before, requested=asked("tensorflow")))["tf-downgrade"] == "block"


def test_fixes_for_pip_tensorflow_do_not_install_a_second_one_from_conda():
    found = findings_for(pkgs("pypi::tensorflow=2.15.1", "conda-forge::numpy=2.0.0=py311h0_0", "python=3.11.9"))
    [finding] = [f for f in found if f.rule == "numpy-abi"]
    assert finding.fix == 'conda install "numpy>=1.23.5,<2.0.0"'


def test_the_cuda_fix_names_cuda_version_for_cuda_12():
    found = findings_for(pkgs("tensorflow=2.15.0", "cudatoolkit=11.8.0"))
    [finding] = [f for f in found if f.rule == "cuda-mismatch"]
    assert finding.fix.startswith("conda install cuda-version=12.2")


def test_defaults_mkl_build_beside_a_gpu_suggests_the_gpu_build_of_its_own_naming():
    found = findings_for(pkgs("defaults::tensorflow=2.4.1=mkl_py38h0_0", "python=3.8.18"), gpu=A_DRIVER)
    [finding] = [f for f in found if f.rule == "gpu-build-without-driver"]
    assert finding.fix == 'conda install "tensorflow=2.4.1=gpu*"'  # defaults' 2.4 GPU builds are gpu_py*


def test_the_maxwell_warning_is_for_upstream_wheels_only():
    maxwell = GpuFacts(driver_version="550.54.14", gpus=(Gpu("Tesla M60", 8192, "5.2"),))
    found = findings_for(pkgs("conda-forge::tensorflow=2.17.0=cuda120py311h0_0", "cuda-version=12.4"), gpu=maxwell)
    assert "compute-capability" not in rules_of(found)


def test_an_aarch64_cpu_build_is_not_told_about_linux_64_gpu_builds():
    found = findings_for(pkgs("conda-forge::tensorflow=2.16.2=cpu_py311h0_0", "python=3.11.9"), gpu=A_DRIVER,
                         platform="linux-aarch64")
    assert "gpu-build-without-driver" not in rules_of(found)


def test_numpy_2_breaks_the_oldest_releases_too():
    assert rules_of(findings_for(pkgs("tensorflow=2.4.0", "numpy=2.0.0", "python=3.8")))["numpy-abi"] == "block"


def test_apple_and_windows_wheel_names_are_tensorflow_too():
    found = findings_for(pkgs("pypi::tensorflow-macos=2.12.0", "pypi::numpy=2.0.0", "python=3.11.9"))
    assert rules_of(found)["numpy-abi"] == "block"


# --------------------------------------------------------------------------- a new user's cases
def test_tf_keras_must_be_on_the_tensorflow_line():  # tf-keras X.Y's wheel pins tensorflow X.Y
    assert rules_of(findings_for(pkgs("tensorflow=2.17.0", "tf-keras=2.15.1", "python=3.11")))["keras-mismatch"] == "block"
    assert rules_of(findings_for(pkgs("tensorflow=2.16.1", "tf-keras=2.17.0", "python=3.12")))["keras-mismatch"] == "block"
    assert "keras-mismatch" not in rules_of(findings_for(pkgs("tensorflow=2.17.0", "tf-keras=2.17.0", "python=3.11")))


def test_a_package_the_release_has_no_facts_about_is_said_to_be_unchecked():
    found = findings_for(pkgs("anaconda::tensorflow=2.3.0=mkl_py38h0_0", "keras=2.10.0", "python=3.8"))
    assert [(f.rule, f.severity) for f in found] == [("unknown", "info")]
    assert "no facts about keras" in found[0].message


def test_a_driver_given_for_a_set_that_uses_no_gpu_is_said_not_to_be_checked():
    found = findings_for(pkgs("tensorflow=2.18.0", "python=3.12"), gpu=GpuFacts(cuda_driver="11.8", origin="--cuda"))
    assert [(f.rule, f.severity) for f in found] == [("unknown", "info")]
    assert "was not checked" in found[0].message


def test_the_driver_fix_names_the_driver_that_runs_the_cuda():
    found = findings_for(pkgs("tensorflow=2.15.0", "cuda-version=12.2", "python=3.11"),
                         gpu=GpuFacts(cuda_driver="11.8", origin="--cuda"))
    [finding] = [f for f in found if f.rule == "driver-too-old"]
    assert "535.54.03" in finding.fix


def test_cuda_packages_beside_a_buildless_tensorflow_are_not_called_a_gpu_build():
    found = findings_for(pkgs("conda-forge::tensorflow=2.16.1", "conda-forge::cuda-version=12.3", "python=3.12"),
                         gpu=NO_DRIVER)
    [finding] = [f for f in found if f.rule == "gpu-build-without-driver"]
    assert "is set up for the GPU" in finding.message and "is a GPU build" not in finding.message
