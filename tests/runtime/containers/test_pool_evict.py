"""ContainerPool.on_evict: the key of the last warm container leaving the pool, once.

Why: the controller's placement prefers invokers holding a warm container of the action; when
the pool drops it (idle timeout, evicted for room), the placement must forget it
(``Engine.forget_warm``), or it keeps sending activations to a cold invoker.
"""

from __future__ import annotations

from collections.abc import Callable

from edgewhisk_runtime.containers import ContainerPool

from . import actions
from .support import Run, fields, spec
from .test_pool import eventually

MakePool = Callable[..., ContainerPool]


def test_a_container_evicted_for_room_reports_its_key(run: Run, make_pool: MakePool) -> None:
    pool = make_pool(memory_mb=256)
    evicted: list[str] = []
    pool.on_evict.append(evicted.append)
    run(pool.run(spec(actions.SLEEPER, key="guest/a@1"), {}, fields("a1")))
    run(pool.run(spec(actions.SLEEPER, key="guest/a@1"), {}, fields("a2")))
    assert evicted == []  # reused, still warm
    run(pool.run(spec(actions.SLEEPER, key="guest/b@1"), {}, fields("b1")))
    assert evicted == ["guest/a@1"]


def test_an_idle_timeout_reports_the_key_when_its_last_container_goes(
        run: Run, make_pool: MakePool) -> None:
    pool = make_pool(idle_timeout_s=0.2)
    evicted: list[str] = []
    pool.on_evict.append(evicted.append)
    run(pool.run(spec(actions.SLEEPER, key="guest/a@1"), {}, fields("a1")))
    run(eventually(lambda: pool.containers == 0))
    assert evicted == ["guest/a@1"]
