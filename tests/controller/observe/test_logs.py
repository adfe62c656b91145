"""``--log-format json``, the access log and the audit log of a real controller."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from edgewhisk_devkit import edgewhisk_command

from ..api.harness import Controller, create_namespace, refused_options


def lines(controller: Controller) -> list[dict[str, Any]]:
    """The JSON objects the controller wrote to stderr (its devkit log), line by line."""
    return [json.loads(line) for line in controller.log().splitlines()
            if line.startswith("{")]


def test_json_logs_carry_access_and_audit_fields_and_never_a_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = create_namespace(["--data", str(data)], "alice")
    with Controller(data, "--log-format", "json").start() as controller, \
            controller.client(key) as alice:
        alice.request("GET", "actions")
        alice.request("GET", "actions/missing")
        secret = alice.tokens.create("dev-1")["token"]
        alice.request("DELETE", "invokers/tokens/dev-1")
        controller.stop()
        written = lines(controller)
    text = controller.log()
    assert key.split(":")[1] not in text and secret.split(":")[-1] not in text
    assert all({"time", "level", "logger", "message"} <= set(line) for line in written)
    access = [line for line in written if line["logger"] == "edgewhisk.access"]
    assert {(a["method"], a["path"], a["status"], a["namespace"]) for a in access} >= {
        ("GET", "/api/v1/namespaces/_/actions", 200, "alice"),
        ("GET", "/api/v1/namespaces/_/actions/missing", 404, "alice")}
    audit = [(a["event"], a["invoker"], a["namespace"])
             for a in written if a["logger"] == "edgewhisk.audit"]
    assert audit == [("token.create", "dev-1", "alice"), ("token.revoke", "dev-1", "alice")]


def test_creating_a_namespace_is_audited(tmp_path: Path) -> None:
    done = subprocess.run(edgewhisk_command("controller", "--log-format", "json", "namespace",
                                            "create", "bob", "--data", str(tmp_path / "d")),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [(e["event"], e["namespace"]) for e in events
            if e["logger"] == "edgewhisk.audit"] == [("namespace.create", "bob")]
    assert key.split(":")[1] not in done.stderr


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    assert "invalid choice: 'xml'" in refused_options(tmp_path / "d", "--log-format", "xml")
