"""~/.wskprops: wsk's file, wsk's rules (WSK_CONFIG_FILE, KEY=VALUE, later lines win)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from edgewhisk_client import wskprops


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("APIHOST=https://h:443\nAUTH=u:k\n",
                 {"APIHOST": "https://h:443", "AUTH": "u:k"}, id="plain-lines"),
    pytest.param("# comment\n\n  APIHOST = h:31001  \n", {"APIHOST": "h:31001"},
                 id="comments-blank-lines-and-spaces"),
    pytest.param("AUTH=u:k=with=equals\n", {"AUTH": "u:k=with=equals"},
                 id="the-value-is-everything-after-the-first-equals"),
    pytest.param("APIHOST=a\nAPIHOST=b\n", {"APIHOST": "b"}, id="a-later-line-wins"),
    pytest.param("garbage\n=novalue\nNAMESPACE=_\n", {"NAMESPACE": "_"},
                 id="malformed-lines-are-ignored"),
])
def test_parse(text: str, expected: dict[str, str]) -> None:
    assert wskprops.parse(text) == expected


@pytest.mark.parametrize(("apihost", "url"), [
    pytest.param("openwhisk.example.com", "https://openwhisk.example.com", id="no-scheme-is-https"),
    pytest.param("http://127.0.0.1:3233/", "http://127.0.0.1:3233", id="a-scheme-is-kept"),
    pytest.param("h:31001", "https://h:31001", id="host-and-port"),
])
def test_api_url(apihost: str, url: str) -> None:
    assert wskprops.api_url(apihost) == url


def test_wsk_config_file_wins_over_the_home_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".wskprops").write_text("APIHOST=home-host\nAUTH=home:key\n")
    other = tmp_path / "other.props"
    other.write_text("APIHOST=other-host\n")
    props = wskprops.load({"WSK_CONFIG_FILE": str(other), "HOME": str(home)})
    assert (props.apihost, props.auth, props.path) == ("other-host", None, other)


def test_a_missing_file_gives_no_defaults(tmp_path: Path) -> None:
    props = wskprops.load({"WSK_CONFIG_FILE": str(tmp_path / "absent")})
    assert (props.apihost, props.auth) == (None, None)


def test_flags_default_to_the_file_and_flags_win(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    props = tmp_path / "wskprops"
    props.write_text("APIHOST=http://127.0.0.1:3233\nAUTH=u:k\n")
    monkeypatch.setenv("WSK_CONFIG_FILE", str(props))
    parser = argparse.ArgumentParser()
    wskprops.add_api_arguments(parser)
    args = parser.parse_args([])
    assert wskprops.require_api(args) == ("http://127.0.0.1:3233", "u:k")
    args = parser.parse_args(["--auth", "x:y", "--json"])
    assert (args.auth, args.json) == ("x:y", True)


def test_nothing_given_and_no_file_names_what_is_missing(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSK_CONFIG_FILE", str(tmp_path / "absent"))
    parser = argparse.ArgumentParser()
    wskprops.add_api_arguments(parser)
    with pytest.raises(wskprops.NotConfigured, match="--apihost and --auth not given and not set"):
        wskprops.require_api(parser.parse_args([]))
