"""The plugin module inside a real conda: cheap to import, hooks registered, settings read.

Skipped, with the reason, where conda is not importable (it is not on PyPI).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.conda,
    pytest.mark.skipif(
        importlib.util.find_spec("conda") is None,
        reason="conda is not importable here (it is not on PyPI); install conda-tfguard into a conda environment to run these",
    ),
]


def imported_by_plugin() -> set[str]:
    """Modules that importing conda_tfguard.plugin adds, once conda's own plugin API is loaded."""
    code = (
        "import sys, conda.plugins, conda.plugins.types, conda.plugins.hookspec\n"
        "before = set(sys.modules)\n"
        "import conda_tfguard.plugin\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_the_plugin_pulls_in_nothing_heavy():
    added = imported_by_plugin()
    assert added <= {"conda_tfguard", "conda_tfguard.plugin"}, added
    assert not {"ruamel.yaml", "pynvml", "conda_tfguard.knowledge", "conda_tfguard.rules"} & added


def test_conda_registers_every_hook_and_setting():
    from conda.base.context import context, reset_context

    reset_context()
    manager = context.plugin_manager
    assert "tfguard" in manager.get_subcommands()
    assert "tfguard" in manager.get_health_checks()
    assert "tfguard-post-solve" in {hook.name for hook in manager.get_hook_results("post_solves")}
    assert "tfguard-pre-solve" in {hook.name for hook in manager.get_hook_results("pre_solves")}
    settings = manager.get_settings()
    assert {"tfguard_mode", "tfguard_ignore", "tfguard_knowledge_file", "tfguard_driver_version"} <= set(settings)


def test_settings_come_from_the_environment(monkeypatch):
    from conda.base.context import reset_context

    from conda_tfguard.guard import settings

    monkeypatch.setenv("CONDA_PLUGINS_TFGUARD_MODE", "warn")
    monkeypatch.setenv("CONDA_PLUGINS_TFGUARD_IGNORE", "channel-mix,pip-shadow")
    monkeypatch.setenv("CONDA_PLUGINS_TFGUARD_DRIVER_VERSION", "535.104.05")
    reset_context()
    try:
        current = settings()
    finally:
        monkeypatch.undo()
        reset_context()
    assert current.mode == "warn"
    assert current.ignore == ("channel-mix", "pip-shadow")
    assert current.driver == "535.104.05"
