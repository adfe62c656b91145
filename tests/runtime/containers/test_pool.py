"""ContainerPool over real action proxies: reuse, isolation, slots, failures, logs, cleanup.

Tests that both backends must pass take the parametrised ``backend`` fixture; the scheduling
rules (memory slots, concurrency, idle eviction) are backend-independent and run on processes.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from edgewhisk_runtime.containers import (
    ContainerBackend,
    ContainerPool,
    InsufficientMemory,
    PoolClosed,
    RunOutcome,
    UnsupportedKind,
)
from edgewhisk_runtime.containers.logs import TRUNCATED
from edgewhisk_runtime.containers.pool import ABNORMAL_RUN, timed_out_message

from . import actions
from .support import (
    Run,
    all_stopped,
    fields,
    host_pids,
    proxy_children,
    running,
    spec,
)

MakePool = Callable[..., ContainerPool]
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (stdout|stderr): (.*)$")
WAIT_S = 60.0  # a bound for "eventually", not a performance expectation


def log_texts(outcome: RunOutcome) -> list[tuple[str, str]]:
    parsed = [LOG_LINE.match(line) for line in outcome.logs]
    assert all(parsed), outcome.logs
    return [(m.group(1), m.group(2)) for m in parsed if m]


async def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


# --- warm reuse and isolation (both backends) -----------------------------------------------

def test_a_second_run_reuses_the_warm_container(run: Run, make_pool: MakePool,
                                                backend: ContainerBackend) -> None:
    pool = make_pool(backend)
    cold = run(pool.run(spec(actions.ECHO), {}, fields("a1")))
    warm = run(pool.run(spec(actions.ECHO), {}, fields("a2")))
    assert (cold.status, warm.status) == (200, 200)
    assert cold.init_ms is not None and cold.start_ms is not None
    assert warm.init_ms is None and warm.start_ms is None
    assert warm.container_id == cold.container_id
    assert warm.response["pid"] == cold.response["pid"]
    assert pool.warm_keys() == {"guest/a@0.0.1"}


@pytest.mark.parametrize("second", [
    pytest.param(dict(key="guest/a@0.0.2"), id="another version of the action"),
    pytest.param(dict(key="guest/b@0.0.1"), id="another action"),
])
def test_different_keys_never_share_a_container(run: Run, make_pool: MakePool,
                                                second: dict[str, Any]) -> None:
    pool = make_pool()
    first = run(pool.run(spec(actions.ECHO), {}, fields("a1")))
    other = run(pool.run(spec(actions.ECHO, **second), {}, fields("a2")))
    assert other.container_id != first.container_id
    assert other.init_ms is not None
    assert pool.warm_keys() == {"guest/a@0.0.1", second["key"]}


# --- logs (both backends) -------------------------------------------------------------------

def test_logs_are_cut_per_activation_at_the_sentinels(run: Run, make_pool: MakePool,
                                                      backend: ContainerBackend) -> None:
    pool = make_pool(backend)
    outcomes = [run(pool.run(spec(actions.ECHO), {"lines": 3}, fields(f"act{i}")))
                for i in range(3)]
    assert len({o.container_id for o in outcomes}) == 1
    for i, outcome in enumerate(outcomes):
        texts = log_texts(outcome)
        init = [("stdout", "init output")] if i == 0 else []
        assert [t for t in texts if t[0] == "stdout"] == init + [
            ("stdout", f"act{i} out {n}") for n in range(3)]
        assert [t for t in texts if t[0] == "stderr"] == [
            ("stderr", f"act{i} err {n}") for n in range(3)]


def test_concurrent_activations_in_different_containers_keep_their_own_logs(
        run: Run, make_pool: MakePool) -> None:
    pool = make_pool()

    async def both() -> list[RunOutcome]:
        return list(await asyncio.gather(*(
            pool.run(spec(actions.ECHO), {"lines": 20, "pause": 0.01}, fields(f"act{i}"))
            for i in range(2))))

    outcomes = run(both())
    assert outcomes[0].container_id != outcomes[1].container_id
    for i, outcome in enumerate(outcomes):
        tagged = [text for _, text in log_texts(outcome) if text != "init output"]
        assert len(tagged) == 40
        assert all(text.startswith(f"act{i} ") for text in tagged)


@pytest.mark.parametrize("logs_mb, size, truncated", [
    pytest.param(1, 2_000_000, True, id="logs over the limit end with upstream's notice"),
    pytest.param(1, 100_000, False, id="logs under the limit are whole"),
    pytest.param(0, 1000, False, id="a zero limit collects no logs"),
])
def test_logs_limit(run: Run, make_pool: MakePool, logs_mb: int, size: int,
                    truncated: bool) -> None:
    pool = make_pool()
    action = spec(actions.CHATTY, logs_mb=logs_mb)
    outcome = run(pool.run(action, {"size": size}, fields("big")))
    texts = log_texts(outcome)
    limit = logs_mb * 1024 * 1024
    if logs_mb == 0:
        assert texts == []
    elif truncated:
        assert texts[-1] == ("stderr", TRUNCATED.format(limit=limit))
        assert sum(len(text) + 1 for _, text in texts[:-1]) <= limit
    else:
        assert texts[-1] == ("stdout", "last line")
    # The whole activation was consumed: the next one starts clean in the same container.
    after = run(pool.run(action, {"size": 0}, fields("next")))
    assert after.container_id == outcome.container_id
    assert log_texts(after) == ([] if logs_mb == 0 else [("stdout", "last line")])


# --- failures (both backends where the failure can happen in both) --------------------------

@pytest.mark.parametrize("code, overrides, status, error", [
    pytest.param(actions.SYNTAX_ERROR, {}, 502, None, id="a syntax error"),
    pytest.param(actions.NO_MAIN, {}, 502, None, id="no main function"),
    pytest.param(None, {}, 403, "Missing main/no code to execute.", id="no code at all"),
    pytest.param(actions.SLOW_IMPORT, {"timeout_ms": 1000}, 502,
                 timed_out_message(1000, init=True), id="an import slower than the time limit"),
])
def test_an_init_failure_is_an_outcome_and_the_container_is_destroyed(
        run: Run, make_pool: MakePool, backend: ContainerBackend, code: str | None,
        overrides: dict[str, Any], status: int, error: str | None) -> None:
    pool = make_pool(backend)
    outcome = run(pool.run(spec(code, **overrides), {}, fields("a1")))
    assert outcome.init_failed
    assert outcome.status == status
    assert "error" in outcome.response
    if error is not None:
        assert outcome.response["error"] == error
    assert outcome.init_ms is not None
    assert pool.containers == 0 and pool.free_memory_mb == pool.memory_mb
    again = run(pool.run(spec(code, **overrides), {}, fields("a2")))
    assert again.init_failed and again.container_id != outcome.container_id


def test_a_syntax_error_reaches_the_logs(run: Run, make_pool: MakePool) -> None:
    outcome = run(make_pool().run(spec(actions.SYNTAX_ERROR), {}, fields("a1")))
    assert any("SyntaxError" in text for _, text in log_texts(outcome))


@pytest.mark.parametrize("how, status, response", [
    pytest.param("exit", 400, None, id="the action process exits"),
    pytest.param("kill-proxy", 502, {"error": ABNORMAL_RUN}, id="the proxy itself dies"),
])
def test_a_crash_mid_run_replaces_the_container(run: Run, make_pool: MakePool, how: str,
                                                status: int, response: Any) -> None:
    pool = make_pool()
    healthy = run(pool.run(spec(actions.CRASH), {}, fields("a1")))
    tree = host_pids(healthy)
    crashed = run(pool.run(spec(actions.CRASH), {"how": how}, fields("a2")))
    assert crashed.status == status and crashed.container_id == healthy.container_id
    if response is not None:
        assert crashed.response == response
    after = run(pool.run(spec(actions.CRASH), {}, fields("a3")))
    assert after.status == 200
    assert after.container_id != healthy.container_id and after.init_ms is not None
    assert all_stopped(tree)


@pytest.mark.parametrize("more_fields, margin", [
    pytest.param({}, 30.0, id="the proxy stops the action at the deadline the pool sends"),
    pytest.param({"deadline": "123"}, 0.5,
                 id="the pool's own bound stops a proxy that ignores the deadline"),
])
def test_an_action_over_its_time_limit_is_stopped(run: Run, make_pool: MakePool,
                                                 more_fields: dict[str, str],
                                                 margin: float) -> None:
    pool = make_pool(timeout_margin_s=margin)
    action = spec(actions.CRASH, timeout_ms=1000)
    healthy = run(pool.run(action, {}, fields("a1")))
    tree = host_pids(healthy)
    outcome = run(pool.run(action, {"how": "hang"}, fields("a2", **more_fields)))
    assert outcome.status == 502 and outcome.timed_out
    message = "The action exceeded its time limits of 1000 milliseconds."
    assert outcome.response == {"error": message}
    after = run(pool.run(action, {}, fields("a3")))
    assert after.status == 200 and after.container_id != healthy.container_id
    assert all_stopped(tree)


def test_a_deadline_outcome_on_both_backends(run: Run, make_pool: MakePool,
                                           backend: ContainerBackend) -> None:
    pool = make_pool(backend)
    outcome = run(pool.run(spec(actions.CRASH, timeout_ms=1000), {"how": "hang"}, fields("a")))
    assert (outcome.status, outcome.response, outcome.timed_out) == (
        502, {"error": timed_out_message(1000)}, True)
    assert pool.containers == 0


# --- memory slots and concurrency (process backend) -----------------------------------------

def test_a_second_key_evicts_the_idle_first_when_memory_is_short(run: Run,
                                                                make_pool: MakePool) -> None:
    pool = make_pool(memory_mb=256)
    first = run(pool.run(spec(actions.SLEEPER, key="guest/a@1"), {}, fields("a1")))
    tree = host_pids(first)
    second = run(pool.run(spec(actions.SLEEPER, key="guest/b@1"), {}, fields("b1")))
    assert second.status == 200 and second.container_id != first.container_id
    assert pool.warm_keys() == {"guest/b@1"} and pool.free_memory_mb == 0
    assert all_stopped(tree)


def test_a_busy_container_is_never_evicted_and_the_waiting_run_gets_the_freed_slot(
        run: Run, make_pool: MakePool) -> None:
    pool = make_pool(memory_mb=256)

    async def scenario() -> tuple[RunOutcome, RunOutcome]:
        busy = asyncio.ensure_future(
            pool.run(spec(actions.SLEEPER, key="guest/a@1"), {"sleep": 1.0}, fields("a1")))
        await eventually(lambda: pool.containers == 1)
        waiting = asyncio.ensure_future(
            pool.run(spec(actions.SLEEPER, key="guest/b@1"), {}, fields("b1")))
        return await busy, await waiting

    busy, waited = run(scenario())
    assert (busy.status, waited.status) == (200, 200)
    assert waited.response["start"] >= busy.response["end"]
    assert waited.container_id != busy.container_id


@pytest.mark.parametrize("memory_mb, concurrency, containers, serialised", [
    pytest.param(256, 1, 1, True, id="concurrency 1 and room for one container: serialised"),
    pytest.param(768, 1, 3, False, id="concurrency 1 and room for three: three containers"),
    pytest.param(256, 3, 1, False, id="concurrency 3: the runs share one container"),
])
def test_the_concurrency_limit(run: Run, make_pool: MakePool, memory_mb: int, concurrency: int,
                               containers: int, serialised: bool) -> None:
    pool = make_pool(memory_mb=memory_mb)
    action = spec(actions.SLEEPER, concurrency=concurrency)

    async def three() -> list[RunOutcome]:
        return list(await asyncio.gather(*(
            pool.run(action, {"sleep": 0.3}, fields(f"a{i}")) for i in range(3))))

    outcomes = run(three())
    assert all(o.status == 200 for o in outcomes)
    assert len({o.container_id for o in outcomes}) == containers
    if serialised:  # the spans the action reports are disjoint
        spans = sorted((o.response["start"], o.response["end"]) for o in outcomes)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("make_error, kind, memory_mb", [
    pytest.param(UnsupportedKind, "blackbox", 256, id="a kind the backend does not run"),
    pytest.param(InsufficientMemory, "python:3", 2048, id="more memory than the whole pool"),
])
def test_runs_the_pool_refuses(run: Run, make_pool: MakePool, make_error: type[Exception],
                               kind: str, memory_mb: int) -> None:
    pool = make_pool(memory_mb=1024)
    with pytest.raises(make_error):
        run(pool.run(spec(actions.ECHO, kind=kind, memory_mb=memory_mb), {}, fields("a1")))
    assert pool.containers == 0 and pool.in_flight == 0


def test_an_idle_container_is_evicted_after_the_idle_timeout(run: Run,
                                                             make_pool: MakePool) -> None:
    pool = make_pool(idle_timeout_s=1.0)
    outcome = run(pool.run(spec(actions.SLEEPER), {}, fields("a1")))
    tree = host_pids(outcome)
    assert len(tree) >= 2  # the proxy and its action, at least, before the timeout
    run(eventually(lambda: pool.containers == 0))
    assert pool.warm_keys() == set() and pool.free_memory_mb == pool.memory_mb
    # They die together, each as soon as the kernel delivers its SIGKILL: under load the
    # action process can outlive its proxy by a scheduler tick.
    run(eventually(lambda: not any(running(pid) for pid in tree)))


@pytest.mark.parametrize("stage", [
    pytest.param("start", id="cancelled during the cold start"),
    pytest.param("run", id="cancelled while the action runs"),
])
def test_a_cancelled_run_leaves_no_container_behind(run: Run, make_pool: MakePool,
                                                    stage: str) -> None:
    pool = make_pool()
    before = set(proxy_children())

    async def scenario() -> None:
        task = asyncio.ensure_future(pool.run(spec(actions.SLEEPER), {"sleep": 30}, fields("a")))
        if stage == "start":
            await eventually(lambda: pool.containers == 1)
        else:
            await eventually(lambda: bool(pool.warm_keys()))
            await asyncio.sleep(0.3)  # let /run reach the action
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.containers == 0 and pool.in_flight == 0
        await eventually(lambda: set(proxy_children()) <= before)

    run(scenario())
    assert run(pool.run(spec(actions.SLEEPER), {}, fields("after"))).status == 200


# --- close ----------------------------------------------------------------------------------

def test_close_destroys_every_container_busy_or_idle(run: Run, make_pool: MakePool,
                                                     backend: ContainerBackend) -> None:
    pool = make_pool(backend)
    before = set(proxy_children())
    trees: list[list[int]] = []

    async def scenario() -> tuple[RunOutcome, RunOutcome]:
        idle = await pool.run(spec(actions.SLEEPER, key="guest/a@1"), {}, fields("a1"))
        if idle.container_id.startswith("process-"):
            trees.append(host_pids(idle))
        busy = asyncio.ensure_future(pool.run(spec(actions.SLEEPER, key="guest/b@1"),
                                              {"sleep": 30}, fields("b1")))
        await eventually(lambda: pool.containers == 2 and pool.warm_keys() == {
            "guest/a@1", "guest/b@1"})
        await asyncio.sleep(0.3)  # let /run reach the action
        await pool.close()
        await pool.close()  # idempotent
        return idle, await busy

    idle, busy = run(scenario())
    assert busy.status == 502 and pool.containers == 0
    with pytest.raises(PoolClosed):
        run(pool.run(spec(actions.SLEEPER), {}, fields("late")))
    assert all(all_stopped(tree) for tree in trees)
    assert set(proxy_children()) <= before  # docker: the fixture checks the labelled containers
