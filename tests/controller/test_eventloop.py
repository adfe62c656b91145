"""``--loop``: the controller's event loop (``eventloop.py``), uvloop by default."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from edgewhisk_controller import eventloop

from .api.harness import Controller, create_action, refused_options


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.parametrize(("name", "module"), [
    pytest.param("uvloop", "uvloop", id="uvloop runs the coroutine on libuv's loop"),
    pytest.param("asyncio", "asyncio.unix_events", id="asyncio runs it on the standard loop"),
])
def test_each_loop_runs_the_coroutine_on_its_own_loop(name: str, module: str) -> None:
    assert eventloop.run(loop_module(), name) == module


def test_the_default_is_uvloop() -> None:
    assert eventloop.LOOPS[0] == "uvloop"
    assert eventloop.run(loop_module()) == "uvloop"


def test_an_unknown_loop_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown event loop 'twisted': choose one of "
                                         "uvloop, asyncio"):
        eventloop.factory("twisted")


@pytest.mark.parametrize("loop", [pytest.param("asyncio", id="a controller on asyncio's loop "
                                                             "invokes an action")])
def test_a_controller_on_the_other_loop_serves_invokes(tmp_path: Path, loop: str) -> None:
    with Controller(tmp_path / "data", "--loop", loop).start() as controller, \
            controller.client() as client:
        create_action(client, "hi", "def main(args):\n    return {'hi': args.get('n')}\n")
        record = client.actions.invoke("hi", {"n": 1})
    assert record.response["result"] == {"hi": 1}


def test_an_unknown_loop_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    assert "invalid choice: 'twisted'" in refused_options(tmp_path / "d", "--loop", "twisted")


def test_a_controller_whose_uvloop_does_not_import_starts_on_asyncio(tmp_path: Path) -> None:
    """The controller and the agent parse ``--loop`` with the runtime's one helper: a uvloop
    that is present but broken leaves the default on asyncio's own loop instead of failing."""
    import os
    import subprocess
    import sys

    (tmp_path / "uvloop").mkdir()
    (tmp_path / "uvloop" / "__init__.py").write_text('raise ImportError("broken")\n')
    script = ("import argparse, asyncio\n"
              "from edgewhisk_controller import eventloop\n"
              "parser = argparse.ArgumentParser(); eventloop.add_argument(parser)\n"
              "async def module(): return type(asyncio.get_running_loop()).__module__\n"
              "print(eventloop.run(module(), parser.parse_args([]).loop))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "asyncio.unix_events"
