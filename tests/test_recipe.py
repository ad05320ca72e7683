"""recipe/recipe.yaml (the conda-forge recipe) and pyproject.toml must not drift apart.

Pure Python: no conda, no rattler-build. Both files are parsed (ruamel.yaml, tomllib) and
compared value by value, so each test fails when the thing it names stops being true.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        pytest.skip("reading pyproject.toml needs tomllib (Python 3.11+) or tomli", allow_module_level=True)

from ruamel.yaml import YAML

import conda_tfguard

ROOT = Path(__file__).resolve().parent.parent
RECIPE_PATH = ROOT / "recipe" / "recipe.yaml"
PYPROJECT_PATH = ROOT / "pyproject.toml"

# conda-forge's global python_min (CFEP-25, conda-forge-pinning's conda_build_config.yaml)
# when the recipe's context does not set its own; it only ever goes up.
CONDA_FORGE_PYTHON_MIN = "3.10"
# The newest Python conda-forge builds for: the top of the range markers are evaluated on.
CONDA_FORGE_PYTHON_MAX = "3.14"
# The first conda with every hook conda_tfguard.plugin needs unconditionally (conda_settings).
CONDA_FLOOR = Version("24.3")
# PyPI name -> conda-forge name, where canonicalising (case, "_", ".", "-") is not enough.
PYPI_TO_CONDA: Mapping[str, str] = {}
# Run requirements that only the recipe has: they are not (or cannot be) PyPI dependencies.
CONDA_ONLY = {"python", "conda"}


# --- reading the two files ---


def load_recipe() -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load(RECIPE_PATH.read_text(encoding="utf-8"))


def load_pyproject() -> dict[str, Any]:
    with PYPROJECT_PATH.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def recipe() -> dict[str, Any]:
    return load_recipe()


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return load_pyproject()


_EXPR = re.compile(r"\$\{\{\s*([A-Za-z_]\w*)\s*(\|\s*lower\s*|\[\s*0\s*\]\s*)?\}\}")


def resolve(text: str, context: Mapping[str, Any]) -> str:
    """Fill the ``${{ var }}``, ``${{ var|lower }}`` and ``${{ var[0] }}`` forms from ``context``.

    Anything else (``${{ python_min }}`` without a context value, ``${{ PYTHON }}``) is left
    as written, so an assertion on it sees the unresolved expression.
    """

    def fill(match: re.Match) -> str:
        name, op = match.group(1), (match.group(2) or "").replace(" ", "")
        if name not in context:
            return match.group(0)
        value = str(context[name])
        if op == "|lower":
            return value.lower()
        if op == "[0]":
            return value[0]
        return value

    return _EXPR.sub(fill, str(text))


def context_of(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe's context, with ``python_min`` defaulting to conda-forge's global one."""
    context = dict(recipe.get("context") or {})
    context.setdefault("python_min", CONDA_FORGE_PYTHON_MIN)
    return {k: resolve(v, context) if isinstance(v, str) else v for k, v in context.items()}


def split_spec(spec: Any) -> tuple[str, str]:
    """``"ruamel.yaml >=0.17.21"`` -> ``("ruamel.yaml", ">=0.17.21")``."""
    assert isinstance(spec, str), (
        f"{spec!r}: a noarch: python recipe takes plain requirements, not if/then selectors"
    )
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec)
    assert match, f"{spec!r} is not a conda match spec"
    return match.group(1), match.group(2)


def requirements(recipe: Mapping[str, Any], section: str) -> dict[str, str]:
    """One requirements section as {conda name: version part, unresolved}."""
    specs = (recipe.get("requirements") or {}).get(section) or []
    out: dict[str, str] = {}
    for spec in specs:
        name, version = split_spec(spec)
        assert name not in out, f"{name} is listed twice in requirements.{section}"
        out[name] = version
    return out


def conda_name(pypi_name: str) -> str:
    canonical = canonicalize_name(pypi_name)
    return canonicalize_name(PYPI_TO_CONDA.get(canonical, canonical))


