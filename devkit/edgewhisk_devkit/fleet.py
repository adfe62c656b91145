"""A fleet of edge agents on one controller's tunnel, each with its own device token.

Tokens are created through the controller's API (:class:`edgewhisk_client.Client`), as an
operator would; each agent gets ``--id`` and, with ``stores``, a node store of its own
(``STORES/<id>``). The first agent registers before the others start: placement breaks ties
in favour of the earliest registered invoker, so the order of ``specs`` is the order of
preference. Stopping signals every agent first and then waits for each, so they wind down
together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from edgewhisk_client import Client

from .agent import Agent, tunnel_url


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a fleet: its invoker id and its other ``edgewhisk invoker`` options."""

    id: str
    options: tuple[str, ...] = ()


class Fleet:
    """Start ``specs`` against ``client``'s controller (a context manager); logs go to
    ``logs/invoker-<id>.log``. Agents lead their own process groups (each stops its
    containers; a hung one is killed with them)."""

    def __init__(self, client: Client, specs: Sequence[AgentSpec], logs: Path, *,
                 stores: Path | None = None, controllers: Sequence[str] = ()) -> None:
        """``controllers``: the API hosts of several controllers sharing one store, which
        every agent dials in turn (default: ``client``'s alone)."""
        self.client = client
        self.controllers = [tunnel_url(c) for c in controllers] or [
            tunnel_url(client.api_host)]
        self.specs = list(specs)
        self.logs = logs
        self.stores = stores
        self.agents: dict[str, Agent] = {}

    def start(self) -> Fleet:
        try:
            first, *others = self.specs
            self._start(first).wait_registered()
            for agent in [self._start(spec) for spec in others]:
                agent.wait_registered()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> Fleet:
        return self if self.agents else self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def store(self, invoker_id: str) -> Path | None:
        """The node store of that agent (None without ``stores``)."""
        return None if self.stores is None else self.stores / invoker_id

    def _start(self, spec: AgentSpec) -> Agent:
        token = str(self.client.tokens.create(spec.id)["token"])
        store = self.store(spec.id)
        options = ("--store", str(store), *spec.options) if store else spec.options
        agent = Agent(self.controllers, token, *options, id=spec.id,
                      log=self.logs / f"invoker-{spec.id}.log", own_group=True)
        self.agents[spec.id] = agent.start()
        return agent

    def stop(self) -> None:
        """SIGTERM every agent, then wait for each (SIGKILL one that hangs). Idempotent."""
        for agent in self.agents.values():
            agent.child.terminate()
        for agent in self.agents.values():
            agent.child.wait_stopped()
