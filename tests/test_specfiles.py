"""``check -f FILE``: every spec form and file format conda reads, and honest channels.

The spec tables were checked against conda's own MatchSpec (conda 26.7.1): the same
name, version, build, channel and subdir, or an error where conda errs. What
"pinned" means is ours: one version (``==1.2.3``, ``1.2.3``, ``=1.2.3``, ``=1.2.3=build``)
is checked; a ``major.minor`` line (``=2.10``, ``2.10.*``) only for Python, CUDA and
cuDNN, whose rules read the line alone; anything wider is listed as unchecked.
"""

from __future__ import annotations

import json
import logging
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conda_tfguard.__main__ import main
from conda_tfguard.envfile import ENVIRONMENT_YML, EXPLICIT, EXPORT, SPEC_LIST, EnvFile, read_env_file
from conda_tfguard.errors import SpecError
from conda_tfguard.packages import PIP_CHANNEL
from conda_tfguard.specs import read_package_url, read_spec

def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def one_line_error(code, out, err, *needles):
    assert "Traceback" not in err and code == 2 and out == "", (code, out, err)
    assert err.startswith("tfguard: error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)


# =========================================================================== one spec, as conda reads it
# (spec, name, exact version, line, build, channel, subdir)
SPECS = [
    ("keras =2.10", "keras", "", "2.10", "", "", ""),
    ("python ==3.10", "python", "3.10", "", "", "", ""),
    ("python=3.10", "python", "", "3.10", "", "", ""),
    ("python 3.10", "python", "3.10", "", "", "", ""),  # conda: a bare version is ==
    ("conda-forge::scikit-learn ==1.0", "scikit-learn", "1.0", "", "", "conda-forge", ""),
    ("numpy 1.26.4 py311h0_0", "numpy", "1.26.4", "", "py311h0_0", "", ""),
    ("numpy=1.26.4=py311h0_0", "numpy", "1.26.4", "", "py311h0_0", "", ""),
    ("numpy==1.26.4", "numpy", "1.26.4", "", "", "", ""),
    ("numpy==1.26.4=py311h0_0", "numpy", "1.26.4", "", "py311h0_0", "", ""),
    ("numpy=1.26.4 py311h0_0", "numpy", "1.26.4", "", "py311h0_0", "", ""),
    ("numpy=1.26.4", "numpy", "1.26.4", "", "", "", ""),  # conda: 1.26.4.*, that one release
    ("Numpy=1.26.4", "numpy", "1.26.4", "", "", "", ""),
    ("conda-forge::numpy=1.26.4=py311h0_0", "numpy", "1.26.4", "", "py311h0_0", "conda-forge", ""),
    ("conda-forge/linux-64::numpy=1.26.4", "numpy", "1.26.4", "", "", "conda-forge", "linux-64"),
    ("conda-forge/linux-64::numpy 1.26.4 py311_0", "numpy", "1.26.4", "", "py311_0", "conda-forge", "linux-64"),
    ("https://conda.anaconda.org/conda-forge/linux-64::numpy=1.26.4", "numpy", "1.26.4", "", "", "conda-forge",
     "linux-64"),
    ("pkgs/main::numpy=1.26.4", "numpy", "1.26.4", "", "", "defaults", ""),
    ("conda-forge/label/dev::numpy=1.26.4", "numpy", "1.26.4", "", "", "conda-forge", ""),
    ("numpy[version='>=1.2']", "numpy", "", "", "", "", ""),
    ("numpy[version='1.26.4']", "numpy", "1.26.4", "", "", "", ""),
    ("numpy[version='=1.26.4']", "numpy", "1.26.4", "", "", "", ""),
    ("numpy[version=1.26.4, build=py311_0]", "numpy", "1.26.4", "", "py311_0", "", ""),
    ("numpy[version='1.26.4' build='py311_0']", "numpy", "1.26.4", "", "py311_0", "", ""),
    ("numpy[channel=conda-forge,version=1.26.4]", "numpy", "1.26.4", "", "", "conda-forge", ""),
    ("numpy[subdir=linux-64]", "numpy", "", "", "", "", "linux-64"),
    ("numpy==[version='1.2',build=x]", "numpy", "1.2", "", "x", "", ""),
    ("numpy >=1.2,<2", "numpy", "", "", "", "", ""),
    ("numpy >=1.0 , < 2.0 py34_0", "numpy", "", "", "py34_0", "", ""),
    ("numpy 1.2|1.3", "numpy", "", "", "", "", ""),
    ("numpy!=1.2", "numpy", "", "", "", "", ""),
    ("numpy~=1.2.3", "numpy", "", "", "", "", ""),
    ("numpy 1.2.*", "numpy", "", "1.2", "", "", ""),
    ("numpy=1.2.*", "numpy", "", "1.2", "", "", ""),
    ("numpy 1.2*", "numpy", "", "1.2", "", "", ""),
    ("numpy 1.2.3.*", "numpy", "1.2.3", "", "", "", ""),
    ("numpy=2", "numpy", "", "", "", "", ""),  # a major: more than a line
    ("numpy 1.*.3", "numpy", "", "", "", "", ""),
    ("numpy ^1\\.2.*$", "numpy", "", "", "", "", ""),
    ("numpy=", "numpy", "", "", "", "", ""),  # conda: any numpy
    ("numpy>", "numpy", "", "", "", "", ""),  # conda: any numpy, too
    ("numpy", "numpy", "", "", "", "", ""),
    ("tensorflow 2.10.0 cuda*", "tensorflow", "2.10.0", "", "cuda*", "", ""),
    ("tensorflow=2.10.0=cuda*", "tensorflow", "2.10.0", "", "cuda*", "", ""),
    ("tensorflow>=2.17.0=cuda12*", "tensorflow", "", "", "cuda12*", "", ""),
    ("numpy=1.26.4 # a comment", "numpy", "1.26.4", "", "", "", ""),
    ("numpy=1.26.4 if __unix", "numpy", "1.26.4", "", "", "", ""),
    ("x264=1!152.20180717=h470a237_1", "x264", "1!152.20180717", "", "h470a237_1", "", ""),
    ("numpy=1.0_1", "numpy", "1.0_1", "", "", "", ""),
    ("numpy==2.10.0rc1", "numpy", "2.10.0rc1", "", "", "", ""),
    ("numpy 2.15.0-1", "numpy", "2.15.0-1", "", "", "", ""),
    ("_tflow_select=2.3.0=gpu", "_tflow_select", "2.3.0", "", "gpu", "", ""),
    ("https://conda.anaconda.org/conda-forge/linux-64/tensorflow-base-2.10.0-cuda112py39h2957820_0.tar.bz2",
     "tensorflow-base", "2.10.0", "", "cuda112py39h2957820_0", "conda-forge", "linux-64"),
]


@pytest.mark.parametrize("spec, name, exact, line, build, channel, subdir", SPECS, ids=[s[0] for s in SPECS])
def test_a_spec_reads_as_conda_reads_it(spec, name, exact, line, build, channel, subdir):
    reading = read_spec(spec)
    assert (reading.name, reading.exact, reading.line, reading.build, reading.channel, reading.subdir) == (
        name, exact, line, build, channel, subdir)


@pytest.mark.parametrize("spec", [
    "", "   ", "# only a comment", "python='3.10'", 'python="3.10"', "numpy==", "numpy =", "numpy >=", "numpy 1..2",
    "numpy .1", "numpy 1!2!3", "numpy a!2", "numpy 1+a+b", "bad$name=1.0", "-e .", "numpy[version='1.2'",
    "numpy[this is not key value]",
])
def test_a_spec_conda_rejects_is_a_one_line_error(spec):
    with pytest.raises(SpecError) as error:
        read_spec(spec)
    assert "\n" not in str(error.value)


# =========================================================================== environment.yml entries
ENV_CHANNELS = ("nvidia", "conda-forge")
PINNED, UNCHECKED = "pinned", "unchecked"
# (entry as written in the YAML list, outcome, (name, version, build, channel, candidates) or the reason)
ENTRIES = [
    ("keras =2.10", UNCHECKED, "names the 2.10 line, not one version"),
    ("tensorflow=2.10", UNCHECKED, "names the 2.10 line, not one version"),
    ("tensorflow 2.10.*", UNCHECKED, "names the 2.10 line, not one version"),
    ("nvidia::cuda-nvcc=11.3", UNCHECKED, "names the 11.3 line, not one version"),
    ("python ==3.10", PINNED, ("python", "3.10", "", "", ENV_CHANNELS)),
    ("python=3.10", PINNED, ("python", "3.10", "", "", ENV_CHANNELS)),
    ("python 3.10.*", PINNED, ("python", "3.10", "", "", ENV_CHANNELS)),
    ("'python=3.10'", PINNED, ("python", "3.10", "", "", ENV_CHANNELS)),
    ('"python=3.10"', PINNED, ("python", "3.10", "", "", ENV_CHANNELS)),
    ("python='3.10'", UNCHECKED, "is a spec conda cannot read (conda rejects quotes in a version)"),
    ("cudatoolkit=11.2", PINNED, ("cudatoolkit", "11.2", "", "", ENV_CHANNELS)),
    ("cudnn 8.1.*", PINNED, ("cudnn", "8.1", "", "", ENV_CHANNELS)),
    ("conda-forge::cuda-version=12.2", PINNED, ("cuda-version", "12.2", "", "conda-forge", ())),
    ("cuda-version 12.*", UNCHECKED, "is not pinned"),
    ("conda-forge::scikit-learn ==1.0", PINNED, ("scikit-learn", "1.0", "", "conda-forge", ())),
    ("numpy 1.26.4 py311h0_0", PINNED, ("numpy", "1.26.4", "py311h0_0", "", ENV_CHANNELS)),
    ("numpy=1.26.4=py311h0_0", PINNED, ("numpy", "1.26.4", "py311h0_0", "", ENV_CHANNELS)),
    ("numpy==1.26.4", PINNED, ("numpy", "1.26.4", "", "", ENV_CHANNELS)),
    ("conda-forge::numpy=1.26.4=py311h0_0", PINNED, ("numpy", "1.26.4", "py311h0_0", "conda-forge", ())),
    ("conda-forge/linux-64::numpy 1.26.4 py311_0", PINNED, ("numpy", "1.26.4", "py311_0", "conda-forge", ())),
    ("pkgs/main::numpy=1.26.4", PINNED, ("numpy", "1.26.4", "", "defaults", ())),
    ("numpy[version='>=1.2']", UNCHECKED, "is not pinned"),
    ("numpy[version='1.26.4']", PINNED, ("numpy", "1.26.4", "", "", ENV_CHANNELS)),
    ("numpy >=1.2,<2", UNCHECKED, "is not pinned"),
    ("numpy 1.2.*", UNCHECKED, "names the 1.2 line, not one version"),
    ("numpy=1.26", UNCHECKED, "names the 1.26 line, not one version"),
    ("numpy", UNCHECKED, "is not pinned"),
    ("numpy 1..2", UNCHECKED, "is a spec conda cannot read"),
    ("tensorflow 2.10.0 cuda*", PINNED, ("tensorflow", "2.10.0", "", "", ENV_CHANNELS)),  # a glob is no build
    ("x264=1!152.20180717=h470a237_1", PINNED, ("x264", "1!152.20180717", "h470a237_1", "", ENV_CHANNELS)),
    ("https://conda.anaconda.org/conda-forge/linux-64/tensorflow-base-2.10.0-cuda112py39h2957820_0.tar.bz2",
     PINNED, ("tensorflow-base", "2.10.0", "cuda112py39h2957820_0", "conda-forge", ())),
    ("[a, list]", UNCHECKED, "is not a package spec"),
    ("pip: [tensorflow==2.9.3]", PINNED, ("tensorflow", "2.9.3", "", PIP_CHANNEL, ())),
    ("pip: ['tensorflow[and-cuda]==2.15.0']", PINNED, ("tensorflow", "2.15.0", "", PIP_CHANNEL, ())),
    ("pip: [tf_keras==2.15.0]", PINNED, ("tf-keras", "2.15.0", "", PIP_CHANNEL, ())),
    ("pip: [tensorflow-gpu>=2.4]", UNCHECKED, "is not pinned"),
    ("pip: [-r requirements.txt]", UNCHECKED, "is not pinned"),
    ("pip: [-e .]", UNCHECKED, "is not pinned"),
    ("pip: ['git+https://github.com/example/proj.git']", UNCHECKED, "is not pinned"),
    ("pip: ['https://example.org/tensorflow-2.15.0-cp311-cp311-manylinux_2_17_x86_64.whl']", UNCHECKED,
     "is not pinned"),
]


@pytest.mark.parametrize("entry, outcome, expected", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_every_environment_file_entry_is_pinned_or_unchecked_with_its_reason(tmp_path, entry, outcome, expected):
    env = write(tmp_path, "environment.yml", f"channels: [{', '.join(ENV_CHANNELS)}]\ndependencies:\n  - {entry}\n")
    parsed = read_env_file(env)
    assert parsed.format == ENVIRONMENT_YML
    if outcome == PINNED:
        assert parsed.unchecked == (), parsed.unchecked
        [view] = parsed.packages
        assert (view.name, view.version, view.build, view.channel, view.candidates) == expected
    else:
        assert parsed.packages == ()
        [spec] = parsed.unchecked
        assert parsed.reasons.get(spec, "is not pinned").startswith(expected), parsed.reasons


def test_the_line_pins_read_as_lines_come_from_the_knowledge_bases_families(tmp_path):
    env = write(tmp_path, "environment.yml", "dependencies: [python=3.11, cudatoolkit=11.2, tensorflow=2.10]\n")
    assert [v.name for v in read_env_file(env).packages] == ["python", "cudatoolkit"]
    assert read_env_file(env).lines == ("python=3.11", "cudatoolkit=11.2")
    nothing_by_line = read_env_file(env, by_line=())
    assert nothing_by_line.packages == () and len(nothing_by_line.unchecked) == 3


# =========================================================================== channels
@pytest.mark.parametrize("channels, candidates, configured_too", [
    (["nvidia", "conda-forge"], ("nvidia", "conda-forge"), True),
    (["conda-forge", "nodefaults"], ("conda-forge",), False),
    (["conda-forge", "https://conda.anaconda.org/conda-forge", "defaults"], ("conda-forge", "defaults"), True),
    (["https://repo.anaconda.com/pkgs/main", "pkgs/r"], ("defaults",), True),
    ([], (), True),
])
def test_an_entry_without_a_channel_names_its_candidates_never_the_first_channel(
        tmp_path, channels, candidates, configured_too):
    deps = "dependencies:\n  - tensorflow=2.15.0\n  - conda-forge::keras=2.15.0\n"
    env = write(tmp_path, "environment.yml", f"channels: {json.dumps(channels)}\n{deps}")
    parsed = read_env_file(env)
    tf, keras = parsed.packages
    assert tf.channel == "" and tf.candidates == candidates
    assert keras.channel == "conda-forge" and keras.candidates == ()
    assert parsed.candidates == candidates and parsed.configured_channels_too is configured_too


def test_check_says_once_where_entries_without_a_channel_come_from(capsys, tmp_path):
    env = write(tmp_path, "environment.yml", """\
        channels: [nvidia, conda-forge]
        dependencies:
          - python=3.11
          - tensorflow=2.15.0
          - keras=2.15.0
          - conda-forge::numpy=1.26.4
        """)
    code, out, _ = run(capsys, "check", "-f", str(env))
    assert code == 0, out
    notes = [line for line in out.splitlines() if "[channel]" in line]
    assert notes == ["tfguard INFO  [channel] 3 entries without channel:: come from one of: nvidia, conda-forge, "
                     "conda's configured channels (not known which): judged by upstream facts"]
    assert all(line.startswith("tfguard") for line in out.splitlines())
    code, out, _ = run(capsys, "check", "-f", str(env), "--json")
    data = json.loads(out)
    assert data["unknown_channel"] == {"packages": ["python", "tensorflow", "keras"],
                                       "candidates": ["nvidia", "conda-forge"], "configured_channels_too": True}
    assert data["file_format"] == ENVIRONMENT_YML


def test_a_spec_given_on_the_command_line_is_not_said_to_come_from_the_files_channels(capsys, tmp_path):
    env = write(tmp_path, "environment.yml", "channels: [conda-forge]\ndependencies: [python=3.11, keras=2.15.0]\n")
    code, out, _ = run(capsys, "check", "-f", str(env), "tensorflow=2.15.0", "--json")
    assert json.loads(out)["unknown_channel"]["packages"] == ["python", "keras"]


# =========================================================================== formats
EXPLICIT_TEXT = """\
    # This file may be used to create an environment using:
    # $ conda create --name <env> --file <this file>
    # platform: linux-64
    @EXPLICIT
    https://conda.anaconda.org/conda-forge/linux-64/python-3.10.12-hd12c33a_0_cpython.conda
    https://conda.anaconda.org/conda-forge/linux-64/tensorflow-base-2.10.0-cuda112py310h2bd284a_0.tar.bz2#d7c89558ba9fa0495403155b64376d81
    https://repo.anaconda.com/pkgs/main/noarch/keras-2.10.0-py310h06a4308_0.conda#sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    """
EXPORT_TEXT = """\
    # This file may be used to create an environment using:
    # $ conda create --name <env> --file <this file>
    # platform: linux-64
    # created-by: conda 24.3.0
    python=3.10.12=hd12c33a_0_cpython
    tensorflow-base=2.10.0=cuda112py310h2bd284a_0
    keras=2.10.0=pypi_0
    """
SPEC_LIST_TEXT = """\
    # what we need
    tensorflow=2.10.0
    keras 2.10.0
    conda-forge::python=3.10
    numpy>=1.22
    """
YAML_TEXT = "name: tf\nchannels: [conda-forge]\ndependencies: [tensorflow=2.10.0, keras=2.10.0, python=3.10]\n"

# (file name, text, format, (name, version, build, channel) of each package read)
FORMATS = [
    ("explicit.txt", EXPLICIT_TEXT, EXPLICIT, [("python", "3.10.12", "hd12c33a_0_cpython", "conda-forge"),
                                               ("tensorflow-base", "2.10.0", "cuda112py310h2bd284a_0", "conda-forge"),
                                               ("keras", "2.10.0", "py310h06a4308_0", "defaults")]),
    ("conda-linux-64.lock", EXPLICIT_TEXT, EXPLICIT, None),
    ("environment.yml", EXPLICIT_TEXT, EXPLICIT, None),  # the marker decides, as for conda
    ("package-list.txt", EXPORT_TEXT, EXPORT, [("python", "3.10.12", "hd12c33a_0_cpython", ""),
                                               ("tensorflow-base", "2.10.0", "cuda112py310h2bd284a_0", ""),
                                               ("keras", "2.10.0", "", PIP_CHANNEL)]),
    ("spec.txt", SPEC_LIST_TEXT, SPEC_LIST, [("tensorflow", "2.10.0", "", ""), ("keras", "2.10.0", "", ""),
                                             ("python", "3.10", "", "conda-forge")]),
    ("requirements.txt", "tensorflow=2.10.0=cuda112py310h2bd284a_0\n", SPEC_LIST,
     [("tensorflow", "2.10.0", "cuda112py310h2bd284a_0", "")]),
    ("environment.yml", YAML_TEXT, ENVIRONMENT_YML, [("tensorflow", "2.10.0", "", ""), ("keras", "2.10.0", "", ""),
                                                     ("python", "3.10", "", "")]),
    ("env.txt", YAML_TEXT, ENVIRONMENT_YML, None),
    ("environment", "# comment\n" + YAML_TEXT, ENVIRONMENT_YML, None),
]


@pytest.mark.parametrize("filename, text, kind, expected", FORMATS, ids=[f"{f[0]}-{f[2]}" for f in FORMATS])
def test_the_file_format_is_detected_and_each_format_read(tmp_path, filename, text, kind, expected):
    parsed = read_env_file(write(tmp_path, filename, text))
    assert parsed.format == kind
    if expected is not None:
        assert [(v.name, v.version, v.build, v.channel) for v in parsed.packages] == expected
    assert parsed.packages


def test_export_and_spec_list_entries_name_no_channel_and_no_candidates(tmp_path):
    for text in (EXPORT_TEXT, SPEC_LIST_TEXT):
        parsed = read_env_file(write(tmp_path, "list.txt", text))
        assert all(v.candidates == () for v in parsed.packages)
        assert parsed.candidates == ()


def test_an_export_file_is_checked_and_its_missing_channels_said(capsys, tmp_path):
    path = write(tmp_path, "package-list.txt", EXPORT_TEXT.replace("keras=2.10.0=pypi_0", "keras=3.0.5=pyhd8ed1ab_0"))
    code, out, _ = run(capsys, "check", "-f", str(path))
    assert code == 1 and "[keras-mismatch]" in out
    assert ("tfguard INFO  [channel] 3 entries name no channel (conda list --export records none): "
            "judged by upstream facts") in out


def test_a_utf16_environment_file_from_windows_powershell_is_read(tmp_path):
    path = tmp_path / "environment.yml"
    path.write_bytes(YAML_TEXT.replace("\n", "\r\n").encode("utf-16"))  # with its byte-order mark
    assert [v.name for v in read_env_file(path).packages] == ["tensorflow", "keras", "python"]


# =========================================================================== explicit URLs
# (line, name, version, build, channel, subdir)
URLS = [
    ("https://conda.anaconda.org/conda-forge/linux-64/tensorflow-base-2.10.0-cuda112py39h2957820_0.tar.bz2",
     "tensorflow-base", "2.10.0", "cuda112py39h2957820_0", "conda-forge", "linux-64"),
    ("https://conda.anaconda.org/conda-forge/noarch/keras-2.10.0-pyhd8ed1ab_0.conda#0c96522c6bdaed4b1566d11387caaf45",
     "keras", "2.10.0", "pyhd8ed1ab_0", "conda-forge", "noarch"),
    ("https://repo.anaconda.com/pkgs/main/win-64/tensorflow-2.10.0-gpu_py310h0_0.conda#sha256:" + "ab" * 32,
     "tensorflow", "2.10.0", "gpu_py310h0_0", "defaults", "win-64"),
    ("https://conda.anaconda.org/t/tk-123/conda-forge/linux-64/numpy-1.26.4-py311h64a7726_0.conda",
     "numpy", "1.26.4", "py311h64a7726_0", "conda-forge", "linux-64"),
    ("https://conda.anaconda.org/nvidia/label/cuda-12.2.0/linux-64/cuda-nvcc-12.2.91-0.tar.bz2",
     "cuda-nvcc", "12.2.91", "0", "nvidia", "linux-64"),
    ("file:///opt/channels/local/osx-arm64/tensorflow-deps-2.10.0-0.tar.bz2",
     "tensorflow-deps", "2.10.0", "0", "local", "osx-arm64"),
    ("/home/me/pkgs/linux-64/_tflow_select-2.3.0-gpu.tar.bz2", "_tflow_select", "2.3.0", "gpu", "pkgs", "linux-64"),
    ("https://example.org/files/numpy-1.26.4-py311h0_0.conda", "numpy", "1.26.4", "py311h0_0", "", ""),
]


@pytest.mark.parametrize("line, name, version, build, channel, subdir", URLS, ids=[u[1] + "-" + u[4] for u in URLS])
def test_an_explicit_url_names_channel_subdir_name_version_and_build(line, name, version, build, channel, subdir):
    reading = read_package_url(line)
    assert (reading.name, reading.exact, reading.build, reading.channel, reading.subdir) == (
        name, version, build, channel, subdir)


def test_an_explicit_line_that_is_not_a_package_url_is_warned_about_and_skipped(capsys, caplog, tmp_path):
    path = write(tmp_path, "explicit.txt", """\
        @EXPLICIT
        https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda
        numpy=1.26.4
        https://user:secret@example.org/conda-forge/linux-64/README.txt
        https://conda.anaconda.org/t/tk-secret/conda-forge/linux-64/keras-2.15.tar.bz2
        https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311h0_0.conda#not-a-checksum
        https://conda.anaconda.org/conda-forge/linux-64/tensorflow-2.15.0-cpu_py311h0_0.conda
        """)
    with caplog.at_level(logging.WARNING):
        code, out, err = run(capsys, "check", "-f", str(path), "--json")
    assert code == 0 and "Traceback" not in err
    data = json.loads(out)
    assert data["file_format"] == EXPLICIT and len(data["unchecked"]) == 4
    warned = [r.getMessage() for r in caplog.records if "not a package URL" in r.getMessage()]
    assert len(warned) == 4
    assert "secret" not in out + err + " ".join(warned)


def test_explicit_packages_keep_their_channel(capsys, tmp_path):
    path = write(tmp_path, "explicit.txt", EXPLICIT_TEXT)
    code, out, _ = run(capsys, "check", "-f", str(path), "--json")
    data = json.loads(out)
    assert "unknown_channel" not in data
    assert any("conda-forge: " in f["message"] and "defaults: keras" in f["message"]
               for f in data["findings"] if f["rule"] == "channel-mix"), data["findings"]


# =========================================================================== a file that pins nothing
def test_a_file_that_pins_nothing_is_ok_and_lists_what_it_leaves_unpinned(capsys, tmp_path):
    env = write(tmp_path, "environment.yml", "dependencies: [python>=3.9, tensorflow, keras=3, {pip: [-e .]}]\n")
    code, out, err = run(capsys, "check", "-f", str(env))
    assert code == 0 and err == ""
    assert out == (f"tfguard OK: {env} pins no TensorFlow-stack package; "
                   "unpinned: python>=3.9, tensorflow, keras=3, pip: -e .\n")
    code, out, _ = run(capsys, "check", "-f", str(env), "--json")
    assert code == 0 and json.loads(out) == {
        "verdict": "ok", "findings": [], "unchecked": ["python>=3.9", "tensorflow", "keras=3", "pip: -e ."],
        "file_format": ENVIRONMENT_YML}


def test_a_long_unpinned_list_stays_one_line(capsys, tmp_path):
    env = write(tmp_path, "spec.txt", "".join(f"package{i}\n" for i in range(40)))
    code, out, _ = run(capsys, "check", "-f", str(env))
    assert code == 0 and out.count("\n") == 1 and out.endswith("and 28 more\n")


@pytest.mark.parametrize("text", ["", "# only comments\n\n", "@EXPLICIT\n"])
def test_a_file_that_lists_nothing_is_ok(capsys, tmp_path, text):
    path = tmp_path / "spec.txt"
    path.write_text(text)
    code, out, _ = run(capsys, "check", "-f", str(path))
    assert code == 0 and out == f"tfguard OK: {path} lists no package\n"


def test_check_with_nothing_at_all_is_still_exit_2(capsys):
    code, out, err = run(capsys, "check")
    one_line_error(code, out, err, "nothing to check")


# =========================================================================== bad input: one line
@pytest.mark.parametrize("name, data, message", [
    ("environment.yml", b"name: [unclosed\n", "not valid YAML"),
    ("environment.yml", b"dependencies: tensorflow=2.15.0\n", "'dependencies' must be a list"),
    ("environment.yml", b"- a\n- list\n", "not an environment file"),
    ("spec.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff", "cannot read file"),
    ("spec.txt", "caf\xe9=1.0\n".encode("latin-1"), "cannot read file"),
    ("spec.txt", b"this = = is not\n== a spec\n", "not an environment file, explicit file or spec list"),
    ("spec.lock", b"\xff\xfe\x00\xd8", "cannot read file"),  # a UTF-16 BOM, then a lone surrogate
])
def test_a_file_that_cannot_be_read_is_one_line_and_exit_2(capsys, tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run(capsys, "check", "-f", str(path))
    one_line_error(code, out, err, str(path), message)


def test_unreadable_lines_among_readable_ones_are_listed_not_fatal(capsys, caplog, tmp_path):
    path = write(tmp_path, "spec.txt", "tensorflow=2.15.0\nkeras=2.15.0\npython=3.11\n-e .\nnumpy 1..2\n")
    with caplog.at_level(logging.WARNING):
        code, out, _ = run(capsys, "check", "-f", str(path))
    assert code == 0
    assert ("tfguard INFO  [unchecked] -e . is a spec conda cannot read ('-e' is not a package name): "
            "not checked") in out
    assert ("tfguard INFO  [unchecked] numpy 1..2 is a spec conda cannot read "
            "('1..2' is not a version conda reads (an empty component)): not checked") in out


@pytest.mark.parametrize("version", ["1.0_1", "2.10.0rc1", "custom", "1.2.3.4.5.6.7", "2.15.0+cuda120", "2.15.0-1",
                                     "1!2.0", "0"])
def test_odd_versions_in_a_file_never_crash(capsys, tmp_path, version):
    path = write(tmp_path, "environment.yml",
                 f"dependencies: [tensorflow=2.15.0, python=3.11, 'keras=={version}', 'numpy {version} py_0']\n")
    code, out, err = run(capsys, "check", "-f", str(path), "--json")
    assert code in (0, 1) and "Traceback" not in err
    assert json.loads(out)["verdict"] in ("ok", "warn", "block")


line_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.from_regex(r"\A([a-z\-/]{1,14}::)?[a-zA-Z_][a-z0-9_.\-]{0,10}( ?(==|=|>=|<|!=|~=)?[0-9a-z.*_+!|,\-]{0,10})"
                  r"{0,3}(\[[a-z]{1,8}=['\"]?[^\]]{0,10}\])?( #.{0,5})?\Z"),
    st.from_regex(r"\A(https?://[a-z.]{1,10}/|file:///|/)([a-z\-]{1,8}/){0,3}[a-z0-9_.\-]{0,20}"
                  r"(\.conda|\.tar\.bz2)(#[0-9a-f:sha]{0,70})?\Z"),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line_text, max_size=8), explicit=st.booleans(), header=st.booleans())
def test_any_spec_list_or_explicit_file_gives_a_reading_or_the_cores_error(tmp_path, lines, explicit, header):
    text = ("# platform: linux-64\n" if header else "") + ("@EXPLICIT\n" if explicit else "") + "\n".join(lines)
    path = tmp_path / "spec.txt"
    path.write_text(text, encoding="utf-8")
    try:
        parsed = read_env_file(path)
    except SpecError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert isinstance(parsed, EnvFile)
    for view in parsed.packages:
        assert view.name and view.version and isinstance(view.channel, str)
    assert all(isinstance(u, str) and "\n" not in u for u in parsed.unchecked)


@settings(max_examples=500, deadline=None)
@given(text=line_text)
def test_any_spec_text_gives_a_reading_or_the_cores_error(text):
    try:
        reading = read_spec(text)
    except SpecError as error:
        assert "\n" not in str(error)
        return
    assert reading.name and not (reading.exact and reading.line)
