"""Probe: the machine's NVIDIA driver, the CUDA it runs, and its GPUs.

Sources, in order of authority:

1. Overrides: ``--driver`` / ``--cuda`` flags, the setting ``tfguard_driver_version``
   (``CONDA_PLUGINS_TFGUARD_DRIVER_VERSION``), and conda's own ``CONDA_OVERRIDE_CUDA``
   (an empty value means "no CUDA driver", as in conda). With any override set, the
   machine is not asked: the override *is* the machine, so every GPU rule can be
   exercised without a GPU.
2. conda's ``__cuda`` virtual package (inside conda; it already honours the override).
3. NVML (the ``pynvml`` module of nvidia-ml-py) for what ``__cuda`` does not tell: the
   driver version string, and each GPU's name, memory and compute capability.

No driver, no library, NVML raising or hanging: all are normal answers (a
:class:`GpuFacts` with ``reason``), never an exception. The NVML call is bounded in time
and made at most once per process.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any, Callable, Mapping, Optional

from .errors import ProbeError
from .findings import Gpu, GpuFacts

__all__ = ["DRIVER_ENV", "probe", "probe_nvml", "read_overrides"]

DRIVER_ENV = "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION"
CUDA_ENV = "CONDA_OVERRIDE_CUDA"
NVML_TIMEOUT = 2.0

_DRIVER = re.compile(r"^[0-9]{2,4}(\.[0-9]{1,3}){1,2}$")
_CUDA = re.compile(r"^[0-9]{1,2}(\.[0-9]{1,2}){0,2}$")
_NVML_CACHE: dict[str, GpuFacts] = {}


def read_overrides(
    driver: Optional[str] = None,
    cuda: Optional[str] = None,
    environ: Mapping[str, str] = os.environ,
    driver_setting: Optional[str] = None,
) -> tuple[Optional[str], Optional[str], str]:
    """``(driver, cuda, origin)`` from flags, settings and environment; garbage raises.

    ``cuda`` is ``""`` when the override says "no CUDA driver". ``None`` means unset.
    """
    origin = []
    if driver is None and driver_setting:
        driver, origin_driver = driver_setting, "setting tfguard_driver_version"
    elif driver is None and environ.get(DRIVER_ENV, "").strip():
        driver, origin_driver = environ[DRIVER_ENV], DRIVER_ENV
    else:
        origin_driver = "--driver"
    if driver is not None:
        driver = driver.strip()
        if not _DRIVER.match(driver):
            raise ProbeError(
                f"{origin_driver}={driver!r} is not an NVIDIA driver version (expected e.g. 535.104.05)"
            )
        origin.append(origin_driver)
    origin_cuda = "--cuda"
    if cuda is None and CUDA_ENV in environ:
        cuda, origin_cuda = environ[CUDA_ENV], CUDA_ENV
    if cuda is not None:
        cuda = cuda.strip()
        if cuda and not _CUDA.match(cuda):
            raise ProbeError(f"{origin_cuda}={cuda!r} is not a CUDA version (expected e.g. 12.2, or empty for none)")
        origin.append(origin_cuda)
    return driver, cuda, ", ".join(origin)


def probe(
    driver: Optional[str] = None,
    cuda: Optional[str] = None,
    *,
    environ: Mapping[str, str] = os.environ,
    driver_setting: Optional[str] = None,
    virtual_cuda: Optional[Callable[[], Optional[str]]] = None,
    nvml: Any = None,
    timeout: float = NVML_TIMEOUT,
) -> GpuFacts:
    """The machine's GPU facts. Raises :class:`ProbeError` only for a garbage override."""
    driver, cuda, origin = read_overrides(driver, cuda, environ, driver_setting)
    if driver is not None or cuda is not None:
        if cuda == "" and driver is None:
            return GpuFacts(origin=origin, reason=f"{CUDA_ENV} is empty: no CUDA driver")
        return GpuFacts(driver_version=driver, cuda_driver=cuda or None, origin=origin)
    facts = probe_nvml(nvml=nvml, timeout=timeout)
    if virtual_cuda is not None:
        try:
            conda_cuda = virtual_cuda()
        except Exception:  # conda's detection failing is "unknown", not a crash
            conda_cuda = None
        if conda_cuda:
            return GpuFacts(
                driver_version=facts.driver_version,
                cuda_driver=conda_cuda,
                gpus=facts.gpus,
                origin="__cuda" + (" + NVML" if facts.found else ""),
            )
    return facts


def probe_nvml(nvml: Any = None, timeout: float = NVML_TIMEOUT) -> GpuFacts:
    """Ask NVML, once per process, in a thread that may not hold us past ``timeout``."""
    key = "default" if nvml is None else f"injected-{id(nvml)}"
    if key in _NVML_CACHE:
        return _NVML_CACHE[key]
    result: list[GpuFacts] = []
    thread = threading.Thread(target=lambda: result.append(_ask_nvml(nvml)), name="tfguard-nvml", daemon=True)
    thread.start()
    thread.join(timeout)
    if result:
        facts = result[0]
    else:
        facts = GpuFacts(reason=f"NVML did not answer within {timeout:g} s", origin="NVML")
    _NVML_CACHE[key] = facts
    return facts


def _ask_nvml(nvml: Any) -> GpuFacts:
    try:
        if nvml is None:
            import pynvml as nvml  # nvidia-ml-py
    except Exception as exc:
        return GpuFacts(reason=f"no NVML module ({_first_line(exc)})", origin="NVML")
    try:
        nvml.nvmlInit()
    except Exception as exc:
        return GpuFacts(reason=f"NVML: {_first_line(exc)}", origin="NVML")
    try:
        driver = _text(_try(nvml.nvmlSystemGetDriverVersion))
        cuda_int = _try(nvml.nvmlSystemGetCudaDriverVersion)
        cuda = f"{cuda_int // 1000}.{(cuda_int % 1000) // 10}" if isinstance(cuda_int, int) and cuda_int > 0 else None
        gpus = []
        count = _try(nvml.nvmlDeviceGetCount) or 0
        for index in range(count if isinstance(count, int) else 0):
            handle = _try(nvml.nvmlDeviceGetHandleByIndex, index)
            if handle is None:
                continue
            name = _text(_try(nvml.nvmlDeviceGetName, handle)) or f"GPU {index}"
            memory = _try(nvml.nvmlDeviceGetMemoryInfo, handle)
            total = getattr(memory, "total", None)
            capability = _try(nvml.nvmlDeviceGetCudaComputeCapability, handle)
            cc = f"{capability[0]}.{capability[1]}" if isinstance(capability, tuple) and len(capability) == 2 else None
            gpus.append(Gpu(name, int(total) // (1024 * 1024) if isinstance(total, int) else None, cc))
        if driver is not None and not _DRIVER.match(driver):
            driver = None
        reason = "" if (driver or cuda or gpus) else "NVML answered but reported no driver version"
        return GpuFacts(driver_version=driver, cuda_driver=cuda, gpus=tuple(gpus), origin="NVML", reason=reason)
    except Exception as exc:
        return GpuFacts(reason=f"NVML failed ({_first_line(exc)})", origin="NVML")
    finally:
        _try(getattr(nvml, "nvmlShutdown", lambda: None))


def _try(function: Callable, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception:
        return None


def _text(value: Any) -> Optional[str]:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def clear_cache() -> None:
    """Forget the NVML answer (tests, and long-lived processes that want a fresh look)."""
    _NVML_CACHE.clear()
