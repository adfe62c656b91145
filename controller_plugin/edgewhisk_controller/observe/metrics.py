"""``Metrics``: one Prometheus registry per application and the series each seam feeds.

Why a registry per application, not prometheus_client's global one: tests and benchmarks run
several controllers in one process, and each must expose only its own series. ``enabled``
False (``--no-metrics``) leaves every seam unhooked: the benchmark's "off" side.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from ..dispatch import Dispatcher
from ..placement.interface import PlacementEngine
from ..tunnel.hub import TunnelHub
from .activations import ActivationSeries
from .fleet import FleetCollector
from .placement import ObservedEngine, PlacementSeries


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.activations = ActivationSeries(self.registry)
        self.placement = PlacementSeries(self.registry)

    def engine(self, engine: PlacementEngine) -> PlacementEngine:
        """``engine`` with its decisions counted (pass this one to the hub and dispatcher)."""
        return ObservedEngine(engine, self.placement)

    def follow(self, dispatcher: Dispatcher, hub: TunnelHub) -> None:
        """Count the dispatcher's records; read the fleet at each scrape."""
        dispatcher.on_record.append(self.activations.observe)
        self.registry.register(FleetCollector(dispatcher, hub))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)
"""The application's metrics (absent with ``--no-metrics``)."""
