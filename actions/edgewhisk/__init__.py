"""edgewhisk: the programming model of edge AI actions (artifacts, gates, policies).

Action authors decorate ``main``; the platform reads the resulting annotation::

    from edgewhisk import consumes, produces, gate, policy

    @consumes.data("{usr}/glucose", name="readings", locality="local")
    @produces.model("{usr}/glucose-model", locality="local")
    @policy.deadline("2s")
    def main(args, readings):
        ...

This package imports only the standard library at import time (numpy and mxnet load lazily
when an artifact needs them), and nothing else of edgewhisk: everybody imports it.
``__all__`` is the public contract (tests/sdk/test_public_api.py checks it).
"""

from __future__ import annotations

from .artifacts import FORMATS, ArtifactHandle, detect_format, save_artifact
from .decorators import Record, consumes, describe, gate, policy, produces, records
from .exceptions import AnnotationError, ArtifactError, EdgewhiskError
from .output import Output
from .schema import SCHEMA_VERSION, invoker_resources, validate, variables
from .terms import bind, parse_duration, parse_predicate, predicate_holds

__version__ = "0.1.0"
"""The version of the whole distribution, written here once: setup.cfg reads it (``attr:``), and
the CLI, the controller's API description, the agent's ``register`` and the runtime image's
labels all report this value. The SDK holds it because every component may import the SDK."""

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "AnnotationError",
    "ArtifactError",
    "ArtifactHandle",
    "EdgewhiskError",
    "Output",
    "Record",
    "bind",
    "consumes",
    "describe",
    "detect_format",
    "gate",
    "invoker_resources",
    "parse_duration",
    "parse_predicate",
    "policy",
    "predicate_holds",
    "produces",
    "records",
    "save_artifact",
    "validate",
    "variables",
]
