"""``python -m conda_tfguard.knowledge refresh|verify``: the maintainers' tools.

``refresh`` rewrites the upstream facts from PyPI (:mod:`.refresh`); ``verify`` installs
real wheels side by side and records what happens (:mod:`.verify`). Neither runs inside
conda, and neither is needed to use the plugin.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

_TOOLS = {
    "refresh": "rewrite the upstream facts (Python versions, Requires-Dist, release dates) from PyPI",
    "verify": "install real wheels side by side, run a probe, and record the evidence",
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in _TOOLS:
        usage = "\n".join(f"  {name:8} {what}" for name, what in _TOOLS.items())
        print(f"usage: python -m conda_tfguard.knowledge {{{','.join(_TOOLS)}}} ...\n{usage}", file=sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    if args[0] == "refresh":
        from .refresh import main as tool
    else:
        from .verify import main as tool
    return tool(args[1:])


if __name__ == "__main__":
    sys.exit(main())
