"""Which package names could concern TensorFlow: a set lookup, free to import.

The solve hooks ask this before they import anything else, so a transaction that
cannot concern TensorFlow costs a set lookup. The knowledge base's package families are
the truth; tests assert that every family member passes here.
"""

from __future__ import annotations

__all__ = ["is_tensorflow", "might_matter"]

_WATCHED = frozenset(
    {
        "python", "numpy", "numpy-base", "protobuf", "libprotobuf", "h5py",
        "keras", "keras-nightly", "tf-keras", "_tflow_select", "tensorboard",
        "cudatoolkit", "cuda-version", "cudnn", "cuda-cudart", "cuda-runtime",
    }
)


def is_tensorflow(name: str) -> bool:
    """Whether a package name belongs to TensorFlow itself (any channel's spelling)."""
    return name.startswith("tensorflow")


def might_matter(name: str) -> bool:
    """Whether a change to this package could change a TensorFlow verdict."""
    return name in _WATCHED or is_tensorflow(name)
