"""Real published records, judged as conda would hold them in a prefix (no conda needed).

The TensorFlow records are the ones conda-forge and Anaconda published (tests/records,
with provenance); the packages beside them are plain specs of what a solve would put
there. Issue 8's cases: a working conda build is never blocked by the wheels' facts.
"""

from __future__ import annotations

from conda_tfguard.findings import GpuFacts
from helpers import findings_for, pkgs, rules_of
from records import view

CF = "conda-forge"
CF_TF210 = (view(CF, "tensorflow-2.10.0-cpu_py310hd1aba9c_0.tar.bz2"),
            view(CF, "tensorflow-base-2.10.0-cpu_py310hc537a0e_0.tar.bz2"),
            view(CF, "tensorflow-estimator-2.10.0-cpu_py310had6d012_0.tar.bz2"))
DEFAULTS_TF241_GPU = (view("defaults", "tensorflow-2.4.1-gpu_py39h8236f22_0.tar.bz2"),
                      view("defaults", "tensorflow-base-2.4.1-gpu_py39h29c2da4_0.tar.bz2"),
                      view("defaults", "tensorflow-gpu-2.4.1-h30adc30_0.tar.bz2"),
                      view("defaults", "_tflow_select-2.1.0-gpu.tar.bz2"))
DEFAULTS_PY39_CUDA101 = pkgs("defaults::python=3.9.18=h0_0", "defaults::cudatoolkit=10.1.243=h6bb024c_0",
                             "defaults::cudnn=7.6.5=cuda10.1_0", "defaults::h5py=2.10.0=py39hec9cf62_0")
DRIVER_CUDA_11 = GpuFacts(cuda_driver="11.2", origin="__cuda")


def test_conda_forge_2_10_with_protobuf_4_21_is_silent():
    stack = CF_TF210 + pkgs("conda-forge::python=3.10.13=hd12c33a_0", "conda-forge::numpy=1.23.5=py310h53a5b5f_0",
                            "conda-forge::protobuf=4.21.12=py310heca2aa9_0", "conda-forge::keras=2.10.0=pyhd8ed1ab_0",
                            "conda-forge::h5py=3.7.0=nompi_py310h416281c_102")
    assert findings_for(stack) == ()


def test_defaults_2_4_1_gpu_py39_with_cuda_10_1_and_cudnn_7_6_is_silent():
    # PyPI's 2.4.1 is for Python 3.6-3.8, CUDA 11.0, cuDNN 8.0: none of that judges Anaconda's build
    stack = DEFAULTS_TF241_GPU + DEFAULTS_PY39_CUDA101 + pkgs("defaults::numpy=1.19.2=py39h89c1606_0")
    found = findings_for(stack, gpu=DRIVER_CUDA_11)
    assert [f for f in found if f.severity != "info"] == []
    # (the fixture's tensorflow-base depends are partial: only h5py is left "not checked")
    assert not [f for f in found if any(w in f.message for w in ("python", "Python", "CUDA", "cuda", "cuDNN", "cudnn"))]


def test_the_same_defaults_build_with_numpy_2_is_blocked():
    stack = DEFAULTS_TF241_GPU + DEFAULTS_PY39_CUDA101 + pkgs("defaults::numpy=2.0.1=py39h0_0")
    assert rules_of(findings_for(stack, gpu=DRIVER_CUDA_11))["numpy-abi"] == "block"


def test_an_uncapped_pre_numpy_2_record_with_numpy_2_is_blocked():
    # conda-forge tensorflow-base 2.4.1 (2021) says `numpy >=1.19`: it knew nothing of numpy 2
    base = view(CF, "tensorflow-base-2.4.1-py39h23a8cbf_0.tar.bz2")
    assert "numpy >=1.19" in base.depends
    found = findings_for((base, *pkgs("conda-forge::numpy=2.0.2=py39h0_0", "conda-forge::python=3.9.18=h0_0")))
    assert rules_of(found)["numpy-abi"] == "block"


def test_a_defaults_cuda_11_build_record_is_judged_by_its_depends_not_the_wheels_table():
    # conda-forge's cuda112 build of 2.10 depends on cudatoolkit >=11.2,<12 and cudnn >=8.4.1.50,<9
    stack = (view(CF, "tensorflow-2.10.0-cuda112py310he87a039_0.tar.bz2"),
             view(CF, "tensorflow-base-2.10.0-cuda112py310hf679b68_0.tar.bz2"),
             view(CF, "cudatoolkit-11.2.2-hbe64b41_11.conda"), view(CF, "cudnn-8.4.1.50-hed8a83a_0.tar.bz2"),
             *pkgs("conda-forge::python=3.10.13=hd12c33a_0", "conda-forge::numpy=1.23.5=py310h53a5b5f_0",
                   "conda-forge::keras=2.10.0=pyhd8ed1ab_0"))
    assert findings_for(stack, gpu=DRIVER_CUDA_11) == ()
