"""The demo's edge invokers: one ``edgewhisk invoker`` per node, dialling the tunnel on loopback.

What it shows: the fleet the paper's personal assistant runs on — a cloud node (role ``cloud``,
no owner) and one device per user (``--owner u1 --network u1_home``) — each an agent process
that dialled the controller's tunnel (``ws://127.0.0.1``: plain WebSocket is allowed on
loopback only) with a device token created through the API, exactly as a real device would
behind its NAT. The controller runs no local invoker (``--invokers 0``), so every activation
crosses a tunnel and its record's ``invoker`` annotation names the node that ran it.

Why every node has its own store: artifacts live where the locality rules say. Each agent
keeps a node store of its own (``--store WORKDIR/stores/<id>`` within ``--store-cap``): a
device's readings are born there and never leave it, a model it fetched through the tunnel is
cached there, and what it produces stays there unless it is ``cloud`` (then it also goes up the
tunnel into the controller's blob store). The cloud node is ``cloud-node``, not ``cloud``:
``cloud`` is the blob store's name in an artifact's ``copies``.

The agents are started, registered and stopped by pid by :class:`edgewhisk_devkit.Fleet`
(SIGTERM: they finish what runs and close their containers; SIGKILL to the group if one hangs).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgewhisk_devkit import AgentSpec

CLOUD = "cloud-node"
CLOUD_STORE_CAP = "2GB"
DEVICE_STORE_CAP = "512MB"  # a phone's budget for models and data sets


@dataclass(frozen=True)
class Node:
    """One agent of the demo: what starts it (``spec``) and how the report describes it."""

    spec: AgentSpec
    summary: str

    @property
    def id(self) -> str:
        return self.spec.id


def nodes_for(users: list[str]) -> list[Node]:
    """The cloud node first (ties in placement go to the earliest registered), then a device
    per user."""
    nodes = [Node(AgentSpec(CLOUD, ("--role", "cloud", "--memory", "2048", "--site", "cloud",
                                    "--store-cap", CLOUD_STORE_CAP)),
                  f"role cloud, no owner, 2048 MB, store {CLOUD_STORE_CAP}")]
    for usr in users:
        nodes.append(Node(
            AgentSpec(f"{usr}-phone", ("--owner", usr, "--network", f"{usr}_home", "--site",
                                       f"{usr}_home", "--memory", "1024", "--no-battery",
                                       "--store-cap", DEVICE_STORE_CAP)),
            f"owner {usr} ({usr}_device), network {usr}_home, store {DEVICE_STORE_CAP}"))
    return nodes
