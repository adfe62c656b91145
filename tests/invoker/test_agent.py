"""A real agent process against a real tunnel server (tests/invoker/tunnel_server.py) that
speaks the shared schema: registration, heartbeats, runs, reconnects with the outbox, shutdown."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import edgewhisk
import pytest
from edgewhisk_tunnel import (
    CloseCode,
    Context,
    Drain,
    Heartbeat,
    Metrics,
    Register,
    Result,
    Run,
    RunSpec,
)

from .harness import HELLO, AgentProcess, alive, descendants
from .tunnel_server import TunnelServer

# Talks with the test through files in its folder: only an agent run with --no-sandbox
# (UNSANDBOXED) lets an action see them.
UNSANDBOXED = "--no-sandbox"
SLOW = ("import pathlib, time\n"
        "def main(args):\n"
        "    with open(args['marker'], 'a') as f:\n"
        "        f.write('ran\\n')\n"
        "    waited = 0\n"
        "    while not pathlib.Path(args['release']).exists() and waited < 600:\n"
        "        time.sleep(0.05); waited += 1\n"
        "    if 'finished' in args:\n"
        "        pathlib.Path(args['finished']).touch()\n"
        "    return {'done': args['n']}\n")


def run_message(activation_id: str, code: str, value: dict[str, object],
                name: str = "hello") -> Run:
    spec = RunSpec(key=f"guest/{name}@0.0.1", kind="python:3", code=code, binary=False,
                   main="main", image=None, env={}, memory_mb=128, timeout_ms=60_000,
                   concurrency=1)
    fields = {"activation_id": activation_id, "transaction_id": "tx" + activation_id,
              "namespace": "guest", "action_name": f"/guest/{name}",
              "action_version": "0.0.1"}
    return Run(activation_id, spec, value, fields)


@pytest.fixture
def server() -> Iterator[TunnelServer]:
    server = TunnelServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def agent_factory(tmp_path: Path) -> Iterator[object]:
    started: list[AgentProcess] = []

    def start(server: TunnelServer, *flags: str, token: str | None = None) -> AgentProcess:
        agent = AgentProcess(tmp_path, server.url, token or server.token, "--id", "pi-1",
                             "--backoff-cap", "1", *flags).start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop(signal.SIGKILL)


def test_the_agent_registers_with_what_it_offers(server: TunnelServer, agent_factory) -> None:
    agent = agent_factory(server, "--label", "room=kitchen", "--capability", "gpu",
                          "--network", "home", "--site", "home", "--owner", "alice",
                          "--memory", "512", "--battery-sim", "level=0.5")
    line = agent.wait_registered()
    register = server.wait_message(Register)
    assert (register.id, register.owner, register.site, register.memory_mb) == \
        ("pi-1", "alice", "home", 512)
    assert register.labels == {"room": "kitchen", "edgewhisk.battery": "simulated"}
    assert register.capabilities == ("gpu",)
    assert register.networks == ("home",)
    assert "python:3" in register.kinds and register.holding == ()
    assert register.agent_version == edgewhisk.__version__
    assert "battery=simulated" in line
    context = server.wait_message(Context)
    assert context.battery == pytest.approx(0.5, abs=0.01) and context.networks == ("home",)


def test_heartbeats_flow_both_ways_and_are_echoed(server: TunnelServer, agent_factory) -> None:
    line = agent_factory(server, "--json", "--battery-sim").wait_registered()
    assert json.loads(line) == {"event": "registered", "id": "pi-1",
                                "controller": server.url + "/v1/invokers/tunnel",
                                "battery": "simulated", "heartbeat_s": server.heartbeat_s,
                                "offline_after_s": server.offline_after_s}
    server.send(Heartbeat(seq=41, sent_ms=123456))
    echo = server.wait_message(Heartbeat, lambda m: m.echo_ms == 123456)
    assert echo.seq == 41
    ours = server.wait_message(Heartbeat, lambda m: m.echo_ms is None)
    assert ours.seq >= 0


def test_a_run_comes_back_as_one_result_with_its_logs(server: TunnelServer,
                                                      agent_factory) -> None:
    agent_factory(server).wait_registered()
    server.send(run_message("a1", HELLO, {"name": "edge"}))
    result = server.wait_message(Result, lambda m: m.activation_id == "a1")
    assert result.error is None and result.outcome is not None
    assert result.outcome.status == 200
    assert result.outcome.response == {"greeting": "hello edge"}
    assert any("hello from edge" in line for line in result.outcome.logs)
    assert result.outcome.init_ms is not None  # a cold start
    server.send(run_message("a2", HELLO, {"name": "again"}))
    warm = server.wait_message(Result, lambda m: m.activation_id == "a2")
    assert warm.outcome.init_ms is None and warm.outcome.response == {"greeting": "hello again"}


def test_an_action_whose_warm_container_was_evicted_is_reported_cold(
        server: TunnelServer, agent_factory) -> None:
    """Memory for one 128 MB container: running b evicts a's warm container, and the agent's
    next metrics name a as cold (the controller's placement then stops counting it warm)."""
    agent_factory(server, "--memory", "128").wait_registered()
    server.send(run_message("c1", HELLO, {"name": "a"}, name="a"))
    server.wait_message(Result, lambda m: m.activation_id == "c1")
    server.send(run_message("c2", HELLO, {"name": "b"}, name="b"))
    server.wait_message(Result, lambda m: m.activation_id == "c2")
    cold = server.wait_message(Metrics, lambda m: bool(m.cold))
    assert cold.cold == ("guest/a@0.0.1",)


def test_results_finished_while_disconnected_are_delivered_once_after_reconnecting(
        server: TunnelServer, agent_factory, tmp_path: Path) -> None:
    agent = agent_factory(server, UNSANDBOXED)
    agent.wait_registered()
    marker, release, finished = tmp_path / "marker", tmp_path / "release", tmp_path / "finished"
    server.send(run_message("slow1", SLOW, {"marker": str(marker), "release": str(release),
                                             "finished": str(finished), "n": 1}, name="slow"))
    server.wait(lambda s: marker.exists(), "the action to start")
    server.refusing = True           # the controller is unreachable for a while
    server.drop()                    # and the link is cut mid-activation
    server.wait(lambda s: s.handshakes >= 3, "reconnect attempts while refused")
    release.touch()                  # the activation finishes while disconnected:
    server.wait(lambda s: finished.exists(), "the action to finish")
    refused = server.handshakes      # its result in the outbox before the link is back (under
    server.wait(lambda s: s.handshakes >= refused + 2, "two more refused attempts")  # load,
    server.refusing = False          # it otherwise finished after the reconnect, not late)
    agent.wait_registered(2)
    register = server.wait_message(Register, connection=2)
    assert register.holding == ("slow1",)
    result = server.wait_message(Result, lambda m: m.activation_id == "slow1")
    assert result.outcome.response == {"done": 1}
    # Confirmed by a heartbeat echo, then never sent again, even after another reconnect.
    agent.wait_log("result of slow1 delivered")
    server.drop()
    agent.wait_registered(3)
    assert server.wait_message(Register, connection=3).holding == ()
    server.wait_message(Heartbeat, lambda m: m.echo_ms is None, connection=3)
    results = [m for m in server.messages(Result) if m.activation_id == "slow1"]
    assert len(results) == 1
    assert marker.read_text() == "ran\n"


def test_a_result_the_controller_did_not_confirm_is_sent_again_after_reconnecting(
        server: TunnelServer, agent_factory) -> None:
    agent = agent_factory(server)
    agent.wait_registered()
    server.echo = False              # the result's frame may never have been read
    server.send(run_message("u1", HELLO, {"name": "once"}))
    server.wait_message(Result, lambda m: m.activation_id == "u1", connection=1)
    server.wait_message(Heartbeat, lambda m: m.echo_ms is None and m.seq >= 2, connection=1)
    server.echo = True
    server.drop()
    agent.wait_registered(2)
    assert server.wait_message(Register, connection=2).holding == ("u1",)
    again = server.wait_message(Result, lambda m: m.activation_id == "u1", connection=2)
    assert again.outcome.response == {"greeting": "hello once"}
    agent.wait_log("result of u1 delivered")
    server.drop()
    agent.wait_registered(3)
    assert server.wait_message(Register, connection=3).holding == ()


def test_sigterm_drains_and_leaves_no_process_behind(server: TunnelServer,
                                                    agent_factory) -> None:
    agent = agent_factory(server)
    agent.wait_registered()
    server.send(run_message("w1", HELLO, {"name": "warm"}))
    server.wait_message(Result, lambda m: m.activation_id == "w1")
    children = descendants(agent.pid)
    assert children, "a warm container (proxy process) should be running"
    assert agent.stop(signal.SIGTERM) == 0
    assert [pid for pid in children if alive(pid)] == []
    assert server.wait_message(Drain).reason == "SIGTERM"
    server.wait(lambda s: s.closes, "the close")
    assert server.closes[0][1] == CloseCode.GOING_AWAY


def test_sigterm_reports_an_activation_still_running_after_the_grace(
        server: TunnelServer, agent_factory, tmp_path: Path) -> None:
    agent = agent_factory(server, "--grace", "0", UNSANDBOXED)
    agent.wait_registered()
    marker = tmp_path / "marker"
    server.send(run_message("stuck", SLOW, {"marker": str(marker),
                                             "release": str(tmp_path / "never"), "n": 2},
                            name="slow"))
    server.wait(lambda s: marker.exists(), "the action to start")
    children = descendants(agent.pid)
    assert agent.stop(signal.SIGINT) == 0
    result = server.wait_message(Result, lambda m: m.activation_id == "stuck")
    assert result.error == "the edge invoker pi-1 shut down during the activation"
    assert [pid for pid in children if alive(pid)] == []


def test_a_bad_token_is_refused_for_good(server: TunnelServer, agent_factory) -> None:
    agent = agent_factory(server, token="not-the-token")
    assert agent.wait_exit() == 3
    assert "refused the token (HTTP 401)" in agent.log()


def test_a_malformed_frame_closes_the_connection_and_the_agent_reconnects(
        server: TunnelServer, agent_factory) -> None:
    agent = agent_factory(server)
    agent.wait_registered()
    server.send_text('{"type": "run", "activation_id": "x"}')
    server.wait(lambda s: s.closes, "the agent to close the connection")
    assert server.closes[0][1] == CloseCode.PROTOCOL_ERROR
    agent.wait_registered(2)


def test_a_second_signal_ends_the_grace_period(server: TunnelServer, agent_factory,
                                               tmp_path: Path) -> None:
    agent = agent_factory(server, "--grace", "600", UNSANDBOXED)
    agent.wait_registered()
    marker = tmp_path / "marker"
    server.send(run_message("long", SLOW, {"marker": str(marker),
                                            "release": str(tmp_path / "never"), "n": 3},
                            name="slow"))
    server.wait(lambda s: marker.exists(), "the action to start")
    agent.signal(signal.SIGTERM)
    server.wait_message(Drain)
    agent.signal(signal.SIGINT)
    assert agent.wait_exit() == 0
    result = server.wait_message(Result, lambda m: m.activation_id == "long")
    assert result.error == "the edge invoker pi-1 shut down during the activation"


def test_network_changes_are_reported_as_context(server: TunnelServer, agent_factory) -> None:
    agent = agent_factory(server, "--no-battery", "--network", "home", "--context-interval",
                          "0.1", "--network-schedule", "1:-home", "--network-schedule",
                          "1:+office")
    assert "battery=none" in agent.wait_registered()
    assert server.wait_message(Register).networks in (("home",), ("office",))
    context = server.wait_message(Context, lambda m: m.networks == ("office",))
    assert (context.battery, context.charging) == (None, None)


def test_the_agent_never_imports_the_controller() -> None:
    import ast

    import edgewhisk_invoker

    folder = Path(edgewhisk_invoker.__file__).parent
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
        assert not {m for m in imported if m.split(".")[0] == "edgewhisk_controller"}, path


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_the_agent_runs_on_either_event_loop(server: TunnelServer, agent_factory,
                                             loop: str) -> None:
    agent = agent_factory(server, "--loop", loop)
    agent.wait_registered()
    server.send(run_message("l1", HELLO, {"name": loop}))
    result = server.wait_message(Result, lambda m: m.activation_id == "l1")
    assert result.outcome.response == {"greeting": f"hello {loop}"}
    assert agent.stop(signal.SIGTERM) == 0


def test_an_unknown_event_loop_is_refused_before_anything_starts(
        server: TunnelServer, agent_factory) -> None:
    agent = agent_factory(server, "--loop", "twisted")
    assert agent.wait_exit() == 2
    assert "invalid choice: 'twisted'" in agent.log() and server.handshakes == 0
