"""The README is tested: the section "Write and deploy your first action" runs verbatim.

As a new user would: on a fresh copy of the repository (its tracked files, as a clone has them)
after ``make demo``'s set-up (``.venv/``: here a link to the venv this test runs in, an
editable install of this checkout), the section's ``sh`` blocks run as written, in order: the
first (the controller) in the background as in "one terminal", until it prints ``AUTH=``; the
others in one ``bash -e`` as in "a second terminal". What they print is checked against what
the README says they print.

The README names port 3233, so the whole run happens in a private network namespace
(``unshare --net``, loopback only): another controller on this machine, a parallel test
session's or a user's, cannot collide with it, and nothing it starts is reachable from
outside. The controller is stopped by its process group, and the test checks that nothing it
started outlives it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = "### Write and deploy your first action"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
TIMEOUT_S = 300

# Runs inside the namespace: the controller block in the background (its own process group,
# `set -m`), the wait for AUTH=, the user's blocks, then the controller's stop (SIGTERM to the
# group: it destroys its containers) and a check that nothing of it is left.
DRIVER = textwrap.dedent("""\
    set -euo pipefail
    ip link set lo up
    cd "$CLONE"
    set -m
    bash -c "$CONTROLLER_BLOCK" > controller.log 2>&1 &
    group=$!
    set +m
    stop() { kill -TERM -- "-$group" 2>/dev/null || true; wait "$group" || true; }
    trap stop EXIT
    for _ in $(seq 600); do grep -q '^AUTH=' controller.log && break; sleep 0.1; done
    grep -q '^AUTH=' controller.log || { cat controller.log >&2; exit 97; }
    bash -e -c "$USER_BLOCKS"
    stop
    trap - EXIT
    if pgrep -g "$group" > /dev/null; then
        echo "left running:" >&2; pgrep -g "$group" -a >&2; exit 98
    fi
""")


def section_blocks() -> list[str]:
    """The ``sh`` blocks of the section, in order."""
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start)
    following = text.find("\n### ", start + len(SECTION))
    end = min(x for x in (end, following, len(text)) if x != -1)
    return BLOCK.findall(text[start:end])


def fresh_copy(into: Path) -> Path:
    """The tracked files of the checkout (what a clone has), with ``.venv`` linked."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    (into / ".venv").symlink_to(sys.prefix)  # the venv this test runs in
    return into


def test_the_section_has_the_blocks_this_test_runs() -> None:
    blocks = section_blocks()
    assert len(blocks) == 3
    assert blocks[0].strip() == ".venv/bin/edgewhisk controller --port 3233"


def test_write_and_deploy_your_first_action_runs_verbatim(tmp_path: Path) -> None:
    controller, *user = section_blocks()
    clone = fresh_copy(tmp_path / "edgewhisk")
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", "CLONE": str(clone),
           "CONTROLLER_BLOCK": controller, "USER_BLOCKS": "\n".join(user)}
    run = subprocess.Popen(["unshare", "--net", "bash", "-c", DRIVER], env=env, cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        out, err = run.communicate(timeout=TIMEOUT_S)
    finally:
        if run.poll() is None:  # a hang: end everything it started
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    log = clone / "controller.log"
    assert run.returncode == 0, f"{err}\n--- controller.log:\n{log.read_text()[-4000:]}"
    expect_the_readmes_outputs(out)
    assert list(home.iterdir()) == [], "nothing written to the user's home (~/.wskprops)"


def expect_the_readmes_outputs(out: str) -> None:
    """What the README's comments say each command prints, in order."""
    lines = out.splitlines()
    assert lines[0] == "ok: created action hello"
    assert json.loads("".join(lines[1:4])) == {"greeting": "Hello, edge!"}
    assert re.fullmatch(r"ok: invoked /_/hello with id [0-9a-f]{32}", lines[4])
    assert lines[5] == "ok: updated action hello"
    assert re.fullmatch(r"ok: invoked /_/hello with id [0-9a-f]{32}", lines[6])
    record_end = lines.index("}", 7)
    record = json.loads("\n".join(lines[7:record_end + 1]))
    assert record["response"]["result"] == {"greeting": "Hello, cloud!"}
    assert record["annotations"][0] == {"key": "limits", "value": {
        "concurrency": 1, "logs": 10, "memory": 128, "timeout": 60000}}
    rest = lines[record_end + 1:]
    assert rest[0] == "greeting cloud"
    assert rest[1].split() == ["ACTIVATION", "NAME", "STATUS", "START", "DURATION", "INVOKER"]
    activations = [line for line in rest if re.match(r"[0-9a-f]{32}  ", line)]
    assert len(activations) == 3 and all(" hello " in line for line in activations)
    header = rest.index(next(line for line in rest if line.startswith("ACTION ")))
    assert rest[header + 1].split()[:4] == ["/guest/hello", "0.0.2", "python:3", "private"]
    namespaces = rest[header + 2:]
    assert namespaces[0].split() == ["NAMESPACE", "KEY", "UUID", "ADMIN"]
    assert [line.split()[0::2] for line in namespaces[1:5]] == [  # whisk.system: the catalog's
        ["alice", "no"], ["guest", "no"], ["ops", "yes"], ["whisk.system", "no"]]
    assert namespaces[5:] == ["alice", "ok: deleted namespace alice (0 activation records)"]


@pytest.mark.parametrize("text", ["edgewhisk action invoke hello -p name edge --result",
                                  "edgewhisk namespace rotate-key"])
def test_the_commands_this_test_checks_are_in_the_readme(text: str) -> None:
    assert any(text in block for block in section_blocks())
