import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _no_machine_gpu_overrides(monkeypatch):
    """Tests describe the machine explicitly: the developer's own overrides must not leak in."""
    for name in ("CONDA_OVERRIDE_CUDA", "CONDA_PLUGINS_TFGUARD_DRIVER_VERSION",
                 "CONDA_PLUGINS_TFGUARD_KNOWLEDGE_FILE", "CONDA_PLUGINS_TFGUARD_IGNORE"):
        monkeypatch.delenv(name, raising=False)
