"""Device tokens in a cluster: a token revoked, or replaced, through one controller closes the
device's connection at the controller holding it (``TunnelHub.token_changed``, through the
store's changes feed), as it does where the API was asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from edgewhisk_devkit import Cluster, Redis

from .conftest import agent, wait_for_peer


@pytest.mark.parametrize("how", ["revoked", "replaced"])
def test_a_token_revoked_through_another_controller_closes_the_devices_connection(
        tmp_path: Path, db: str, redis: Redis, how: str) -> None:
    """dev-a is connected to c1; its token is revoked (or created again with
    ``overwrite=true``) through c0: the agent is told its token was revoked and exits (3),
    and c1 no longer lists it. Before, c0 found no connection of dev-a to close, and dev-a
    stayed connected to c1 with a token that no longer exists."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri, options=("--invokers", "0")) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        device = agent(cluster, c0, "dev-a", [1], tmp_path, "--no-sandbox")
        try:
            device.wait_registered()
            wait_for_peer(c0, "dev-a", controller="c1")
            if how == "revoked":
                assert c0.tokens.revoke("dev-a")["revoked"] is True
            else:
                answer = c0.request("POST", "invokers/tokens", params={"overwrite": "true"},
                                    json={"id": "dev-a"})
                assert answer.status_code == 200, answer.text
            status = device.wait_exit(15.0)
            log = device.log()
        finally:
            device.stop()
        listed = [i["id"] for i in c1.invokers() if i["where"] == "tunnel"]
    assert status == 3
    assert "the device token was revoked" in log
    assert "dev-a" not in listed
    assert f"the token of invoker dev-a was {how} on another controller" in cluster[1].log()
