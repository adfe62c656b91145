"""Placement configuration: weights and latencies from ``--placement-config FILE``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_controller.placement import PlacementConfig, load_config
from edgewhisk_controller.placement import constraints as c
from edgewhisk_controller.placement.config import DEFAULT_WEIGHTS, ConfigError


def write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "placement.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_a_file_overrides_some_weights_and_keeps_the_other_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"placement": {
        "weights": {c.PROXIMITY: 4}, "site": "dc", "latency_ms": {"dc|home": 35}}}))
    assert config.weight(c.PROXIMITY) == 4.0
    assert config.weight(c.CAPABILITY) == DEFAULT_WEIGHTS[c.CAPABILITY]
    assert (config.latency("home", "dc"), config.latency("", "dc"),
            config.latency("home", "office")) == (35.0, 1.0, 50.0)


BAD = [
    pytest.param("{", "cannot read placement config", id="not JSON"),
    pytest.param([1], "a JSON object", id="not an object"),
    pytest.param({"wieghts": {}}, "unknown placement config keys: wieghts", id="a misspelt key"),
    pytest.param({"weights": {c.PROXIMITY: -1}}, "must be a number >= 0", id="a negative weight"),
    pytest.param({"queue_limit": -1}, "queue_limit must be an integer >= 0", id="a negative queue"),
    pytest.param({"queue_limit": "4"}, "queue_limit must be an integer >= 0", id="a text queue"),
    pytest.param({"queue_limit": 2.5}, "queue_limit must be an integer >= 0 or null",
                 id="a fractional queue"),
]


@pytest.mark.parametrize("doc, message", BAD)
def test_a_bad_file_is_refused(tmp_path: Path, doc: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, doc))


def test_defaults_in_code() -> None:
    config = PlacementConfig()
    assert config.queue_when_full and config.weight("Unknown") == 1.0
    assert config.queue_limit is None  # no bound on waiting runs: as one controller's pool


@pytest.mark.parametrize("doc, limit", [({}, None), ({"queue_limit": None}, None),
                                        ({"queue_limit": 0}, 0), ({"queue_limit": 3}, 3)])
def test_the_queue_limit_is_read_as_written(tmp_path: Path, doc: Any, limit: int | None) -> None:
    assert load_config(write(tmp_path, doc)).queue_limit == limit
