"""The real published records in ``tests/records`` (provenance: tests/records/SOURCES.md).

``record("conda-forge", "tensorflow-base-2.10.0-cpu_py310hc537a0e_0.tar.bz2")`` gives the
record as the channel published it; ``view(...)`` the same as the core sees a conda-meta
record. Some defaults records are partial (``_partial`` names the fields that are not
complete): only their sourced entries are there.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from conda_tfguard.packages import PackageView, classify_channel

RECORDS = Path(__file__).parent / "records"


@lru_cache(maxsize=None)
def _all() -> dict[tuple[str, str], dict]:
    out = {}
    for path in sorted(RECORDS.glob("*/*/repodata.json")):
        channel = path.parent.parent.name
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ("packages", "packages.conda"):
            for fn, rec in data.get(key, {}).items():
                out[(channel, fn)] = dict(rec, subdir=rec.get("subdir") or path.parent.name)
    return out


def record(channel: str, fn: str) -> dict:
    return _all()[(channel, fn)]


def view(channel: str, fn: str) -> PackageView:
    rec = record(channel, fn)
    return PackageView(rec["name"], rec["version"], rec["build"], classify_channel(channel), rec["subdir"],
                       tuple(rec.get("depends", ())))
