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
    rows = {line.split()[0] + " " + line.split()[1]: line
            for line in done.stdout.splitlines() if line[:1].isalpha() and len(line.split()) > 1}
    assert "0.9" in rows["train cloud"] and "equipment-model@1" in rows["train cloud"]
    for tablet in ("tablet-1", "tablet-2"):  # classify's device policy: a tablet, not the cloud
        assert re.search(r"forwarded, ran on tablet-[12]\b", rows[f"online {tablet}"])
    lines = done.stdout.splitlines()
    cut = [line for line in lines if line.startswith("cut ")]
    assert "6 photos classified with the uplink cut" in cut[0]
    assert "waits on the tablet (not on corp)" in cut[1]
    assert "6/6 offline records stored once" in rows["back tablet-2"]
    assert "the upload still waits" in rows["back tablet-2"]
    assert "the upload ran on the tablet (6 photos)" in rows["corp tablet-2"]
    assert "field-photos@1" in rows["corp tablet-2"] and "no byte before corp" in rows[
        "corp tablet-2"]
    assert "equipment-model@2" in rows["retrain cloud"] and "6 from the field" in rows[
        "retrain cloud"]
