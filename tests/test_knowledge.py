"""The shipped knowledge base: complete, sourced, and loud about broken files."""

from __future__ import annotations

import datetime
import textwrap

import pytest

from conda_tfguard.errors import KnowledgeError
from conda_tfguard.knowledge import SHIPPED_DIR, load_knowledge
from conda_tfguard.names import might_matter
from conda_tfguard.versions import parse_version


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


def test_every_tensorflow_line_from_2_0_to_the_newest_is_known(kb):
    newest = parse_version(kb.newest["tensorflow"].version)
    lines = [f"2.{minor}" for minor in range(0, newest.release[1] + 1)]
    missing = [line for line in lines if line not in kb.lines]
    assert not missing, f"no facts for TensorFlow {missing}"


def test_every_line_says_which_pythons_it_supports(kb):
    assert all(entry.facts.python is not None for entry in kb.lines.values())


def test_every_fact_carries_a_url_and_the_date_it_was_checked(kb):
    for source in kb.sources.values():
        assert source.url.startswith(("https://", "http://")), source
        assert datetime.date.fromisoformat(source.checked) <= datetime.date.today() + datetime.timedelta(days=1)
    facts = [r.source for e in kb.lines.values() for r in e.facts.requires.values()]
    facts += [b.source for e in kb.lines.values() for b in e.facts.breaks]
    facts += [t.source for t in kb.toolkits] + [c.source for c in kb.channel_builds]
    assert facts and all(f.url and f.checked for f in facts)


def test_nvidia_tables_cover_cuda_10_to_13(kb):
    majors = {parse_version(t.cuda).release[0] for t in kb.toolkits}
    assert {10, 11, 12, 13} <= majors
    assert {11, 12, 13} <= set(kb.cuda_families)


def test_every_package_family_member_passes_the_solve_hooks_prefilter(kb):
    # The hooks skip transactions by name before loading this file; no member may slip by.
    members = [m for fam in kb.families.values() for m in fam.members]
    assert [m for m in members if not might_matter(m)] == []
    assert all(might_matter(p) for p in kb.judged)


def test_the_knowledge_base_is_loaded_once_per_process():
    assert load_knowledge() is load_knowledge()


# --------------------------------------------------------------------------- broken files
def write(tmp_path, text):
    path = tmp_path / "mine.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BROKEN = [
    ("not yaml", "schema: 1\nreleases: [\n", "mine.yaml:", "not valid YAML"),
    ("no schema", "releases: []\n", "mine.yaml", "schema: 1"),
    ("empty", "", "mine.yaml", "empty"),
    ("a list at the top", "- 1\n- 2\n", "mine.yaml", "must be a mapping"),
    ("a fact without a source", """\
        schema: 1
        releases:
          - tensorflow: "2.15"
            python: {supported: ["3.11"]}
        """, "mine.yaml:4", "no source"),
    ("a source nobody defined", """\
        schema: 1
        releases:
          - tensorflow: "2.15"
            python: {supported: ["3.11"], source: nowhere}
        """, "mine.yaml:4", "'nowhere' is not defined"),
    ("a bad specifier", """\
        schema: 1
        sources: {me: {url: "https://example.org", checked: 2026-11-21}}
        releases:
          - tensorflow: "2.15"
            requires:
              numpy: {declared: ">>1", source: me}
        """, "mine.yaml:6", "not a PEP 440"),
    ("an unknown key", """\
        schema: 1
        sources: {me: {url: "https://example.org", checked: 2026-11-21}}
        releases:
          - tensorflow: "2.15"
            pythons: {supported: ["3.11"], source: me}
        """, "mine.yaml:5", "unknown key 'pythons'"),
    ("a source without a date", """\
        schema: 1
        sources: {me: {url: "https://example.org", checked: yesterday}}
        """, "mine.yaml:2", "YYYY-MM-DD"),
]


