"""Real environment files from public repositories, judged as a person would judge them.

Each file in ``tests/corpus/`` is byte-for-byte what its repository holds at the commit
``MANIFEST.yaml`` records, with the verdict a careful TensorFlow / conda engineer gives
it and why. The suite runs ``check -f`` on each, as a user would, and asserts that verdict:
above all, no stack that works is blocked, and every file conda accepts is read.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from conda_tfguard.__main__ import main
from conda_tfguard.knowledge import load_knowledge

CORPUS = Path(__file__).parent / "corpus"


def _manifest() -> list[dict]:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load((CORPUS / "MANIFEST.yaml").read_text(encoding="utf-8"))


ENTRIES = _manifest()


def check(capsys, monkeypatch, entry: dict) -> tuple[int, dict, str]:
    """``check -f FILE --json`` on the machine the file was made for: a current NVIDIA driver
    (580, CUDA 13.0) for a GPU stack, no driver for a CPU one. This machine's own GPU (or
    none) would otherwise be judged instead of the file."""
    argv = ["check", "-f", str(CORPUS / entry["file"]), "--json"]
    if entry["gpu"]:
        argv += ["--driver", "580.65.06"]
    else:
        monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")
    code = main(argv)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def test_the_corpus_is_real_and_large_enough():
    assert len(ENTRIES) >= 30
    for entry in ENTRIES:
        assert re.fullmatch(r"[0-9a-f]{40}", str(entry["commit"])), entry["file"]
        assert "/" in entry["repo"] and entry["path"] and entry["why"], entry["file"]
        assert (CORPUS / entry["file"]).is_file(), entry["file"]
    kinds = {e["kind"] for e in ENTRIES}
    assert {"export-with-builds", "hand-written"} <= kinds
    assert sum(e["gpu"] for e in ENTRIES) >= 10 and sum(not e["gpu"] for e in ENTRIES) >= 5


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_each_file_gets_the_verdict_a_person_gives_it(capsys, monkeypatch, entry):
    code, report, err = check(capsys, monkeypatch, entry)
    assert code in (0, 1), f"{entry['file']}: exit {code}: {err}"  # every file conda accepts is read
    assert "Traceback" not in err
    messages = "\n".join(f"{f['severity']} [{f['rule']}] {f['message']}" for f in report["findings"])
    if entry["works"] is not False:
        assert report["verdict"] != "block", f"a stack not known to fail is blocked ({entry['why']}):\n{messages}"
    held_to = entry.get("tfguard", entry["expect"])
    assert report["verdict"] == held_to, f"{entry.get('tfguard_why') or entry['why']}\n{messages}"


def test_where_tfguard_differs_from_the_engineer_it_says_why_and_never_blocks_a_working_stack():
    differ = [e for e in ENTRIES if "tfguard" in e and e["tfguard"] != e["expect"]]
    assert all(e.get("tfguard_why") for e in differ)
    assert not [e["file"] for e in differ if e["tfguard"] == "block" and e["works"] is not False]


def test_every_block_is_a_file_the_engineer_also_says_fails():
    blocked = [e for e in ENTRIES if e.get("tfguard", e["expect"]) == "block"]
    assert blocked, "the corpus has no broken file: it would not show that tfguard blocks anything"
    assert all(e["works"] is False and e["expect"] == "block" for e in blocked), [e["file"] for e in blocked]


def _channels_named(command: str) -> list[tuple[str, str]]:
    """``(channel, package)`` for each channel a fix command names (``-c ch`` / ``ch::name``)."""
    named, channel, words = [], "", shlex.split(command.split(" && ")[0]) if command.startswith("conda ") else []
    for i, word in enumerate(words):
        if word in ("-c", "--channel") and i + 1 < len(words):
            channel = words[i + 1]
    for word in words[2:]:
        if word.startswith("-") or (words[words.index(word) - 1] in ("-c", "--channel", "-n", "-p")):
            continue
        if "::" in word:
            ch, _, spec = word.partition("::")
            named.append((ch, re.split(r"[=<>!~ ]", spec)[0]))
        elif channel:
            named.append((channel, re.split(r"[=<>!~ ]", word)[0]))
    return named


def test_fixes_never_name_a_channel_that_does_not_carry_the_package(capsys, monkeypatch):
    kb = load_knowledge()
    walked = 0
    for entry in ENTRIES:
        _, report, _ = check(capsys, monkeypatch, entry)
        for finding in report.get("findings", ()):
            for channel, package in _channels_named(finding["fix"]):
                walked += 1
                channel = "defaults" if channel == "pkgs/main" else channel
                assert kb.carries(channel, package), f"{entry['file']}: {finding['fix']}"
    assert walked, "the corpus produced no fix that names a channel: this test would prove nothing"
