"""Reading files a user hands us, without trusting them to be small or regular."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["TooLarge", "read_bounded"]


class TooLarge(Exception):
    """The file holds more than the reader accepts."""


def read_bounded(path: os.PathLike | str, limit: int) -> str:
    """The UTF-8 text of ``path``, reading at most ``limit`` bytes.

    Raises :class:`TooLarge` when there is more (``/dev/zero`` reports size 0 and never
    ends), ``OSError`` when it cannot be opened, ``UnicodeDecodeError`` when it is not
    text. Anything that is neither a regular file nor a pipe is refused as an OSError,
    so a FIFO nobody writes to cannot hang us.
    """
    path = Path(path)
    mode = path.stat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        raise OSError(f"{path} is not a file")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{path} is larger than {limit} bytes")
    return data.decode("utf-8")
