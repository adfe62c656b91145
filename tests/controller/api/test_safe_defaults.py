"""Safe defaults of a real controller: OpenWhisk's publicly known guest key opens nothing off
loopback unless asked for (``--guest``), and plain HTTP off loopback is refused unless asked for
(``--insecure``) — with TLS nothing needs asking. "Off loopback" here is ``0.0.0.0``, every
address of the machine, which the tests reach through 127.0.0.1."""

from __future__ import annotations

import subprocess
from pathlib import Path

from e2e.tls import make_certificates

from .harness import GUEST_KEY, Client, Controller, create_namespace, edgewhisk

EVERYWHERE = "0.0.0.0"


def status_with(controller: Controller, key: str, ca_file: str | None = None) -> int:
    with Client(controller.api_host, key, ca_file=ca_file) as client:
        return client.request("GET", "actions").status_code


def test_plain_http_off_loopback_is_refused_at_start_saying_why(tmp_path: Path) -> None:
    done = subprocess.run(edgewhisk("controller", "--host", EVERYWHERE, "--port", "0",
                                    "--data", str(tmp_path / "data")),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "refusing to serve plain HTTP on 0.0.0.0" in done.stderr
    assert "--tls-cert" in done.stderr and "--insecure" in done.stderr
    assert not (tmp_path / "data").exists()


def test_with_insecure_it_serves_off_loopback_without_the_guest_key(tmp_path: Path) -> None:
    with Controller(tmp_path / "data", "--insecure", host=EVERYWHERE).start() as controller:
        assert controller.auth == ""  # AUTH= is printed empty: there is no guest key
        assert status_with(controller, GUEST_KEY) == 401
        key = create_namespace(["--data", str(tmp_path / "data")], "alice")
        assert status_with(controller, key) == 200
        assert "no guest key off loopback" in controller.log()


def test_with_guest_the_publicly_known_key_works_off_loopback(tmp_path: Path) -> None:
    with Controller(tmp_path / "data", "--insecure", "--guest",
                    host=EVERYWHERE).start() as controller:
        assert controller.auth == GUEST_KEY
        assert status_with(controller, GUEST_KEY) == 200


def test_a_guest_key_stored_on_loopback_opens_nothing_once_served_off_it(tmp_path: Path) -> None:
    with Controller(tmp_path / "data").start() as controller:  # loopback: created, as upstream
        assert controller.auth == GUEST_KEY and status_with(controller, GUEST_KEY) == 200
    with Controller(tmp_path / "data", "--insecure", host=EVERYWHERE).start() as controller:
        assert status_with(controller, GUEST_KEY) == 401


def test_with_tls_off_loopback_nothing_needs_asking(tmp_path: Path) -> None:
    pki = make_certificates(tmp_path / "pki", ["127.0.0.1"])
    with Controller(tmp_path / "data", "--tls-cert", str(pki.cert), "--tls-key", str(pki.key),
                    host=EVERYWHERE).start() as controller:
        assert controller.api_host.startswith("https://") and controller.auth == ""
        key = create_namespace(["--data", str(tmp_path / "data")], "bob")
        assert status_with(controller, key, str(pki.ca)) == 200
