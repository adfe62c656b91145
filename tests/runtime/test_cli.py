"""``edgewhisk runtime`` and ``python -m edgewhisk_runtime``: the commands start and explain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from edgewhisk_runtime.logs import SENTINEL

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")

ROWS = [
    ("python -m edgewhisk_runtime serve --help lists the serve options",
     [sys.executable, "-m", "edgewhisk_runtime", "serve", "--help"],
     ["--port", "--host", "--artifacts", "--max-zip-bytes", "--max-zip-entries"]),
    ("edgewhisk runtime --help lists serve and image",
     [str(EDGEWHISK), "runtime", "--help"], ["serve", "image"]),
    ("edgewhisk runtime image --help is answered by the images module",
     [str(EDGEWHISK), "runtime", "image", "--help"], ["build"]),
]


@pytest.mark.parametrize("argv, words", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_help(argv: list[str], words: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert all(w in done.stdout for w in words), done.stdout


def _mapped(pid: int, library: str) -> bool:
    """Whether the process ``pid`` has ``library`` (a path fragment) mapped."""
    return library in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize(("extra", "uvloop"), [
    pytest.param((), True, id="by default the proxy runs on uvloop (it is installed here)"),
    pytest.param(("--loop", "asyncio"), False, id="--loop asyncio runs it on asyncio's own"),
])
def test_the_proxy_serves_on_the_loop_it_was_given(extra: tuple[str, ...], uvloop: bool) -> None:
    from edgewhisk_runtime.local import LocalRuntime

    with LocalRuntime(extra_args=extra) as runtime:
        assert runtime.pid is not None
        assert _mapped(runtime.pid, "/uvloop/") is uvloop
        assert runtime.init({"code": "def main(args):\n    return {'n': args['n'] + 1}\n"}) \
            == (200, {"ok": True})
        assert runtime.run({"n": 1}) == (200, {"n": 2})
        assert runtime.stdout().count(SENTINEL) == 1


def test_an_unknown_loop_is_refused() -> None:
    done = subprocess.run([sys.executable, "-m", "edgewhisk_runtime", "serve", "--loop",
                           "twisted"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "invalid choice: 'twisted'" in done.stderr


def test_where_uvloop_is_missing_the_proxy_defaults_to_asyncio(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from edgewhisk_runtime import cli, eventloop

    monkeypatch.setitem(sys.modules, "uvloop", None)  # what an image without uvloop finds
    assert eventloop.preferred() == "asyncio"
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert parser.parse_args(["serve"]).loop is None  # decided by eventloop.run: preferred()
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--loop", "uvloop"])


@pytest.fixture
def broken_uvloop(tmp_path: Path) -> dict[str, str]:
    """An environment whose ``uvloop`` is present but does not import (a copy built for
    another Python), ahead of the installed one on the path."""
    package = tmp_path / "uvloop"
    package.mkdir()
    (package / "__init__.py").write_text('raise ImportError("built for another Python")\n')
    return {"PYTHONPATH": str(tmp_path)}


def test_a_broken_uvloop_leaves_the_proxy_on_asyncio(broken_uvloop: dict[str, str]) -> None:
    from edgewhisk_runtime.local import LocalRuntime

    with LocalRuntime(env=broken_uvloop) as runtime:
        assert runtime.pid is not None
        assert not _mapped(runtime.pid, "/uvloop/")
        assert runtime.init({"code": "def main(args):\n    return {'n': args['n'] + 1}\n"}) \
            == (200, {"ok": True})
        assert runtime.run({"n": 1}) == (200, {"n": 2})


def test_a_broken_uvloop_asked_for_by_name_is_refused_with_its_error(
        broken_uvloop: dict[str, str]) -> None:
    import os

    done = subprocess.run([sys.executable, "-m", "edgewhisk_runtime", "serve", "--loop",
                           "uvloop"], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **broken_uvloop))
    assert done.returncode == 2
    assert ("argument --loop: event loop 'uvloop' cannot be loaded (ImportError: built for "
            "another Python)") in done.stderr
