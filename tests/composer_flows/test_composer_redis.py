"""Composer's ``map`` against the controller with the Redis it passes to compositions
(``edgewhisk controller --composer-redis URI``): the branches run in parallel, their results
are joined in order, and the composition leaves no key behind in Redis.

Everything is real: redis-server started by the devkit on a free port, a controller with two
local invokers, Composer's own ``compose``/``deploy`` and its conductor on the ``nodejs:default``
runtime, which invokes each branch through the REST API and waits for them in Redis.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Controller, create_action, edgewhisk
from edgewhisk_controller.dispatch.conductor import with_redis
from edgewhisk_devkit import Redis, alive

from .conftest import deploy

MAP = Path(__file__).resolve().parent / "js" / "map_sleep.js"
SLEEPY = """
import time
def main(args):
    time.sleep(1.5)
    return {"n": args["n"]}
"""
ITEMS = [{"n": 1}, {"n": 2}, {"n": 3}]


@pytest.fixture(scope="module")
def mapped(redis: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    """A controller with two local invokers and ``--composer-redis``, ``sleepy`` and the map
    composition ``sleepmap`` deployed."""
    root = tmp_path_factory.mktemp("map")
    with Controller(root / "data", "--invokers", "2", "--composer-redis", redis.uri) as ctl, \
            ctl.client() as client:
        create_action(client, "sleepy", SLEEPY)
        deploy(ctl, "sleepmap", MAP, root)
        yield ctl


@pytest.mark.parametrize(("payload", "uri", "expected"), [
    pytest.param({"a": 1}, "redis://r:1", {"a": 1, "$composer": {"redis": {"uri": "redis://r:1"}}},
                 id="a composition without a Redis gets the controller's"),
    pytest.param({"$composer": {"openwhisk": {"ignore_certs": True}}}, "redis://r:1",
                 {"$composer": {"openwhisk": {"ignore_certs": True},
                                "redis": {"uri": "redis://r:1"}}},
                 id="the rest of $composer is kept"),
    pytest.param({"$composer": {"redis": {"uri": "redis://own:2"}}}, "redis://r:1",
                 {"$composer": {"redis": {"uri": "redis://own:2"}}},
                 id="a composition naming its own Redis keeps it"),
    pytest.param({"a": 1}, None, {"a": 1}, id="no --composer-redis changes nothing"),
    pytest.param({"$composer": "odd"}, "redis://r:1", {"$composer": "odd"},
                 id="a $composer that is not an object is left to Composer to refuse"),
])
def test_the_controller_s_redis_is_a_default_parameter(
    payload: dict[str, Any], uri: str | None, expected: dict[str, Any]
) -> None:
    assert with_redis(payload, uri) == expected


@pytest.mark.parametrize("uri", [
    pytest.param("http://127.0.0.1:6379", id="another scheme"),
    pytest.param("redis://", id="no host"),
    pytest.param("127.0.0.1:6379", id="no scheme"),
])
def test_a_bad_composer_redis_is_refused_before_the_controller_starts(
    uri: str, tmp_path: Path
) -> None:
    done = subprocess.run(edgewhisk("controller", "--port", "0", "--data", str(tmp_path / "d"),
                                    "--composer-redis", uri),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"--composer-redis must be a redis://HOST:PORT or rediss:// URL, got {uri!r}" \
        in done.stderr
    assert not (tmp_path / "d").exists()  # nothing was created


def test_map_runs_its_branches_in_parallel_and_leaves_redis_clean(
    mapped: Controller, redis: Redis
) -> None:
    with mapped.client() as client:
        done = client.actions.invoke("sleepmap", {"value": ITEMS}, wait_s=120)
        assert done.success, done.record
        records = client.activations.list(name="sleepy", limit=10)
    assert done.result == {"value": ITEMS}  # joined in the order of the input
    assert len(records) == len(ITEMS)
    latest_start = max(r["start"] for r in records)
    earliest_end = min(r["end"] for r in records)
    assert latest_start < earliest_end, "the branches' activations did not overlap"
    assert redis.keys() == []


def test_without_composer_redis_map_fails_with_composer_s_own_message(
    tmp_path: Path
) -> None:
    with Controller(tmp_path / "data", "--invokers", "1") as ctl, ctl.client() as client:
        create_action(client, "sleepy", SLEEPY)
        deploy(ctl, "sleepmap", MAP, tmp_path)
        done = client.actions.invoke("sleepmap", {"value": ITEMS}, wait_s=120)
    assert not done.success
    assert done.result == {
        "error": "Parallel combinator requires a properly configured redis instance"}


def test_the_devkit_stops_redis_by_its_pid(tmp_path: Path) -> None:
    server = Redis(tmp_path / "r").start()
    pid = server.pid
    assert alive(pid) and server.keys() == []
    server.stop()
    assert not alive(pid)
