"""``edgewhisk bench offline --quick --json``: the offline benchmark runs end to end.

A smoke test only: a real controller and agent, the local API and the tunnel, a sync after a
controller restart, the vision CNN. Every measure is reported, every record made offline was
stored once, the plot exists and nothing the bench started still runs. No timing is asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import quick_json

pytestmark = pytest.mark.mxnet  # the bench measures the MXNet CNN's inference (the ai extra)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    plot = tmp_path_factory.mktemp("offline") / "offline.png"
    return quick_json("offline", plot), plot


@pytest.mark.parametrize("key", ["local_ms", "tunnel_ms", "inference_ms", "tunnel_local_ratio"],
                         ids=lambda k: f"{k} has p50 and p99")
def test_percentiles_are_reported(quick_run: tuple[dict, Path], key: str) -> None:
    doc, _ = quick_run
    assert set(doc[key]) == {"p50", "p99"} and all(v > 0 for v in doc[key].values()), doc[key]


def test_every_offline_record_was_stored_once(quick_run: tuple[dict, Path]) -> None:
    doc, _ = quick_run
    assert doc["records_listed"] == doc["records"] == 50 and doc["sync_s"] > 0


def test_the_vision_model_learned_its_photos(quick_run: tuple[dict, Path]) -> None:
    doc, _ = quick_run
    assert doc["vision_accuracy"] >= 0.9, doc


def test_the_plot_is_written_and_nothing_keeps_running(quick_run: tuple[dict, Path]) -> None:
    doc, plot = quick_run
    assert plot.stat().st_size > 0 and doc["plot"] == str(plot)
    for pid in (doc["controller_pid"], doc["agent_pid"]):
        assert not Path(f"/proc/{pid}").exists(), pid
