"""Fixtures of the personal-assistant example tests.

The example actions are plain files (packaged as zips with their sibling `glucose.py`), not an
import package, so the tests put their folder on sys.path the way the runtime's zip does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "actions" / "examples" / "personal_assistant"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

import glucose  # noqa: E402


@pytest.fixture(scope="session")
def population_split() -> tuple[dict, dict]:
    """The population set the base model trains on, split into train and held-out parts."""
    return glucose.split(glucose.population(seed=0))


@pytest.fixture(scope="session")
def base_net(population_split):
    """A base classifier trained once per session on the population training part."""
    train, _ = population_split
    net = glucose.build_net(seed=0)
    glucose.train(net, train["X"], train["y"], seed=0)
    return net
