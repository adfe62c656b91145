"""``edgewhisk bench controller --baseline REF``: another git ref's controller, same run.

The bench's own run takes minutes (``make``-free, behind its own command); here: the ref's tree
is what ``git archive`` gives and the environment makes a controller import it instead of the
checkout (checked by importing from that environment), an unknown ref is refused before
anything starts, and the temporary tree is removed. No timing is asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
EDGEWHISK = Path(sys.executable).with_name("edgewhisk")
sys.path.insert(0, str(BENCH))

import _versions as versions  # noqa: E402  (bench/ is a folder of scripts, not a package)


def test_a_ref_tree_is_imported_instead_of_the_checkout_and_removed_after() -> None:
    with versions.tree("HEAD") as root:
        assert (root / "setup.cfg").is_file()
        env = {**os.environ, **versions.environment(root)}
        done = subprocess.run([sys.executable, "-c", "import edgewhisk_controller, "
                               "edgewhisk_runtime; print(edgewhisk_controller.__file__); "
                               "print(edgewhisk_runtime.__file__)"],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        assert all(line.startswith(str(root)) for line in done.stdout.split()), done.stdout
    assert not root.exists()


@pytest.mark.parametrize("ref", [pytest.param("no-such-ref-anywhere", id="an unknown name"),
                                 pytest.param("0" * 40, id="a commit the repository lacks")])
def test_an_unknown_ref_is_refused_before_anything_starts(tmp_path: Path, ref: str) -> None:
    assert not versions.known(ref)
    done = subprocess.run([str(EDGEWHISK), "bench", "controller", "--baseline", ref, "--out",
                           str(tmp_path / "c.png")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and f"git knows no commit {ref!r}" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_archive_of_an_unknown_ref_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="git archive 'no-such-ref-anywhere'"), \
            versions.tree("no-such-ref-anywhere"):
        pass
