"""Probe: the pinned packages of an ``environment.yml``.

Pinned entries (``name=1.2.3``, ``name==1.2.3``, ``name 1.2.3 build``,
``channel::name=1.2.3=build``) become package views; everything else (``numpy``,
``numpy>=1.26``, ``python 3.11.*``, ``-r requirements.txt``) is reported back as
unchecked. A file that is not YAML, or not an environment file, is a
:class:`SpecError` naming the file and line.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError
from .files import TooLarge, read_bounded
from .packages import PIP_CHANNEL, PackageView, classify_channel, normalize_name, parse_package_spec

__all__ = ["EnvFile", "read_env_file"]

log = logging.getLogger("conda.conda_tfguard.envfile")

_PIP_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]*)\s*(?:\[[A-Za-z0-9._,\- ]*\])?\s*==\s*"
                      r"(?P<version>[A-Za-z0-9][A-Za-z0-9._+!\-]*)$")
_KNOWN_KEYS = {"name", "channels", "dependencies", "prefix", "variables", "category", "platforms"}
MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class EnvFile:
    path: str
    packages: tuple[PackageView, ...]
    unchecked: tuple[str, ...]
    channels: tuple[str, ...]


def read_env_file(path: os.PathLike | str) -> EnvFile:
    file = Path(path)
    try:
        text = read_bounded(file, MAX_BYTES)
    except TooLarge:
        raise SpecError(f"{file}: environment file is larger than {MAX_BYTES // 1024} KiB") from None
    except FileNotFoundError:
        raise SpecError(f"{file}: no such environment file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{file}: cannot read environment file ({exc})") from None
    data = _load_yaml(file, text)
    if not isinstance(data, dict):
        raise SpecError(f"{file}: not an environment file (expected a mapping with 'dependencies')")
    unknown = sorted(set(map(str, data)) - _KNOWN_KEYS)
    if unknown:
        log.warning("tfguard: %s: ignoring unknown key(s): %s", file, ", ".join(unknown))
    channels = data.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise SpecError(f"{file}: 'channels' must be a list of channel names")
    channels = tuple(channels)
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        raise SpecError(f"{file}: 'dependencies' must be a list")
    home = classify_channel(channels[0]) if channels else ""
    packages, unchecked = [], []
    for dep in deps:
        if isinstance(dep, dict):
            _pip_section(file, dep, packages, unchecked)
        elif isinstance(dep, str):
            view = _conda_pin(dep)
            if view is None:
                unchecked.append(dep.strip())
            else:
                packages.append(view if view.channel else _with_channel(view, home))
        else:
            unchecked.append(f"<{_kind(dep)} in dependencies>")
    return EnvFile(str(file), tuple(packages), tuple(unchecked), channels)


def _load_yaml(file: Path, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="base").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "\t" in text:
            problem += " (YAML does not allow tabs for indentation)"
        raise SpecError(f"{file}{where}: not valid YAML: {problem}") from None
    except Exception as exc:  # odd bytes make ruamel raise other types
        raise SpecError(f"{file}: not valid YAML: {exc}") from None


def _conda_pin(dep: str) -> PackageView | None:
    text = dep.strip()
    parts = text.split()
    if len(parts) in (2, 3) and not any(c in parts[1] for c in "<>=!*|,"):
        text = f"{parts[0]}={parts[1]}" + (f"={parts[2]}" if len(parts) == 3 else "")
    try:
        return parse_package_spec(text)
    except SpecError:
        return None


def _pip_section(file: Path, dep: dict, packages: list, unchecked: list) -> None:
    for key, value in dep.items():
        if key != "pip" or not isinstance(value, list):
            what = repr(key[:40]) if isinstance(key, str) else _kind(key)
            log.warning("tfguard: %s: ignoring dependency entry %s: only a pip list is read there", file, what)
            continue
        for item in value:
            if not isinstance(item, str):
                unchecked.append(f"pip: <{_kind(item)}>")
                continue
            text = item.strip()
            match = _PIP_PIN.match(text)  # tensorflow[and-cuda]==2.15.0 pins tensorflow
            if match:
                packages.append(PackageView(name=normalize_name(match["name"]), version=match["version"],
                                            channel=PIP_CHANNEL))
            else:
                unchecked.append(f"pip: {text}")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


def _with_channel(view: PackageView, channel: str) -> PackageView:
    return PackageView(view.name, view.version, view.build, channel, view.subdir, view.depends)