def marker_environments(python_min: str) -> Iterator[dict[str, str]]:
    """Where conda-forge's noarch: python package gets installed: CPython on the three OSes."""
    low, high = Version(python_min), Version(CONDA_FORGE_PYTHON_MAX)
    platforms = [("linux", "Linux", "posix"), ("darwin", "Darwin", "posix"), ("win32", "Windows", "nt")]
    for minor in range(low.minor, high.minor + 1):
        for sys_platform, system, os_name in platforms:
            yield {
                "implementation_name": "cpython",
                "platform_python_implementation": "CPython",
                "python_version": f"3.{minor}",
                "python_full_version": f"3.{minor}.0",
                "sys_platform": sys_platform,
                "platform_system": system,
                "os_name": os_name,
                "extra": "",
            }


def needed_on_conda_forge(req: Requirement, python_min: str) -> bool:
    marker: Optional[Marker] = req.marker
    return marker is None or any(marker.evaluate(env) for env in marker_environments(python_min))


def pyproject_runtime(pyproject: Mapping[str, Any], python_min: str) -> dict[str, Requirement]:
    out: dict[str, Requirement] = {}
    for line in pyproject["project"]["dependencies"]:
        req = Requirement(line)
        if needed_on_conda_forge(req, python_min):
            out[conda_name(req.name)] = req
    return out


def lower_bound(specifiers: SpecifierSet) -> Optional[Version]:
    bounds = [Version(s.version.rstrip(".*")) for s in specifiers if s.operator in (">=", ">", "==", "~=")]
    return max(bounds) if bounds else None


