"""The GPU probe: overrides, conda's __cuda, and NVML (a fake module injected here)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from conda_tfguard import gpu
from conda_tfguard.errors import ProbeError
from conda_tfguard.findings import Gpu
from helpers import findings_for, pkgs, rules_of


@pytest.fixture(autouse=True)
def fresh_probe():
    gpu.clear_cache()
    yield
    gpu.clear_cache()


class NVMLError(Exception):
    """Stands in for pynvml.NVMLError (its subclasses carry the NVML return code)."""


def fake_nvml(driver="550.54.14", cuda=12040, cards=(("NVIDIA A10", 24 << 30, (8, 6)),), init_error=None,
              delay=0.0, device_error=None):
    def init():
        if delay:
            time.sleep(delay)
        if init_error:
            raise init_error

    def handle(index):
        if device_error:
            raise device_error
        return index

    return SimpleNamespace(
        nvmlInit=init,
        nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: driver,
        nvmlSystemGetCudaDriverVersion=lambda: cuda,
        nvmlDeviceGetCount=lambda: len(cards),
        nvmlDeviceGetHandleByIndex=handle,
        nvmlDeviceGetName=lambda h: cards[h][0],
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(total=cards[h][1]),
        nvmlDeviceGetCudaComputeCapability=lambda h: cards[h][2],
    )


def test_nvml_gives_driver_cuda_and_each_gpu():
    facts = gpu.probe(environ={}, nvml=fake_nvml())
    assert facts.driver_version == "550.54.14" and facts.cuda_driver == "12.4"
    assert facts.gpus == (Gpu("NVIDIA A10", 24576, "8.6"),) and facts.origin == "NVML"


def test_old_bytes_api_is_read_too():
    facts = gpu.probe(environ={}, nvml=fake_nvml(driver=b"470.82.01", cards=((b"Tesla K80", 12 << 30, (3, 7)),)))
    assert facts.driver_version == "470.82.01" and facts.gpus[0].name == "Tesla K80"


@pytest.mark.parametrize("error", [
    NVMLError("NVML Shared Library Not Found"), NVMLError("Driver Not Loaded"), NVMLError("Insufficient Permissions"),
    NVMLError("Unknown Error"), OSError("libnvidia-ml.so.1: cannot open shared object file"),
])
def test_nvml_failing_is_a_normal_no_driver_answer(error):
    facts = gpu.probe(environ={}, nvml=fake_nvml(init_error=error))
    assert not facts.found and str(error) in facts.reason


def test_a_device_query_failing_keeps_what_nvml_did_say():
    facts = gpu.probe(environ={}, nvml=fake_nvml(device_error=NVMLError("GPU is lost")))
    assert facts.driver_version == "550.54.14" and facts.gpus == ()


def test_a_hanging_nvml_is_cut_off():
    started = time.perf_counter()
    facts = gpu.probe(environ={}, nvml=fake_nvml(delay=5), timeout=0.2)
    assert time.perf_counter() - started < 2
    assert not facts.found and "did not answer" in facts.reason


def test_nvml_is_asked_once_per_process():
    calls = []
    nvml = fake_nvml()
    real_init = nvml.nvmlInit
    nvml.nvmlInit = lambda: (calls.append(1), real_init())
    gpu.probe(environ={}, nvml=nvml)
    gpu.probe(environ={}, nvml=nvml)
    assert len(calls) == 1


def test_no_pynvml_module_at_all(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pynvml(name, *args, **kwargs):
        if name == "pynvml":
            raise ImportError("No module named 'pynvml'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pynvml)
    facts = gpu.probe(environ={})
    assert not facts.found and "no NVML module" in facts.reason


def test_overrides_win_and_nvml_is_not_asked():
    nvml = fake_nvml(init_error=AssertionError("NVML must not be asked"))
    facts = gpu.probe(environ={"CONDA_PLUGINS_TFGUARD_DRIVER_VERSION": "470.82.01"}, nvml=nvml)
    assert facts.driver_version == "470.82.01" and facts.origin == "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION"
    facts = gpu.probe(environ={"CONDA_OVERRIDE_CUDA": "11.8"}, nvml=nvml)
    assert facts.cuda_driver == "11.8" and facts.driver_version is None
    facts = gpu.probe(environ={"CONDA_OVERRIDE_CUDA": ""}, nvml=nvml)
    assert not facts.found and "CONDA_OVERRIDE_CUDA is empty" in facts.reason
    facts = gpu.probe("535.104.05", environ={"CONDA_PLUGINS_TFGUARD_DRIVER_VERSION": "470.82.01"}, nvml=nvml)
    assert facts.driver_version == "535.104.05" and facts.origin == "--driver"


@pytest.mark.parametrize("environ, flag", [
    ({"CONDA_PLUGINS_TFGUARD_DRIVER_VERSION": "banana"}, "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION='banana'"),
    ({"CONDA_PLUGINS_TFGUARD_DRIVER_VERSION": "535"}, "not an NVIDIA driver version"),
    ({"CONDA_OVERRIDE_CUDA": "twelve"}, "CONDA_OVERRIDE_CUDA='twelve'"),
    ({"CONDA_OVERRIDE_CUDA": "12.2; rm -rf /"}, "not a CUDA version"),
])
def test_a_garbage_override_is_a_clear_error_not_a_default(environ, flag):
    with pytest.raises(ProbeError) as error:
        gpu.probe(environ=environ, nvml=fake_nvml())
    assert flag in str(error.value) and "\n" not in str(error.value)


def test_conda_virtual_cuda_fills_what_nvml_cannot():
    facts = gpu.probe(environ={}, nvml=fake_nvml(init_error=NVMLError("Driver Not Loaded")), virtual_cuda=lambda: "12.2")
    assert facts.cuda_driver == "12.2" and facts.origin == "__cuda"


# --------------------------------------------------------------------------- rules fed by the probe
def test_a_probed_old_driver_blocks_a_cuda_12_stack():
    facts = gpu.probe(environ={}, nvml=fake_nvml(driver="470.82.01", cuda=11040))
    found = findings_for(pkgs("tensorflow=2.15.0", "cuda-version=12.2", "python=3.11"), gpu=facts)
    assert rules_of(found)["driver-too-old"] == "block"


def test_a_probed_driver_inside_minor_compatibility_warns():
    facts = gpu.probe(environ={}, nvml=fake_nvml(driver="530.30.02", cuda=12010))
    found = findings_for(pkgs("tensorflow=2.15.0", "cuda-version=12.2", "python=3.11"), gpu=facts)
    assert rules_of(found)["driver-too-old"] == "warn"


def test_a_probed_maxwell_card_warns_under_tf_217():
    facts = gpu.probe(environ={}, nvml=fake_nvml(cards=(("Tesla M60", 8 << 30, (5, 2)),)))
    found = findings_for(pkgs("tensorflow=2.17.0", "cuda-version=12.3", "python=3.11"), gpu=facts)
    assert rules_of(found)["compute-capability"] == "warn"


def test_nvml_failing_makes_a_gpu_build_warn_not_crash():
    facts = gpu.probe(environ={}, nvml=fake_nvml(init_error=NVMLError("Driver Not Loaded")))
    found = findings_for(pkgs("conda-forge::tensorflow=2.15.0=cuda120py311h0_0", "cuda-version=12.2"), gpu=facts)
    [finding] = [f for f in found if f.rule == "gpu-build-without-driver"]
    assert "Driver Not Loaded" in finding.message
