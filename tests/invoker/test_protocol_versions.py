"""Tunnel protocol versions with real agent processes: a version-2 agent's result names what
the run kept, so a flow's next step, placed by where that artifact is, finds its holder with
no ``context`` frame at all (the agent sends none for a run's produces in version 2); a
controller of this version speaks version 1 to an agent told ``--protocol 1`` (which still
reports its holdings in ``context`` frames); and a version-2 agent refused by a version-1
controller exits with a message saying what to do."""

from __future__ import annotations

import dataclasses
import signal
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Client, Controller, create_action
from edgewhisk_tunnel import CodeMissing, Heartbeat, Register, Result, Run

from . import test_artifacts_with_controller as artifacts
from .harness import HELLO, AgentProcess
from .test_agent import run_message
from .test_artifacts_with_controller import COLLECT as KEEP
from .test_artifacts_with_controller import annotated, invoke
from .test_with_controller import invoker_of
from .tunnel_server import TunnelServer

USE = textwrap.dedent("""
    from edgewhisk import consumes

    @consumes.data("{usr}/glucose", name="readings")
    def main(args, readings):
        return {"read": readings.load().decode()}
""")
controller = artifacts.controller  # its fixture: a real edge-only controller per test
DEVICES = {"pv-a": (), "pv-b": (), "pv-old": ("--protocol", "1")}


@pytest.fixture
def devices(controller: Controller, tmp_path: Path) -> Iterator[None]:
    """Two version-2 agents and one told to speak version 1, each with a node store."""
    started: list[AgentProcess] = []
    try:
        with controller.client() as api:
            for id, flags in DEVICES.items():
                answer = api.request("POST", "invokers/tokens", json={"id": id})
                assert answer.status_code == 200, answer.text
                agent = AgentProcess(tmp_path, controller.api_host.replace("http", "ws"),
                                     answer.json()["token"], "--id", id, "--no-battery",
                                     "--memory", "100000", "--store",
                                     str(tmp_path / f"store-{id}"), *flags).start()
                started.append(agent)
                agent.wait_registered()
        yield
    finally:
        for agent in started:
            agent.stop(signal.SIGKILL)


def described(code: str) -> list[dict[str, Any]]:
    """The edgewhisk annotation of ``code``'s main (what it consumes), no placement policy."""
    (annotation,) = annotated(code, "any")
    annotation["value"]["policies"] = [p for p in annotation["value"]["policies"]
                                       if p.get("node") != "any"]
    return [annotation]


def statuses(api: Client) -> dict[str, dict[str, Any]]:
    answer = api.request("GET", "invokers")
    assert answer.status_code == 200, answer.text
    return {s["id"]: s for s in answer.json() if s["id"] in DEVICES}


