"""``python -m conda_tfguard check|status|pin``: the core, without conda."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from . import __version__
from .arguments import configure_parser
from .cli import run, standalone_host
from .errors import TfguardError


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conda_tfguard",
        description="Stop broken TensorFlow environments before conda links them.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"conda-tfguard {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="explain more (logs to stderr)")
    configure_parser(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return run(args, standalone_host())
    except TfguardError as exc:
        print(f"tfguard: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
