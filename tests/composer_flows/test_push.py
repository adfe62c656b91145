"""The pipelines' ``push`` step on its own (pipeline 4 uses it after retraining): a model version
preloaded to the devices a selector picks through the controller's preload API, with the
activation's own key; each bad input answered with an error that names it, nothing pushed."""

from __future__ import annotations

from typing import Any

import pytest
from controller.api.harness import Controller

from .conftest import EDGE, copies_once_reported, deploy_push


@pytest.fixture(scope="module")
def pushing(pipelines: Controller) -> Controller:
    """push-keyless deployed (the fleet has push, with the API key); p1/model@1 trained."""
    with pipelines.client() as client:
        deploy_push(client, "push-keyless", ())
        for step, params in (("prepare", {"dataset": "p1"}), ("train", {"dataset": "p1",
                                                                        "trial": "0"}),
                             ("validate", {"dataset": "p1", "trial": "0"})):
            done = client.actions.invoke(step, params, wait_s=120)
            assert done.success, done.record
    return pipelines


def test_push_preloads_the_version_to_the_devices_the_selector_picks(pushing: Controller
                                                                      ) -> None:
    with pushing.client() as client:
        done = client.actions.invoke("push", {"name": "p1/model", "version": 1,
                                              "devices": {"role": "edge"}}, wait_s=120)
        assert done.success, done.record
        copies = copies_once_reported(client, "p1/model@1", [EDGE])
    assert done.result["artifact"] == "guest/p1/model@1"
    assert done.result["devices"] == [{"invoker": EDGE, "status": "preloaded", "reason": None}]
    assert EDGE in copies


@pytest.mark.parametrize(("action", "params", "error"), [
    pytest.param("push-keyless", {"name": "p1/model", "version": 1},
                 "push needs the platform's API: deploy it with -a provide-api-key true",
                 id="deployed without the API key"),
    pytest.param("push", {"name": "p1/nothing", "version": 1},
                 "preload of p1/nothing@1 refused: HTTP 404 ", id="a version that is not there"),
    pytest.param("push", {"name": "p1/model", "version": 1, "devices": {"colour": "red"}},
                 "preload of p1/model@1 refused: HTTP 400 ",
                 id="a selector field it does not know"),
])
def test_a_bad_push_names_what_is_wrong_and_pushes_nothing(
    pushing: Controller, action: str, params: dict[str, Any], error: str
) -> None:
    with pushing.client() as client:
        before = client.artifacts.get("p1/model@1")["copies"]
        done = client.actions.invoke(action, params, wait_s=120)
        after = client.artifacts.get("p1/model@1")["copies"]
    assert not done.success
    assert done.result["error"].startswith(error), done.result
    assert after == before
