"""The controller's local invokers keep artifacts in ``DATA/artifacts``: an action run through
the API reads what was put there and stores what it produces there, whether ``--data`` was given
as an absolute path or relative to where the controller was started (the process backend runs
each proxy in its own temporary folder, so a relative folder must not reach it as such)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .harness import Controller, create_action

# Reads the user's note and stores an upper-cased copy: one consumed and one produced artifact.
CODE = '''
import json
from edgewhisk import consumes, produces

@consumes.data("{usr}/note", name="note")
@produces.data("{usr}/shout", name="shout")
def main(args, note):
    return {"shout": {"text": json.loads(note.path.read_text())["text"].upper()}}
'''


@pytest.mark.parametrize(
    "relative",
    [
        pytest.param(False, id="--data given as an absolute folder"),
        pytest.param(True, id="--data given relative to the controller's working folder"),
    ],
)
def test_actions_read_and_write_artifacts_under_the_data_folder(tmp_path: Path,
                                                                relative: bool) -> None:
    data = Path("state") if relative else tmp_path / "state"
    artifacts = tmp_path / "state" / "artifacts" / "guest"  # the namespace's own folder
    (artifacts / "u1").mkdir(parents=True)
    (artifacts / "u1" / "note").write_text(json.dumps({"text": "hello"}))
    controller = Controller(data, cwd=tmp_path if relative else None).start()
    try:
        with controller.client() as guest:
            create_action(guest, "shout", CODE)
            answer = guest.request("POST", "actions/shout?blocking=true&result=true",
                                   json={"usr": "u1"})
            assert answer.status_code == 200, answer.text
    finally:
        assert controller.stop() == 0
    stored = answer.json()["shout"]["artifact"]
    assert stored["ref"] == "u1/shout"
    assert json.loads((artifacts / "u1" / "shout").read_text()) == {"text": "HELLO"}
