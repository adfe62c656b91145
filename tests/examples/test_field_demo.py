"""``edgewhisk demo field-technician``, run as the README says: two tablets, one cut off.

Its rows show each step, and they are checked against the claims: the cut-off tablet classified
with records made on it, every one stored once when the uplink came back while the upload still
waited, the upload ran only after joining corp and made the field photos' artifact there (its
bytes in the cloud store only after the join: the scene checks the blob store's access log), and
the retrained model, trained on it, is a new version."""

from __future__ import annotations

import re
import subprocess

import pytest
from edgewhisk_devkit import edgewhisk_command

pytestmark = pytest.mark.mxnet  # the scene trains and serves the MXNet CNN (the ai extra)


def test_the_field_technician_scene_runs_end_to_end() -> None:
    done = subprocess.run(edgewhisk_command("demo", "field-technician"), capture_output=True,
                          text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    assert max(len(line) for line in done.stdout.splitlines()) <= 120
    rows = _rows(done.stdout)
    assert "0.9" in rows["train cloud"] and "equipment-model@1" in rows["train cloud"]
    for tablet in ("tablet-1", "tablet-2"):  # classify's policy allows either: the asker's own
        assert re.search(rf"forwarded, ran on {tablet}\b", rows[f"online {tablet}"])
    cut = [row for key, row in rows.items() if key.startswith("cut ")]
    assert "6 photos classified with the uplink cut" in cut[0]
    assert "waits on the tablet (not on corp)" in cut[1]
    assert "6/6 offline records stored once" in rows["back tablet-2"]
    assert "the upload still waits" in rows["back tablet-2"]
    assert "the upload ran on the tablet (6 photos)" in rows["corp tablet-2"]
    assert "field-photos@1" in rows["corp tablet-2"] and "no byte before corp" in rows[
        "corp tablet-2"]
    assert "equipment-model@2" in rows["retrain cloud"] and "6 from the field" in rows[
        "retrain cloud"]


def _rows(stdout: str) -> dict[str, str]:
    """Each table row by its first two words, as its cells joined by two spaces, with a wrapped
    cell's continuation lines (blank but for that cell) joined back; two rows with the same first
    two words are told apart by a number."""
    rows: dict[str, list[str]] = {}
    spans: list[tuple[int, int]] = []
    last = ""
    for line in stdout.splitlines():
        if line.startswith("---"):  # a table's rule: its columns' spans
            spans = [(m.start(), m.end()) for m in re.finditer(r"-+", line)]
        elif not line.strip():
            spans, last = [], ""
        elif spans and line.startswith(" ") and last:
            cells = [line[a:b + 2].strip() for a, b in spans]
            rows[last] = [f"{old} {new}".strip()
                          for old, new in zip(rows[last], cells, strict=True)]
        elif spans and line[:1].isalpha():
            key = " ".join(line.split()[:2])
            last = key if key not in rows else f"{key} {sum(k.startswith(key) for k in rows)}"
            rows[last] = [*(line[a:b + 2].strip() for a, b in spans[:-1]),
                          line[spans[-1][0]:].strip()]
    return {key: "  ".join(cells) for key, cells in rows.items()}
