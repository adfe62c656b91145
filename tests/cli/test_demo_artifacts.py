"""The demo's artifact tables read from real access-log files: where each artifact's bytes were
written, and the verdict per locality — including the one the demo run never shows, a
``local`` artifact whose bytes reached a second store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edgewhisk_cli.demo.artifacts import byte_rows, holders, verdicts

READINGS = {"name": "u1/glucose", "version": 1, "locality": "local", "copies": ["u1-phone"],
            "sha256": "a" * 64, "created": 1795781906433}
BASE = {"name": "glucose-base", "version": 1, "locality": "cloud",
        "copies": ["cloud", "u1-phone"], "sha256": "b" * 64, "created": 1795781911257}


def _write(path: Path, *lines: tuple[str, str, str]) -> Path:
    path.write_text("".join(json.dumps({"ts": 0, "op": op, "key": key, "sha256": sha,
                                        "size": 2048, "by": path.stem}) + "\n"
                            for op, key, sha in lines))
    return path


@pytest.fixture
def logs(tmp_path: Path) -> dict[str, Path]:
    return {
        "blob-store": _write(tmp_path / "blobs.log", ("put", "guest/glucose-base@1", "b" * 64),
                             ("get", "guest/glucose-base@1", "b" * 64)),
        "u1-phone": _write(tmp_path / "u1.log", ("put", "guest/u1/glucose@1", "a" * 64),
                           ("get", "guest/u1/glucose@1", "a" * 64),
                           ("put", "guest/glucose-base@1", "b" * 64)),
        "u2-phone": tmp_path / "never-written.log",
    }


def test_a_local_artifact_written_only_on_its_device_never_left_it(logs) -> None:
    assert verdicts([READINGS, BASE], logs) == [
        "u1/glucose@1 (local): bytes written only to u1-phone: never left it",
        "glucose-base@1 (cloud): bytes written to blob-store, u1-phone",
    ]


def test_a_local_artifact_written_to_a_second_store_is_called_out(logs, tmp_path) -> None:
    logs["u2-phone"] = _write(tmp_path / "u2.log", ("put", "guest/u1/glucose@1", "a" * 64))
    assert verdicts([READINGS], logs) == [
        "u1/glucose@1 (local): bytes written to u1-phone, u2-phone: LEFT ITS DEVICE"]
    assert holders(logs)["a" * 64] == {"u1-phone", "u2-phone"}


def test_byte_rows_group_each_stores_ops_per_artifact(logs) -> None:
    rows = [(r.store, r.artifact, r.ops, r.size) for r in byte_rows(logs)]
    assert rows == [("blob-store", "glucose-base@1", "put, get", "2.0 KiB"),
                    ("u1-phone", "u1/glucose@1", "put, get", "2.0 KiB"),
                    ("u1-phone", "glucose-base@1", "put", "2.0 KiB")]


def test_an_artifact_no_log_mentions_is_said_so_not_called_a_leak(tmp_path) -> None:
    assert verdicts([READINGS], {"u1-phone": tmp_path / "gone.log"}) == [
        "u1/glucose@1 (local): no access log shows its bytes"]
