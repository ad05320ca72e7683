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
    assert "tfguard" in {hook.name for hook in manager.get_hook_results("health_checks")}
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


# --------------------------------------------------------------------------- the guard, in process
class Record:
    """Just what the guard reads of a conda record."""

    def __init__(self, name, version="1.0", build="h0_0", depends=()):
        self.name, self.version, self.build, self.depends = name, version, build, tuple(depends)
        self.subdir, self.channel, self.files = "linux-64", None, ()


@pytest.fixture
def conda_context(monkeypatch, tmp_path):
    from conda.base.context import reset_context

    for name in ("CONDA_PLUGINS_TFGUARD_MODE", "CONDA_PLUGINS_TFGUARD_KNOWLEDGE_FILE", "CONDA_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")
    monkeypatch.setenv("CONDARC", str(tmp_path / "condarc"))
    reset_context()
    yield monkeypatch
    monkeypatch.undo()
    reset_context()


TF_215 = [Record("tensorflow", "2.15.0", "cpu_py311h0_0", ["python >=3.11,<3.12.0a0"]), Record("keras", "3.0.5")]


def test_an_internal_error_inside_the_hook_is_one_line_and_the_command_goes_on(conda_context, capsys, tmp_path):
    from conda_tfguard import guard

    def broken(*args, **kwargs):
        raise RuntimeError("the knowledge base exploded")

    conda_context.setattr(guard, "_findings", broken)
    guard.guard(str(tmp_path / "env"), (), TF_215, requested=())  # returns: fail open
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "tfguard: internal error, transaction not checked (RuntimeError: the knowledge base exploded); -v shows more"
    ]


def test_a_broken_knowledge_file_setting_warns_and_lets_the_command_go_on(conda_context, capsys, tmp_path):
    from conda.base.context import reset_context

    from conda_tfguard import guard
    from conda_tfguard.knowledge import _load

    bad = tmp_path / "mine.yaml"
    bad.write_text("schema: 1\nreleases: [\n")
    conda_context.setenv("CONDA_PLUGINS_TFGUARD_KNOWLEDGE_FILE", str(bad))
    reset_context()
    _load.cache_clear()
    guard.guard(str(tmp_path / "env"), (), TF_215, requested=())
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("tfguard: transaction not checked: ") and "mine.yaml:3: not valid YAML" in line


def test_the_guard_blocks_in_process_and_says_nothing_when_off(conda_context, capsys, tmp_path):
    from conda.base.context import reset_context

    from conda_tfguard import guard

    with pytest.raises(guard.TfguardBlocked) as blocked:
        guard.guard(str(tmp_path / "env"), (), TF_215, requested=())
    assert "[keras-mismatch]" in str(blocked.value)
    conda_context.setenv("CONDA_PLUGINS_TFGUARD_MODE", "off")
    reset_context()
    guard.guard(str(tmp_path / "env"), (), TF_215, requested=())
    assert capsys.readouterr().err == ""


def test_a_transaction_without_the_stack_never_reaches_the_core(conda_context, tmp_path):
    from conda_tfguard import guard

    def must_not_run(*args, **kwargs):
        raise AssertionError("the core was consulted")

    conda_context.setattr(guard, "_findings", must_not_run)
    guard.guard(str(tmp_path / "env"), (Record("zlib"),), (Record("zlib", "1.3.1"), Record("openssl", "3.3.0")))


def test_numpy_moving_in_an_env_without_tensorflow_does_not_load_the_core(conda_context, tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from conda.base.context import reset_context; reset_context()\n"
        "from conda_tfguard import guard\n"
        "class R:\n"
        "    def __init__(s, n): s.name, s.version, s.build, s.depends, s.subdir, s.channel = n, '1.0', 'h0', (), 'linux-64', None\n"
        f"guard.guard({str(tmp_path / 'env')!r}, (R('numpy'),), (R('numpy'), R('python')))\n"
        "print(sorted(m for m in sys.modules if m.startswith('conda_tfguard')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))
    core = {"conda_tfguard.findings", "conda_tfguard.packages", "conda_tfguard.knowledge", "conda_tfguard.rules",
            "conda_tfguard.cli", "conda_tfguard.versions", "conda_tfguard.gpu", "conda_tfguard.prefix"}
    assert "conda_tfguard.guard" in loaded and not loaded & core, loaded
