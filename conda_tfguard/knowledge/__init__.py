"""The compatibility knowledge base: sourced facts loaded from YAML, validated, cached.

The shipped files are the ``*.yaml`` beside this module; a user file (setting
``tfguard_knowledge_file`` / ``CONDA_PLUGINS_TFGUARD_KNOWLEDGE_FILE`` / ``--knowledge``)
is read after them and wins: an entry with the same key (a TensorFlow line, a CUDA
toolkit, a channel build, a family) replaces the shipped one field by field.

Every fact names a source (``sources:`` id -> url + date checked). A broken file gives a
:class:`KnowledgeError` naming the file and line, never a traceback. The layout of the
files is documented in ``README.md`` beside them.

One concept per module: :mod:`.model` (the values and their lookups), :mod:`.loader`
(reading and validating the files). ``python -m conda_tfguard.knowledge`` runs the
maintainers' tools.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from ..errors import KnowledgeError
from .model import (  # the values are this package's public face
    ANY,
    SCOPES,
    UPSTREAM,
    Source,
    Requirement,
    Break,
    PythonSupport,
    GpuBuild,
    ReleaseFacts,
    Patch,
    Line,
    ChannelBuild,
    Channel,
    Evidence,
    Toolkit,
    CudaFamily,
    Kernels,
    Family,
    Variant,
    Judgement,
    Rulebook,
    Newest,
    Knowledge,
)

__all__ = ["SHIPPED_DIR", "load_knowledge", "ANY", "SCOPES", "UPSTREAM", "Source", "Requirement", "Break", "PythonSupport", "GpuBuild", "ReleaseFacts", "Patch", "Line", "ChannelBuild", "Channel", "Evidence", "Toolkit", "CudaFamily", "Kernels", "Family", "Variant", "Judgement", "Rulebook", "Newest", "Knowledge"]

SHIPPED_DIR = Path(__file__).parent


def load_knowledge(extra: Sequence[os.PathLike | str] = ()) -> Knowledge:
    """The shipped knowledge plus user files, validated; cached per process."""
    keys = tuple(_file_key(Path(p)) for p in extra if str(p).strip())
    return _load(keys)


def _file_key(path: Path) -> tuple[str, float, int]:
    try:
        stat = path.stat()
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot read knowledge file ({exc.strerror or exc})") from None
    return (str(path), stat.st_mtime, stat.st_size)


@lru_cache(maxsize=8)
def _load(user_keys: tuple[tuple[str, float, int], ...]) -> Knowledge:
    from .loader import build, read_yaml

    shipped = sorted(SHIPPED_DIR.glob("*.yaml"))
    docs = [read_yaml(path) for path in shipped]
    docs += [read_yaml(Path(key[0])) for key in user_keys]
    return build(docs)


