"""ansible-lint's production profile (its strictest) over every playbook and role in ansible/.

The roles' variables carry their role's name as prefix (``controller_``, ``invoker_``,
``edgewhisk_``), tasks use fully qualified module names, every command says when it changes
something, secrets are ``no_log``: what the profile checks, and what this test keeps true.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_the_playbooks_and_roles_pass_ansible_lints_production_profile(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "ANSIBLE_HOME": str(tmp_path),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([str(BIN / "ansible-lint"), "--profile", "production", "--offline",
                           "-f", "pep8"], cwd=ROOT / "ansible", env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Profile 'production' was required, and it passed" in done.stderr + done.stdout