def reported(api: Client) -> dict[str, dict[str, Any]]:
    """The statuses once each device's context at registration was read (an agent sends it
    right after ``registered``; a busy controller may read it after the agent's stdout said
    so), so that what the test counts from here are the frames its activations caused."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = statuses(api)
        if len(now) == len(DEVICES) and all(s["context_reports"] >= 1 for s in now.values()):
            return now
        time.sleep(0.05)
    raise AssertionError(f"no context report from every device: {statuses(api)}")


def test_the_next_step_finds_the_holder_from_the_result_alone(controller: Controller,
                                                              devices: None) -> None:
    with controller.client() as api:
        before = reported(api)
        assert {id: s["protocol"] for id, s in before.items()} == {
            "pv-a": 2, "pv-b": 2, "pv-old": 1}
        create_action(api, "use", USE, annotations=described(USE))  # no node: its holder
        for round, holder in enumerate(["pv-a", "pv-b", "pv-old", "pv-a", "pv-b"]):
            name, usr = f"keep-{round}", f"u{round}"
            create_action(api, name, KEEP, annotations=annotated(KEEP, holder))
            kept = invoke(api, name, {"usr": usr})
            assert kept["response"]["success"], kept
            used = invoke(api, "use", {"usr": usr})  # at once: placed by the holder
            assert used["response"]["success"], (round, used["response"]["result"])
            assert used["response"]["result"]["read"] == f"5 7 9 {usr}"
            assert invoker_of(used) == holder
        after = statuses(api)
    # version 2: no context frame named the kept artifacts, their results did
    assert [after[id]["context_reports"] - before[id]["context_reports"]
            for id in DEVICES] == [0, 0, 1]
    assert "guest/u0/glucose@1" in after["pv-a"]["cached"]
    assert "guest/u2/glucose@1" in after["pv-old"]["cached"]


@pytest.fixture
def old_controller() -> Iterator[TunnelServer]:
    server = TunnelServer()
    server.version_1 = True
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_version_1_controller_refusing_a_version_2_agent_says_what_to_do(
        old_controller: TunnelServer, tmp_path: Path) -> None:
    agent = AgentProcess(tmp_path, old_controller.url, old_controller.token, "--id", "pv-new",
                         "--no-battery").start()
    try:
        assert agent.wait_exit() == 3  # not retried: retrying cannot fix it
        assert ("register.protocol 2 is not supported (need 1): the controller does not speak "
                "tunnel protocol 2; upgrade it, or start this agent with --protocol 1"
                in agent.log())
    finally:
        agent.stop(signal.SIGKILL)
    agent = AgentProcess(tmp_path, old_controller.url, old_controller.token, "--id", "pv-new",
                         "--no-battery", "--protocol", "1").start()
    try:
        agent.wait_registered()
        assert old_controller.wait_message(Register, connection=2).protocol == 1
    finally:
        agent.stop(signal.SIGKILL)


def without_code(run: Run) -> Run:
    return dataclasses.replace(run, spec=dataclasses.replace(run.spec, code=None),
                               code_omitted=True)


def test_a_version_2_agent_runs_warm_runs_without_their_code(tmp_path: Path) -> None:
    server = TunnelServer()
    server.protocol = 2
    server.start()
    agent = AgentProcess(tmp_path, server.url, server.token, "--id", "pv-code",
                         "--no-battery").start()
    try:
        agent.wait_registered()
        server.send(run_message("c1", HELLO, {"name": "cold"}))
        server.send(without_code(run_message("c2", HELLO, {"name": "warm"})))
        for aid, greeting in (("c1", "hello cold"), ("c2", "hello warm")):
            result = server.wait_message(Result, lambda m, aid=aid: m.activation_id == aid)
            assert result.outcome.response == {"greeting": greeting}
        server.send(without_code(run_message("c3", HELLO, {"name": "x"}, name="other")))
        assert server.wait_message(CodeMissing) == CodeMissing("c3", "guest/other@0.0.1")
        server.send(run_message("c3", HELLO, {"name": "again"}, name="other"))
        result = server.wait_message(Result, lambda m: m.activation_id == "c3")
        assert result.outcome.response == {"greeting": "hello again"}
        assert len(server.messages(Result)) == 3  # c3 ran once, after its code came
    finally:
        agent.stop(signal.SIGKILL)
        server.stop()


@pytest.mark.parametrize("protocol", [1, 2])
def test_a_version_2_agent_asks_for_an_answer_only_to_confirm_a_result(
        tmp_path: Path, protocol: int) -> None:
    """Its heartbeats are ``quiet`` but for the one after a result (whose answer confirms
    it) and every ``RTT_BEATS``-th; a version-1 connection's never are."""
    server = TunnelServer(heartbeat_s=0.1)
    server.protocol = protocol
    server.start()
    agent = AgentProcess(tmp_path, server.url, server.token, "--id", "pv-beat",
                         "--no-battery").start()
    try:
        agent.wait_registered()
        server.wait(lambda s: len(s.messages(Heartbeat)) >= 5, "five heartbeats")
        server.send(run_message("b1", HELLO, {"name": "beat"}))
        server.wait_message(Result)
        sent = len(server.messages(Heartbeat))
        server.wait(lambda s: len(s.messages(Heartbeat)) >= sent + 20, "twenty more")
        beats = server.messages(Heartbeat)
        asking = [b.seq for b in beats if not b.quiet]
        if protocol == 1:
            assert asking == [b.seq for b in beats]
        else:  # every 15th (the round trip), and those after the result until confirmed
            assert [b.seq for b in beats if b.seq % 15 == 0] == [
                seq for seq in asking if seq % 15 == 0]
            confirming = [seq for seq in asking if seq % 15]
            assert 1 <= len(confirming) <= 2, asking
            frames = [r.message for r in server.received]
            result_at = next(i for i, m in enumerate(frames) if isinstance(m, Result))
            first_after = next(m for m in frames[result_at:] if isinstance(m, Heartbeat))
            assert confirming[0] == first_after.seq, (asking, first_after)
    finally:
        agent.stop(signal.SIGKILL)
        server.stop()
