"""Versions and specs: whatever the input, a result or the core's own error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from conda_tfguard.errors import SpecError
from conda_tfguard.packages import classify_channel
from conda_tfguard.specs import parse_package_spec, parse_request
from conda_tfguard.versions import conda_spec_contains, line_of, parse_version, pep440_contains


@pytest.mark.parametrize("text, expected", [
    ("2.10.0", "2.10.0"), ("1.0_1", "1.0.1"), ("2.10.0rc1", "2.10.0rc1"), ("2.15.0.post1", "2.15.0.post1"),
    ("custom", None), ("", None), (None, None), ("1.2.3+cuda118", "1.2.3+cuda118"),
])
def test_versions_are_read_tolerantly(text, expected):
    parsed = parse_version(text)
    assert (str(parsed) if parsed else None) == expected


def test_lines_are_major_minor():
    assert line_of("2.15.1") == "2.15" and line_of("3") == "3.0" and line_of("banana") is None


@pytest.mark.parametrize("spec, version, expected", [
    (">=11.2,<12.0a0", "11.8.0", True), (">=11.2,<12.0a0", "12.0.0", False),
    ("1.26.*", "1.26.4", True), ("1.26.*", "1.27.0", False), ("=2.15", "2.15.1", True),
    ("2.10.0", "2.10.0", True), ("2.10.0", "2.10.1", False), ("*", "9.9", True),
    (">=3.9|<3.0", "2.7", True), (">=3.9|<3.0", "3.5", False), ("!=1.0", "1.0", False),
    ("~=2.5.0", "2.5.3", True), (">=1.2.*", "1.3", True), ("<<1", "1.0", None), (">=1", "custom", None),
])
def test_conda_version_expressions(spec, version, expected):
    assert conda_spec_contains(spec, version) is expected


def test_pep440_specifiers_include_prereleases_and_say_none_on_garbage():
    assert pep440_contains(">=2.0", "2.1.0rc1") is True
    assert pep440_contains("><", "1.0") is None and pep440_contains(">=1", "custom") is None


@pytest.mark.parametrize("text, name, version, build, channel", [
    ("tensorflow=2.15.0", "tensorflow", "2.15.0", "", ""),
    ("tensorflow==2.15.0", "tensorflow", "2.15.0", "", ""),
    ("conda-forge::tensorflow=2.15.0=cuda120py311h0_0", "tensorflow", "2.15.0", "cuda120py311h0_0", "conda-forge"),
    ("pkgs/main::numpy=1.26.4", "numpy", "1.26.4", "", "defaults"),
    ("defaults::numpy=1.26.4", "numpy", "1.26.4", "", "defaults"),
    ("https://conda.anaconda.org/anaconda/linux-64::keras=2.4.3", "keras", "2.4.3", "", "anaconda"),
    ("Keras=3.0.0", "keras", "3.0.0", "", ""),
])
def test_exact_specs(text, name, version, build, channel):
    view = parse_package_spec(text)
    assert (view.name, view.version, view.build, view.channel) == (name, version, build, channel)


@pytest.mark.parametrize("text", ["", "tensorflow", "tensorflow>=2", "tensorflow=2.*", "a b", "=1.0", "x=1|2"])
def test_inexact_specs_are_a_one_line_error(text):
    with pytest.raises(SpecError) as error:
        parse_package_spec(text)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("raw, expected", [
    ("defaults", "defaults"), ("pkgs/main", "defaults"), ("https://repo.anaconda.com/pkgs/main/linux-64", "defaults"),
    ("pkgs/r", "defaults"), ("conda-forge", "conda-forge"), ("https://conda.anaconda.org/conda-forge", "conda-forge"),
    ("file:///tmp/channels/conda-forge/noarch", "conda-forge"), ("anaconda", "anaconda"),
    ("https://mirror.example.org/conda/anaconda/linux-64", "anaconda"), ("pypi", "pypi"),
    ("https://my.org/channels/internal", "internal"), ("", ""),
    ("conda-forge/label/cf202003", "conda-forge"), ("https://conda.anaconda.org/conda-forge/label/main/linux-64", "conda-forge"),
    ("https://repo.anaconda.cloud/repo/main", "defaults"),
])
def test_channels_are_classified_by_name_or_url(raw, expected):
    assert classify_channel(raw) == expected


def test_requests_are_read_loosely():
    assert parse_request("conda-forge::keras >=3").name == "keras"
    assert parse_request("tensorflow=2.9.1").version == "2.9.1" and parse_request("tensorflow").version == ""


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_spec_text_gives_a_view_or_the_cores_error(text):
    try:
        view = parse_package_spec(text)
    except SpecError:
        return
    assert view.name and view.version


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.text(max_size=20))
def test_any_version_expression_gives_true_false_or_none(spec, version):
    assert conda_spec_contains(spec, version) in (True, False, None)
    assert pep440_contains(spec, version) in (True, False, None)
    parse_version(version)
    classify_channel(spec)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z0-9_]{0,12}", fullmatch=True))
def test_any_build_string_is_classified_or_not(build):
    from conda_tfguard.knowledge import load_knowledge

    found = load_knowledge().variant_of("tensorflow", build)
    assert found is None or found[0] in ("gpu", "cpu", "mkl", "eigen")
