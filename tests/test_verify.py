"""The pure parts of ``python -m conda_tfguard.knowledge verify``: the plan, the pip commands,
reading the probe's output, and the evidence rows. No network, no virtualenvs."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conda_tfguard.knowledge import verify
from conda_tfguard.knowledge.verify import (
    Force,
    PlanError,
    Stack,
    classify,
    companion_install_command,
    control_install_command,
    force_install_command,
    load_plan,
    make_row,
    merge_rows,
    parse_plan,
    render_evidence,
    restore_commands,
    row_id,
    select,
)

PY = Path("/venv/bin/python")
TODAY = "2026-11-30"


def _plan(stacks, companions=()):
    return parse_plan({"schema": 1, "stacks": stacks, "companions": list(companions)})


# --- the plan


def test_the_shipped_plan_covers_every_tensorflow_line_from_1_13_to_2_21():
    plan = load_plan(verify.DEFAULT_PLAN)
    lines = {".".join(s.tensorflow.split(".")[:2]) for s in plan.stacks}
    wanted = {"1.13", "1.14", "1.15"} | {f"2.{minor}" for minor in range(0, 22)}
    assert wanted <= lines


def test_the_shipped_plan_has_at_least_150_combinations_and_a_control_per_stack():
    plan = load_plan(verify.DEFAULT_PLAN)
    assert sum(len(s.forces) for s in plan.stacks) >= 150
    assert plan.size == len(plan.stacks) + sum(len(s.forces) for s in plan.stacks)


def test_the_shipped_plan_tries_both_2_14_and_both_2_15_patches():
    versions = {s.tensorflow for s in load_plan(verify.DEFAULT_PLAN).stacks}
    assert {"2.12.0", "2.14.0", "2.14.1", "2.15.0", "2.15.1"} <= versions


def test_the_shipped_plan_is_not_a_knowledge_file():
    assert verify.DEFAULT_PLAN.parent.name == "plans"
    assert verify.DEFAULT_PLAN.parent.parent == verify.HERE


def test_a_second_stack_of_the_same_tensorflow_tags_its_ids_with_the_python():
    plan = _plan([
        {"tensorflow": "1.15.5", "python": "3.6", "distribution": "tensorflow", "force": ["h5py==2.10.0"]},
        {"tensorflow": "1.15.5", "python": "3.7", "distribution": "tensorflow", "force": ["h5py==2.10.0"]},
    ])
    ids = [row_id(s, f) for s in plan.stacks for f in (None,) + s.forces]
    assert ids == ["tf1.15.5-control", "tf1.15.5-h5py2.10.0",
                   "tf1.15.5-py3.7-control", "tf1.15.5-py3.7-h5py2.10.0"]


def test_the_distribution_defaults_to_tensorflow_cpu():
    plan = _plan([{"tensorflow": "2.15.1", "python": "3.11"}])
    assert plan.stacks[0].distribution == "tensorflow-cpu"


@pytest.mark.parametrize("stacks, message", [
    ([{"tensorflow": "2.15.1", "python": "3.11", "force": ["keras>=3"]}], "package==version"),
    ([{"tensorflow": "2.15.1", "python": "3.11", "force": ["keras==three"]}], "bad version"),
    ([{"python": "3.11"}], "stacks[0]"),
    ([{"tensorflow": "2.15.1", "python": "3.11", "force": ["keras==3.0.5", "Keras==3.0.5"]}], "duplicate"),
])
def test_a_wrong_plan_says_where(stacks, message):
    with pytest.raises(PlanError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _plan(stacks)


def test_a_plan_without_schema_is_refused():
    with pytest.raises(PlanError, match="schema"):
        parse_plan({"stacks": []})


def test_only_keeps_the_matching_forces_and_their_stack():
    plan = _plan([
        {"tensorflow": "2.15.1", "python": "3.11", "force": ["keras==3.0.5", "numpy==2.0.2"]},
        {"tensorflow": "2.16.2", "python": "3.12", "force": ["keras==2.15.0"]},
    ])
    kept = select(plan, ["tf2.15.1-keras*"])
    assert [s.tensorflow for s in kept.stacks] == ["2.15.1"]
    assert kept.stacks[0].forces == (Force("keras", "3.0.5"),)
    assert select(plan, ["tf2.16.2"]).stacks[0].forces == (Force("keras", "2.15.0"),)


def test_companions_apply_by_the_forced_version():
    plan = _plan([{"tensorflow": "1.15.5", "python": "3.6"}],
                 [{"package": "keras", "versions": "<2.6", "install": ["pyyaml", "scipy"]}])
    assert plan.companions_for(Force("keras", "2.2.4")) == ("pyyaml", "scipy")
    assert plan.companions_for(Force("keras", "2.11.0")) == ()
    assert plan.companions_for(Force("numpy", "1.19.5")) == ()


# --- pip commands


def test_the_control_lets_pip_resolve_with_the_compiled_packages_as_wheels():
    stack = Stack("1.15.5", "3.6", "tensorflow", ())
    cmd = control_install_command(PY, stack)
    assert cmd[-1] == "tensorflow==1.15.5"
    assert "--no-deps" not in cmd
    binary = next(a for a in cmd if a.startswith("--only-binary="))
    assert {"tensorflow", "numpy", "h5py", "protobuf"} <= set(binary.split("=", 1)[1].split(","))


def test_a_force_is_one_wheel_without_dependencies():
    cmd = force_install_command(PY, Force("protobuf", "4.21.12"))
    assert cmd[:4] == [str(PY), "-m", "pip", "install"]
    assert {"--no-deps", "--only-binary=:all:"} <= set(cmd)
    assert cmd[-1] == "protobuf==4.21.12"


def test_companions_are_pinned_by_the_control():
    cmd = companion_install_command(PY, ["pyyaml", "scipy"], Path("/venv/control.txt"))
    assert cmd[cmd.index("-c") + 1] == "/venv/control.txt"
    assert cmd[-2:] == ["pyyaml", "scipy"]


def test_restore_uninstalls_what_the_control_lacked_and_reinstalls_what_changed():
    control = {"numpy": "1.18.5", "keras-applications": "1.0.8"}
    now = {"numpy": "1.19.5", "keras-applications": "1.0.8", "keras": "2.2.4", "pyyaml": "6.0"}
    cmds = restore_commands(PY, control, now)
    assert cmds[0][3:] == ["uninstall", "-y", "keras", "pyyaml"]
    assert cmds[1][3] == "install" and "--no-deps" in cmds[1] and cmds[1][-1] == "numpy==1.18.5"
    assert restore_commands(PY, control, dict(control)) == []


# --- the probe's output


def _out(*items):
    import json
    return "noise from TensorFlow\n" + "".join(verify.MARK + json.dumps(i) + "\n" for i in items)


def test_a_passing_probe_is_a_pass_with_what_it_saw_installed():
    out = _out({"installed": {"numpy": "1.26.4", "keras": "3.0.5"}}, {"stage": "import"}, {"stage": "ok"},
               {"result": {"result": "pass", "stage": "ok", "error": ""}})
    assert classify(0, out, "") == {"result": "pass", "stage": "ok", "error": "",
                                    "installed": {"numpy": "1.26.4", "keras": "3.0.5"}}


def test_a_failing_probe_keeps_its_stage_and_first_error_line():
    error = "TypeError: Descriptors cannot be created directly."
    out = _out({"installed": {}}, {"stage": "import"}, {"result": {"result": "fail", "stage": "import", "error": error}})
    got = classify(0, out, "")
    assert (got["result"], got["stage"], got["error"]) == ("fail", "import", error)


def test_a_crash_is_a_failure_at_the_last_stage_reached():
    got = classify(-11, _out({"stage": "import"}, {"stage": "op"}), "")
    assert (got["result"], got["stage"], got["error"]) == ("fail", "op", "crashed: SIGSEGV")


def test_a_timeout_is_a_failure():
    got = classify(None, _out({"stage": "model"}), "", timeout=300)
    assert (got["result"], got["stage"], got["error"]) == ("fail", "model", "timeout after 300s")


def test_a_probe_that_dies_without_a_result_shows_the_last_stderr_line():
    got = classify(1, _out({"stage": "import"}), "Traceback\nImportError: libfoo.so: cannot open\n")
    assert got["error"] == "exit code 1: ImportError: libfoo.so: cannot open"


def test_the_probe_script_compiles():
    compile(verify.PROBE, "probe.py", "exec")


# --- rows and the evidence file


def _row(tf="2.15.1", force=None, result="pass", stage="ok", error=""):
    stack = Stack(tf, "3.11", "tensorflow-cpu", ())
    outcome = {"result": result, "stage": stage, "error": error,
               "installed": {"numpy": "1.26.4", "protobuf": "4.25.8", "tensorflow": tf, "scipy": "1.0"}}
    return make_row(stack, force, outcome, 14.23, TODAY)


def test_a_row_has_the_file_layout_and_only_the_reported_packages():
    row = _row(force=Force("keras", "3.0.5"))
    assert list(row) == ["id", "tensorflow", "distribution", "python", "control", "forced", "installed",
                         "result", "stage", "error", "seconds", "checked", "source"]
    assert row["id"] == "tf2.15.1-keras3.0.5"
    assert row["installed"] == {"numpy": "1.26.4", "protobuf": "4.25.8"}
    assert row["seconds"] == 14.2 and row["source"] == "tfv-verify-2026-11-30"


def test_a_control_row_has_no_forced_package():
    row = _row()
    assert row["control"] is True and "forced" not in row and row["id"] == "tf2.15.1-control"


def test_the_evidence_file_reads_back_with_versions_as_strings():
    rows = [_row(force=Force("keras", "3.0.5")),
            _row(tf="2.10.1", force=Force("protobuf", "4.21.12"), result="fail", stage="import",
                 error='TypeError: Descriptors cannot be created directly: "quoted" \\ back')]
    t0 = datetime.datetime(2026, 11, 30, 16, 7)
    text = render_evidence(rows, {"tfv-verify-2026-11-30": {"url": verify.SOURCE_URL, "checked": TODAY,
                                                            "title": verify.SOURCE_TITLE}},
                           "linux x86_64, AMD EPYC, 2 cores", t0, t0 + datetime.timedelta(minutes=75))
    assert "wall time 1:15." in text.splitlines()[1]
    data = YAML(typ="safe").load(io.StringIO(text))
    assert data["schema"] == 1
    assert [r["id"] for r in data["evidence"]] == ["tf2.10.1-protobuf4.21.12", "tf2.15.1-keras3.0.5"]
    first = data["evidence"][0]
    assert first["tensorflow"] == "2.10.1" and first["python"] == "3.11" and first["checked"] == TODAY
    assert first["forced"] == {"package": "protobuf", "version": "4.21.12"}
    assert first["installed"]["protobuf"] == "4.25.8"
    assert first["error"] == rows[1]["error"]
    assert data["sources"]["tfv-verify-2026-11-30"]["title"] == verify.SOURCE_TITLE


def test_rows_sort_by_tensorflow_version_then_id():
    rows = [_row(tf="2.10.1"), _row(tf="2.9.3"), _row(tf="1.15.5", force=Force("h5py", "2.10.0")), _row(tf="1.15.5")]
    ids = [r["id"] for r in merge_rows([], rows)]
    assert ids == ["tf1.15.5-control", "tf1.15.5-h5py2.10.0", "tf2.9.3-control", "tf2.10.1-control"]


def test_a_rerun_replaces_only_the_rows_it_reran():
    old = [_row(tf="2.9.3"), _row(tf="2.10.1", result="fail", stage="import", error="x")]
    new = [_row(tf="2.10.1")]
    merged = merge_rows(old, new)
    assert [(r["id"], r["result"]) for r in merged] == [("tf2.9.3-control", "pass"), ("tf2.10.1-control", "pass")]


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "evidence.yaml"
    verify.write_atomic(target, "schema: 1\n")
    verify.write_atomic(target, "schema: 1\nevidence: []\n")
    assert target.read_text() == "schema: 1\nevidence: []\n"
    assert [p.name for p in tmp_path.iterdir()] == ["evidence.yaml"]


def test_read_evidence_of_a_missing_file_is_empty(tmp_path):
    assert verify.read_evidence(tmp_path / "none.yaml") == ([], {})


def test_list_prints_the_row_ids_without_running_anything(capsys):
    assert verify.main(["--list", "--only", "tf2.15.1-keras3.0.5"]) == 0
    assert capsys.readouterr().out.split() == ["tf2.15.1-control", "tf2.15.1-keras3.0.5"]


def test_a_path_into_the_throwaway_venv_is_cut_to_site_packages():
    error = ("ImportError: cannot import name 'runtime_version' from 'google.protobuf' "
             "(/work/scratch/verify/venvs/tf2.20.0-py3.12/lib/python3.12/site-packages/google/protobuf/__init__.py)")
    row = _row(result="fail", stage="import", error=error)
    assert row["error"] == ("ImportError: cannot import name 'runtime_version' from 'google.protobuf' "
                            "(site-packages/google/protobuf/__init__.py)")


def _runner(tmp_path, plan, **kw):
    return verify.Runner(plan, tmp_path / "work", tmp_path / "evidence.yaml", 60.0, 60.0, None, **kw)


def test_each_finished_row_is_written_at_once_and_a_rerun_keeps_the_other_rows(tmp_path):
    plan = _plan([{"tensorflow": "2.15.1", "python": "3.11", "force": ["keras==3.0.5"]},
                  {"tensorflow": "2.9.3", "python": "3.10"}])
    first = _runner(tmp_path, plan)
    first.record(_row(tf="2.9.3"))
    first.record(_row(force=Force("keras", "3.0.5"), result="fail", stage="model", error="x"))
    again = _runner(tmp_path, plan)
    again.record(_row(force=Force("keras", "3.0.5")))
    rows, sources = verify.read_evidence(tmp_path / "evidence.yaml")
    assert [(r["id"], r["result"]) for r in rows] == [("tf2.9.3-control", "pass"), ("tf2.15.1-keras3.0.5", "pass")]
    assert list(sources) == ["tfv-verify-2026-11-30"]


def test_a_stack_pip_cannot_install_leaves_no_row_not_even_a_stale_one(tmp_path):
    plan = _plan([{"tensorflow": "2.4.4", "python": "3.6"}, {"tensorflow": "2.9.3", "python": "3.10"}])
    _runner(tmp_path, plan).record(_row(tf="2.4.4", result="fail", stage="import", error="old"))
    rerun = _runner(tmp_path, plan)
    rerun.record(_row(tf="2.9.3"))
    rerun.unobserved(["tf2.4.4-control"], "no wheel")
    rows, _ = verify.read_evidence(tmp_path / "evidence.yaml")
    assert [r["id"] for r in rows] == ["tf2.9.3-control"]


def test_prune_drops_rows_the_plan_no_longer_has(tmp_path):
    old = _plan([{"tensorflow": "2.9.3", "python": "3.10", "force": ["protobuf==3.20.3"]}])
    first = _runner(tmp_path, old)
    first.record(_row(tf="2.9.3"))
    first.record(_row(tf="2.9.3", force=Force("protobuf", "3.20.3")))
    new = _plan([{"tensorflow": "2.9.3", "python": "3.10"}])
    pruning = _runner(tmp_path, new, keep_ids={"tf2.9.3-control"})
    pruning.record(_row(tf="2.9.3"))
    rows, _ = verify.read_evidence(tmp_path / "evidence.yaml")
    assert [r["id"] for r in rows] == ["tf2.9.3-control"]
