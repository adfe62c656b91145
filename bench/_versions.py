"""Another version of this tree (a git ref), run beside the checkout for same-run comparisons.

Why: a cut on the hot path is judged against the code it replaced, under the same machine load
(a shared 2-core machine makes two runs minutes apart incomparable). ``tree(REF)`` extracts
``git archive REF`` into a temporary folder; ``environment(root)`` puts that tree's package
folders on ``PYTHONPATH``, which Python searches before the editable install's finder (it is
appended to ``sys.meta_path``), so a controller started with it imports the ref's edgewhisk
packages instead of the checkout's. The action proxies it starts run with a clean environment
(the checkout's runtime, the same on both sides), and the ref's tree is not where the proxy
sandbox expects the runtime, so its controller runs with ``--no-sandbox``: the sandbox changes
the proxies' cost, not the controller's.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _report import pct

ROOT = Path(__file__).resolve().parents[1]


def known(ref: str) -> bool:
    """Whether ``ref`` names a commit of this checkout's repository."""
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet",
                           f"{ref}^{{commit}}"], capture_output=True, check=False).returncode == 0


@contextlib.contextmanager
def tree(ref: str) -> Iterator[Path]:
    """The files of ``ref`` (``git archive``) in a temporary folder, removed afterwards;
    ``ValueError`` naming the ref when git cannot archive it."""
    folder = Path(tempfile.mkdtemp(prefix="edgewhisk-bench-ref-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            raise ValueError(f"git archive {ref!r}: {archive.stderr.decode().strip()}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(folder, filter="data")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def environment(root: Path) -> dict[str, str]:
    """``PYTHONPATH`` naming the folders of ``root``'s packages (its ``setup.cfg``)."""
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg")
    folders = []
    for line in cfg["options"]["package_dir"].strip().splitlines():
        name, _, path = (part.strip() for part in line.partition("="))
        parent = str((root / path).parent)
        if Path(path).name == name and parent not in folders:
            folders.append(parent)
    return {"PYTHONPATH": ":".join(folders)}



def table(compared: list[Any], reference: str, names: list[str]) -> str:
    """p50/p99 and CPU per invoke of side ``reference`` (this checkout) and of each side in
    ``names`` per level of ``compared`` (``_compared.Durability``), with the ratios
    reference / other: below 1 the checkout is faster or cheaper."""
    head = (f"{'clients':>7} {'controller':<28} {'calls':>6} {'p50':>7} {'p99':>7} "
            f"{'CPU/inv':>8}   {'p50 ratio':>9} {'CPU ratio':>9}")
    lines = [head, "-" * len(head)]
    for level in compared:
        ours = level.sides[reference]
        for name in [reference, *names]:
            side = level.sides[name]
            cpu = _cpu_ms(side)
            ratios = "" if name == reference else (
                f"   {pct(ours.latencies, 50) / pct(side.latencies, 50):>9.2f} "
                f"{_cpu_ms(ours) / cpu if cpu else float('nan'):>9.2f}")
            label = "this checkout" if name == reference else name
            lines.append(f"{level.clients:>7} {label:<28} {len(side.latencies):>6} "
                         f"{pct(side.latencies, 50):>7.2f} {pct(side.latencies, 99):>7.2f} "
                         f"{cpu:>8.3f}{ratios}")
    return "\n".join(lines)


def _cpu_ms(side: Any) -> float:
    return float(side.cpu_s * 1000 / max(1, len(side.latencies)))
