"""Composer's own ``compose`` and ``deploy`` (openwhisk-composer 0.12.0), run from a checkout.

Why from a checkout: Composer is an npm package, installed by ``make demo``/``make test`` into
``.services/node_modules`` beside the repository's ``composer_flows/``; an installed wheel has
neither, so the Composer story needs a source checkout and says so. ``NODE_PATH`` lets a flow
that lives outside ``.services`` ``require('openwhisk-composer')``, as the flows' README says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .calls import DemoError

CHECKOUT = Path(__file__).resolve().parents[3]
NODE_MODULES = CHECKOUT / ".services" / "node_modules"
FLOWS = CHECKOUT / "composer_flows"
TIMEOUT_S = 120


def check_composer(flow: str) -> Path:
    """The flow's file, once Node, Composer and redis-server are there (DemoError naming what
    is missing and how to get it, before anything starts)."""
    path = FLOWS / flow
    missing = [what for what, there in (
        (f"the flow {path}", path.is_file()),
        (f"Composer ({NODE_MODULES / 'openwhisk-composer'})",
         (NODE_MODULES / ".bin" / "compose").exists()),
        ("node", shutil.which("node") is not None),
        ("redis-server", shutil.which("redis-server") is not None)) if not there]
    if missing:
        raise DemoError(f"--flow needs a source checkout set up by `make demo`; missing: "
                        f"{', '.join(missing)}")
    return path


def compose_and_deploy(name: str, flow: Path, folder: Path, api_host: str, auth: str) -> None:
    """``compose FLOW > NAME.json`` then ``deploy NAME NAME.json -w --apihost .. -u ..``."""
    compiled = folder / f"{name}.json"
    compiled.write_text(_run("compose", str(flow), cwd=folder))
    _run("deploy", name, compiled.name, "-w", "--apihost", api_host, "-u", auth, cwd=folder)


def _run(tool: str, *args: str, cwd: Path) -> str:
    done = subprocess.run([str(NODE_MODULES / ".bin" / tool), *args], cwd=cwd, text=True,
                          capture_output=True, timeout=TIMEOUT_S,
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    if done.returncode != 0:
        raise DemoError(f"Composer's {tool} failed (exit {done.returncode})", done.stderr)
    return done.stdout