def recipe_tests(recipe: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [t for t in recipe.get("tests") or [] if kind in t]


def script_commands(test: Mapping[str, Any]) -> list[list[str]]:
    script = test["script"]
    if isinstance(script, Mapping):
        script = script.get("content", [])
    if isinstance(script, str):
        script = script.splitlines()
    return [shlex.split(line) for line in script if line.strip()]


def entry_point_modules(pyproject: Mapping[str, Any]) -> list[str]:
    group = pyproject["project"].get("entry-points", {}).get("conda", {})
    return [value.split(":")[0].strip() for value in group.values()]


def subcommand_names(plugin_file: Path) -> list[str]:
    """The ``name=`` of every ``CondaSubcommand(...)`` the plugin module builds (read, not imported)."""
    names = []
    for node in ast.walk(ast.parse(plugin_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called == "CondaSubcommand":
                for kw in node.keywords:
                    if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                        names.append(kw.value.value)
    return names


def module_file(module: str) -> Path:
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


# --- the tests ---


def test_recipe_is_a_v1_noarch_python_recipe(recipe):
    assert recipe["schema_version"] == 1
    assert recipe["build"]["noarch"] == "python"
    assert recipe["build"]["number"] == 0
    # conda-forge's noarch: python rules (CFEP-25): build and test on python_min, run on >= it.
    assert requirements(recipe, "host").get("python") == "${{ python_min }}.*"
    assert requirements(recipe, "run").get("python") == ">=${{ python_min }}"
    assert "--no-deps" in recipe["build"]["script"].split()


def test_recipe_package_name_is_the_pyproject_name(recipe, pyproject):
    name = resolve(recipe["package"]["name"], context_of(recipe))
    assert name == canonicalize_name(pyproject["project"]["name"])


def test_recipe_version_comes_from_the_package_version(recipe, pyproject):
    assert "version" in pyproject["project"]["dynamic"]
    version_file = pyproject["tool"]["hatch"]["version"]["path"]
    assert version_file == "conda_tfguard/__init__.py"
    # hatchling's regex source: the first __version__ assignment in that file.
    text = (ROOT / version_file).read_text(encoding="utf-8")
    found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    assert found, f"{version_file} has no __version__ for hatchling to read"
    assert conda_tfguard.__version__ == found.group(1)
    assert resolve(recipe["package"]["version"], context_of(recipe)) == conda_tfguard.__version__
    Version(conda_tfguard.__version__)  # a valid PEP 440 version, so also a valid conda one


def test_recipe_source_is_the_pypi_sdist(recipe, pyproject):
    context = context_of(recipe)
    url = resolve(recipe["source"]["url"], context)
    name = canonicalize_name(pyproject["project"]["name"])
    sdist = f"{name.replace('-', '_')}-{conda_tfguard.__version__}.tar.gz"  # PEP 625, as hatchling names it
    assert url == f"https://pypi.org/packages/source/{name[0]}/{name}/{sdist}"
    # a placeholder until the release fills it in, but always a well-formed sha256
    assert re.fullmatch(r"[0-9a-f]{64}", str(recipe["source"]["sha256"]))


def test_recipe_runtime_requirements_match_pyproject(recipe, pyproject):
    python_min = context_of(recipe)["python_min"]
    wanted = set(pyproject_runtime(pyproject, python_min))
    listed = {canonicalize_name(n) for n in requirements(recipe, "run")} - CONDA_ONLY
    assert listed == wanted, (
        f"missing from the recipe: {sorted(wanted - listed)}; not in pyproject: {sorted(listed - wanted)}"
    )


def test_recipe_run_requirement_bounds_match_pyproject(recipe, pyproject):
    python_min = context_of(recipe)["python_min"]
    run = {canonicalize_name(n): v for n, v in requirements(recipe, "run").items()}
    for name, req in pyproject_runtime(pyproject, python_min).items():
        assert SpecifierSet(run.get(name, "")) == req.specifier, (
            f"{name}: recipe says {run.get(name)!r}, pyproject says {str(req.specifier)!r}"
        )


def test_recipe_requires_conda_with_the_plugin_hooks(recipe):
    run = requirements(recipe, "run")
    assert "conda" in run, "the plugin needs conda itself at run time"
    bound = lower_bound(SpecifierSet(run["conda"]))
    assert bound is not None and bound >= CONDA_FLOOR, f"conda {run['conda']!r} admits a conda older than {CONDA_FLOOR}"


def test_recipe_python_floor_covers_requires_python(recipe, pyproject):
    context = context_of(recipe)
    run_python = SpecifierSet(resolve(requirements(recipe, "run")["python"], context))
    floor = lower_bound(SpecifierSet(pyproject["project"]["requires-python"]))
    recipe_floor = lower_bound(run_python)
    assert floor is not None and recipe_floor is not None
    assert recipe_floor >= floor, f"the recipe admits Python {recipe_floor}, pyproject only >= {floor}"


def test_recipe_host_requirements_cover_the_build_system(recipe, pyproject):
    host = {canonicalize_name(n) for n in requirements(recipe, "host")}
    backend = {canonicalize_name(Requirement(r).name) for r in pyproject["build-system"]["requires"]}
    assert backend | {"python", "pip"} <= host


def test_pyproject_entry_point_names_the_plugin_module(pyproject):
    modules = entry_point_modules(pyproject)
    assert "conda_tfguard.plugin" in modules
    for module in modules:
        assert module_file(module).is_file(), f"entry point {module} has no module file"
        assert module.split(".")[0] in pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]


def test_recipe_tests_import_the_plugin_and_pip_check(recipe, pyproject):
    python_tests = recipe_tests(recipe, "python")
    assert python_tests, "the recipe has no python test"
    imports = {m for t in python_tests for m in t["python"].get("imports", [])}
    assert {"conda_tfguard", *entry_point_modules(pyproject)} <= imports
    assert any(t["python"].get("pip_check") is True for t in python_tests)


def test_recipe_tests_run_the_conda_subcommand_and_the_module(recipe, pyproject):
    commands = [argv for t in recipe_tests(recipe, "script") for argv in script_commands(t)]
    subcommands = [
        name for module in entry_point_modules(pyproject) for name in subcommand_names(module_file(module))
    ]
    assert subcommands == ["tfguard"]
    for name in subcommands:
        assert ["python", "-m", "conda", name, "--help"] in commands
    assert ["python", "-m", "conda_tfguard", "--help"] in commands


def test_recipe_about_matches_pyproject(recipe, pyproject):
    about, project = recipe["about"], pyproject["project"]
    assert about["summary"] == project["description"]
    assert about["license"] == project["license"]
    assert about["license_file"] in project["license-files"]
    assert (ROOT / about["license_file"]).is_file()
    assert about["repository"] == project["urls"]["Source"]
    assert about["homepage"] == project["urls"]["Source"]


def test_recipe_names_its_maintainers(recipe):
    maintainers = recipe["extra"]["recipe-maintainers"]
    assert isinstance(maintainers, list) and maintainers
    assert all(isinstance(m, str) and m.strip() for m in maintainers)