@pytest.mark.parametrize("case, text, where, what", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_knowledge_file_is_one_clear_error_naming_file_and_line(tmp_path, case, text, where, what):
    path = write(tmp_path, text)
    with pytest.raises(KnowledgeError) as error:
        load_knowledge([path])
    message = str(error.value)
    assert where in message and what in message
    assert "\n" not in message and "Traceback" not in message


def test_a_missing_user_file_is_a_clear_error(tmp_path):
    with pytest.raises(KnowledgeError, match="cannot read knowledge file"):
        load_knowledge([tmp_path / "nope.yaml"])


def test_a_huge_user_file_is_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("schema: 1\n" + "# padding\n" * 500_000)
    with pytest.raises(KnowledgeError, match="over the"):
        load_knowledge([path])


def test_a_user_file_overrides_and_extends_the_shipped_one(tmp_path):
    path = write(tmp_path, """\
        schema: 1
        sources:
          site-policy: {url: "https://intranet.example.org/tf", checked: 2026-11-20}
        releases:
          - tensorflow: "2.15"
            python: {supported: ["3.11", "3.12"], source: site-policy}
          - tensorflow: "2.99"
            python: {supported: ["3.13"], source: site-policy}
        """)
    kb = load_knowledge([path])
    assert kb.release("2.15.0").python.supported == ("3.11", "3.12")
    assert kb.release("2.15.0").requires["numpy"].declared  # the rest of the shipped line stays
    assert kb.release("2.99.1").python.supported == ("3.13",)
    assert kb.newest_line() == "2.99"


def test_shipped_files_all_start_with_the_schema_line():
    for path in SHIPPED_DIR.glob("*.yaml"):
        assert "schema: 1" in path.read_text(encoding="utf-8"), path


# --------------------------------------------------------------------------- the parse cache
def test_the_parsed_knowledge_is_cached_and_a_broken_cache_is_ignored(tmp_path, monkeypatch):
    from conda_tfguard import knowledge

    monkeypatch.setenv("TFGUARD_CACHE_DIR", str(tmp_path / "cache"))
    user = write(tmp_path, """\
        schema: 1
        sources: {me: {url: "https://example.org", checked: 2026-11-21}}
        releases:
          - tensorflow: "2.15"
            python: {supported: ["3.12"], source: me}
        """)
    knowledge._load.cache_clear()
    first = load_knowledge([user])
    cached = sorted((tmp_path / "cache").glob("knowledge-*.json"))
    assert len(cached) == len(list(SHIPPED_DIR.glob("*.yaml"))) + 1
    knowledge._load.cache_clear()
    assert load_knowledge([user]) == first  # read back from the cache
    for path in cached:
        path.write_text("{ not json")
    knowledge._load.cache_clear()
    assert load_knowledge([user]) == first  # a broken cache is parsed over


def test_an_edited_knowledge_file_is_not_served_from_the_cache(tmp_path, monkeypatch):
    from conda_tfguard import knowledge

    monkeypatch.setenv("TFGUARD_CACHE_DIR", str(tmp_path / "cache"))
    body = ('schema: 1\nsources: {me: {url: "https://example.org", checked: 2026-11-21}}\n'
            'releases:\n  - tensorflow: "2.15"\n    python: {supported: ["%s"], source: me}\n')
    user = tmp_path / "mine.yaml"
    user.write_text(body % "3.12")
    knowledge._load.cache_clear()
    assert load_knowledge([user]).release("2.15.0").python.supported == ("3.12",)
    user.write_text(body % "3.13-and-more")  # another size, another modification time
    knowledge._load.cache_clear()
    with pytest.raises(KnowledgeError, match="mine.yaml:5"):
        load_knowledge([user])
    knowledge._load.cache_clear()
    with pytest.raises(KnowledgeError, match="mine.yaml:5"):
        load_knowledge([user])  # served from the cache, the line still comes from the file


def test_no_cache_when_the_cache_directory_is_set_empty(tmp_path, monkeypatch):
    from conda_tfguard import knowledge
    from conda_tfguard.knowledge.loader import cache_dir

    monkeypatch.setenv("TFGUARD_CACHE_DIR", "")
    assert cache_dir() is None
    knowledge._load.cache_clear()
    assert load_knowledge().lines
