"""Operating the controller: metrics, health and readiness, JSON, access and audit logs.

Why one package beside the API: every series and log line is recorded *at a seam* (the
dispatcher's finished records, the engine's decisions, the fleet's state read at scrape
time), never inside handlers, so one module per concern owns its series and the rest of the
controller only offers hooks. ``install(app)`` wires it; ``/metrics``, ``/health`` and
``/ready`` are its routes (``http.py``).
"""

from .metrics import METRICS, Metrics

__all__ = ["METRICS", "Metrics"]
