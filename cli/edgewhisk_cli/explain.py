"""Why an activation ran where it did, in words: the record's ``placement`` annotation.

The controller records each placed activation's decision (``placement.explain``: the chosen
invoker and its score, the decisive soft terms against the runner-up, the exclusions); this
module only words it. ``edgewhisk activation explain ID`` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PLACEMENT = "placement"
"""The annotation key the controller writes (``schema.activation.PLACEMENT``)."""


def _annotation(record: Mapping[str, Any], key: str) -> Any:
    for item in record.get("annotations") or ():
        if isinstance(item, Mapping) and item.get("key") == key:
            return item.get("value")
    return None


def describe(record: Mapping[str, Any]) -> list[str]:
    """The lines that explain ``record``'s placement (a record without one says why not)."""
    activation = record.get("activationId", "?")
    why = _annotation(record, PLACEMENT)
    if not isinstance(why, Mapping):
        invoker = _annotation(record, "invoker")
        if invoker is None:
            reason = (record.get("response") or {}).get("result", {}).get("error", "")
            return [f"activation {activation} was not placed on any invoker"
                    + (f": {reason}" if reason else ".")]
        return [f"activation {activation} ran on {invoker}; its record has no placement "
                "explanation (a trigger, sequence or composition, an activation moved after "
                "its invoker was lost, or a controller started with --no-explain)."]
    lines = [f"activation {activation} ran on {why['invoker']}: the best of "
             f"{why['candidates']} candidate(s) among {why['of']} invoker(s), score "
             f"{why['score']:g}."]
    runner = why.get("runnerUp")
    if isinstance(runner, Mapping):
        lines.append(f"The runner-up was {runner['invoker']} with {runner['score']:g} "
                     f"({why['score'] - runner['score']:+.2f}); what decided it:")
        for term in why.get("terms") or ():
            lines.append(f"  {term['plugin']}: {term['score']:g} against {term['runnerUp']:g} "
                         f"({term['score'] - term['runnerUp']:+.2f})")
        if not why.get("terms"):
            lines.append("  nothing but the order they registered in (a tie).")
    else:
        lines.append("No other invoker could take it; its score was made of:")
        for term in why.get("terms") or ():
            lines.append(f"  {term['plugin']}: {term['score']:g}")
    excluded = why.get("excluded") or {}
    if excluded:
        lines.append("Excluded: " + ", ".join(f"{n} {phrase}" for phrase, n in excluded.items())
                     + ".")
    return lines
