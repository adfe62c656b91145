"""The decorated example and its annotation JSON, as docs/architecture.md shows them.

Kept verbatim in both places; tests/test_docs.py checks that they agree.
"""

from __future__ import annotations

import json
from typing import Any

from edgewhisk import consumes, gate, policy, produces

DESIGN_JSON = """\
{"version": 1,
 "consumes": [{"kind": "model", "name": "base",
               "selector": {"type": "classifier", "trained_on": "glucose", "metrics": {"accuracy": ">=0.8"}}},
              {"kind": "data", "name": "readings", "ref": "{usr}/glucose", "locality": "local"}],
 "produces": [{"kind": "model", "ref": "{usr}/glucose-model", "locality": "local"}],
 "gates":    [{"type": "drift", "metric": "confidence", "predicate": "<0.2", "target": "base"},
              {"type": "bias", "attribute": "age", "predicate": "<0.8", "target": "glucose-model"}],
 "policies": [{"type": "deadline", "within": "2s"},
              {"type": "fn", "node": "{usr}_device", "capability": "gpu", "strict": false},
              {"type": "data", "network": ["company_network"], "strict": true}]}
"""  # noqa: E501


def design_doc() -> dict[str, Any]:
    """A fresh copy of the example annotation, as parsed JSON."""
    return json.loads(DESIGN_JSON)


@consumes.model(name="base", selector={"type": "classifier", "trained_on": "glucose",
                                       "metrics": {"accuracy": ">=0.8"}})
@consumes.data("{usr}/glucose", name="readings", locality="local")
@produces.model("{usr}/glucose-model", locality="local")
@gate.drift(metric="confidence", predicate="<0.2")      # target defaults to the consumed model
@gate.bias(attribute="age", predicate="<0.8")
@policy.deadline("2s")
@policy.fn(node="{usr}_device", capability="gpu", strict=False)
@policy.data(network=["company_network"], strict=True)
def main(args, base, readings):
    return {"args": args, "base": base, "readings": readings}
