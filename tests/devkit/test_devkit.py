"""``edgewhisk_devkit``: children stopped by pid (and what a hung one leaves, only with
``cleanup``), a controller's failed start with its log, a fleet of real agents on a real
controller's tunnel."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from edgewhisk_devkit import S3, AgentSpec, Child, Controller, CouchDB, Fleet, StartError, alive

# Ignores SIGTERM, starts a grandchild that sleeps, prints its pid, then waits forever.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def _stubborn(tmp_path: Path, cleanup: bool) -> tuple[Child, int]:
    child = Child([sys.executable, "-c", STUBBORN], tmp_path / "stubborn.log", cleanup=cleanup,
                  stop_timeout_s=1.0)
    child.start()
    assert child.wait_for(lambda lines: bool(lines), 30), child.log()
    return child, int(child.lines[0])


@pytest.mark.parametrize("cleanup", [True, False], ids=["cleanup kills what it left",
                                                        "without cleanup a leak stays visible"])
def test_a_hung_child_is_killed_and_cleanup_decides_about_its_descendants(
        tmp_path: Path, cleanup: bool) -> None:
    child, grandchild = _stubborn(tmp_path, cleanup)
    try:
        assert child.stop() == -9  # SIGTERM ignored: SIGKILL after stop_timeout_s
        assert child.stopped_children == [grandchild]
        time.sleep(0.2)
        assert alive(grandchild) is not cleanup
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)


def test_a_child_that_stops_gives_its_exit_status_and_can_start_again(tmp_path: Path) -> None:
    child = Child([sys.executable, "-c", "print('up', flush=True); import time; time.sleep(60)"],
                  tmp_path / "plain.log")
    for _ in range(2):
        child.start()
        assert child.wait_for(lambda lines: lines == ["up"], 30)
        assert child.stop() == -15 and not alive(child.pid)
    assert child.stop() is None  # not running: nothing to stop
    assert child.log() == "up\nup\n"  # stdout is kept in the log too


def test_a_controller_that_cannot_start_raises_with_its_status_and_log(tmp_path: Path) -> None:
    with pytest.raises(StartError) as failed:
        Controller(tmp_path / "data", "--backend", "vm").start()
    assert failed.value.status == 2 and failed.value.output == []
    assert "--backend" in failed.value.log and failed.value.log.rstrip() in str(failed.value)


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    with Controller(tmp_path / "data", "--invokers", "0").start() as controller:
        yield controller


def test_a_fleet_registers_in_order_and_stops_by_pid(controller: Controller,
                                                     tmp_path: Path) -> None:
    specs = [AgentSpec("dk-first", ("--no-battery",)), AgentSpec("dk-second", ("--no-battery",))]
    with controller.client() as client:
        with Fleet(client, specs, tmp_path / "logs", stores=tmp_path / "stores") as fleet:
            connected = {i["id"]: i for i in client.invokers() if i["connected"]}
            assert set(connected) == {"dk-first", "dk-second"}
            assert [t["id"] for t in client.tokens.list()] == ["dk-first", "dk-second"]
            assert fleet.store("dk-first") == tmp_path / "stores" / "dk-first"
            pids = [agent.pid for agent in fleet.agents.values()]
        assert not [pid for pid in pids if alive(pid)]
    assert "REGISTERED id=dk-first" in (tmp_path / "logs" / "invoker-dk-first.log").read_text()
    assert controller.port > 0 and controller.api_host.endswith(f":{controller.port}")


def test_an_http_service_that_exits_raises_with_its_status_and_log(tmp_path: Path) -> None:
    script = tmp_path / "broken-pouchdb"
    script.write_text("#!/bin/sh\necho 'cannot open --dir' >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(StartError) as failed:
        CouchDB(tmp_path / "couch", script).start()
    assert failed.value.status == 3 and "exited with 3" in failed.value.message
    assert "cannot open --dir" in str(failed.value)


def test_s3_answers_while_started_and_its_group_is_gone_after_the_stop(tmp_path: Path) -> None:
    with S3(tmp_path / "moto") as s3:
        assert requests.get(f"{s3.url}/", timeout=10).ok
        assert s3.bucket_url("b") == f"s3://b?endpoint_url={s3.url}"
        pid = s3.pid
    assert not alive(pid)
    with pytest.raises(requests.ConnectionError):
        requests.get(s3.url, timeout=5)
