"""--controller: wss:// anywhere, ws:// only to loopback (a clear error otherwise)."""

from __future__ import annotations

import os
import subprocess

import pytest
from edgewhisk_invoker.config import parse_bytes, parse_labels, tunnel_url
from edgewhisk_invoker.exceptions import ConfigError

from .harness import edgewhisk


@pytest.mark.parametrize(("given", "url"), [
    pytest.param("wss://cloud.example.com:8443", "wss://cloud.example.com:8443/v1/invokers/tunnel",
                 id="wss-gets-the-tunnel-path"),
    pytest.param("wss://10.0.0.1:8443/", "wss://10.0.0.1:8443/v1/invokers/tunnel",
                 id="a-bare-slash-is-no-path"),
    pytest.param("wss://proxy:443/edge/tunnel", "wss://proxy:443/edge/tunnel",
                 id="a-given-path-is-kept"),
    pytest.param("https://cloud:8443", "wss://cloud:8443/v1/invokers/tunnel",
                 id="https-means-wss"),
    pytest.param("ws://127.0.0.1:3233", "ws://127.0.0.1:3233/v1/invokers/tunnel",
                 id="ws-to-ipv4-loopback"),
    pytest.param("ws://127.8.9.10:3233", "ws://127.8.9.10:3233/v1/invokers/tunnel",
                 id="ws-to-anywhere-in-127-slash-8"),
    pytest.param("ws://[::1]:3233", "ws://[::1]:3233/v1/invokers/tunnel", id="ws-to-ipv6-loopback"),
    pytest.param("ws://localhost:3233", "ws://localhost:3233/v1/invokers/tunnel",
                 id="ws-to-localhost"),
])
def test_accepted_controllers(given: str, url: str) -> None:
    assert tunnel_url(given) == url


@pytest.mark.parametrize(("given", "message"), [
    pytest.param("ws://10.0.0.1:3233", "only allowed to a loopback address",
                 id="ws-to-a-private-address"),
    pytest.param("ws://cloud.example.com:80", "only allowed to a loopback address",
                 id="ws-to-a-host-name"),
    pytest.param("http://192.168.1.2:3233", "only allowed to a loopback address",
                 id="http-to-a-lan-address"),
    pytest.param("ws://localhost.evil.com:80", "only allowed to a loopback address",
                 id="a-name-that-starts-like-localhost"),
    pytest.param("cloud:8443", "must be wss://HOST:PORT", id="no-scheme"),
    pytest.param("ftp://cloud:21", "must be wss://HOST:PORT", id="another-scheme"),
    pytest.param("wss://:8443", "must be wss://HOST:PORT", id="no-host"),
])
def test_refused_controllers(given: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tunnel_url(given)


def test_the_command_refuses_ws_off_loopback_with_exit_2() -> None:
    done = subprocess.run(edgewhisk("invoker", "--controller", "ws://192.0.2.1:3233",
                                    "--token", "t"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "ws:// (no TLS) is only allowed to a loopback address" in done.stderr
    assert "use wss://" in done.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_a_ws_heartbeat_that_is_not_positive_is_a_usage_error(value: str) -> None:
    done = subprocess.run(edgewhisk("invoker", "--controller", "wss://cloud:8443", "--token",
                                    "t", "--ws-heartbeat", value),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"--ws-heartbeat must be > 0 seconds, got {float(value)}" in done.stderr


def test_a_missing_token_is_a_usage_error() -> None:
    done = subprocess.run(edgewhisk("invoker", "--controller", "wss://cloud:8443"),
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "WSK_CONFIG_FILE": "/nonexistent",
                               "EDGEWHISK_INVOKER_TOKEN": ""})
    assert done.returncode == 2 and "and --token (or $EDGEWHISK_INVOKER_TOKEN) are required" \
        in done.stderr


def test_the_controller_defaults_to_the_wskprops_api_host(tmp_path) -> None:
    props = tmp_path / "wskprops"
    props.write_text("APIHOST=http://192.0.2.1:3233\nAUTH=u:k\n")
    done = subprocess.run(edgewhisk("invoker", "--token", "t"), capture_output=True, text=True,
                          timeout=60, env={**os.environ, "WSK_CONFIG_FILE": str(props)})
    assert done.returncode == 2
    assert "'http://192.0.2.1:3233': ws:// (no TLS) is only allowed to a loopback" in done.stderr


def test_a_ca_file_that_does_not_exist_is_a_usage_error(tmp_path) -> None:
    done = subprocess.run(edgewhisk("invoker", "--controller", "wss://cloud:8443", "--token",
                                    "t", "--ca-file", str(tmp_path / "absent.pem")),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--ca-file" in done.stderr


@pytest.mark.parametrize(("items", "labels"), [
    pytest.param(["a=1", "b = two"], {"a": "1", "b": "two"}, id="pairs"),
    pytest.param(["a=1", "a=2"], {"a": "2"}, id="a-later-key-wins"),
    pytest.param(["zone="], {"zone": ""}, id="an-empty-value"),
])
def test_labels(items: list[str], labels: dict[str, str]) -> None:
    assert parse_labels(items) == labels


@pytest.mark.parametrize("item", [pytest.param("novalue", id="no-equals"),
                                  pytest.param("=v", id="no-key")])
def test_bad_labels(item: str) -> None:
    with pytest.raises(ConfigError, match="--label must be KEY=VALUE"):
        parse_labels([item])


def test_the_store_cap_reads_sizes_as_the_controller_does() -> None:
    """``--store-cap 2GB`` and the controller's ``--node-store-cap 2GB`` are one budget."""
    assert (parse_bytes("2GB"), parse_bytes("512MiB")) == (2 * 10**9, 512 * 2**20)
    with pytest.raises(ConfigError) as caught:
        parse_bytes("2XB")
    assert "--store-cap must be a size such as 500MB or 2GB" in str(caught.value)
