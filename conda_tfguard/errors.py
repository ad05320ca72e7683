"""The core's own error types. They never carry a traceback to the user.

The conda adapter re-raises them as conda errors (so conda renders them and honours
``--json``); ``python -m conda_tfguard`` prints their one-line message and exits 2.
"""

from __future__ import annotations

__all__ = ["KnowledgeError", "ProbeError", "SpecError", "TfguardError"]


class TfguardError(Exception):
    """Base class: ``str(error)`` is a complete one-line message for a person."""


class SpecError(TfguardError, ValueError):
    """A package spec, version, or environment file that cannot be read."""


class KnowledgeError(TfguardError):
    """A knowledge file that is missing, not YAML, or not of the expected shape."""


class ProbeError(TfguardError):
    """An override that holds garbage (e.g. ``CONDA_OVERRIDE_CUDA=banana``)."""
