"""A Composer flow's steps with their ``edgewhisk`` annotations: what ``edgewhisk flow diagram``
draws and prints.

Why from the compiled composition: ``compose FLOW.js`` (Composer's own compiler) writes the
flow's tree (``ast``), so the steps are read in the order Composer runs them, whatever JavaScript
built them (a ``require``d fragment, a helper function), and the flow stays plain Composer JS.
Each action step's annotation is its Python file's (``DIR/NAME.py``, imported in a child process
by :func:`~edgewhisk_cli.action.annotation_of`, the check ``edgewhisk action create`` makes), so
the diagram shows what deploying those files would declare. An artifact moves from a step to a
later one when the later step consumes the ref (the template, ``{dataset}/train``) the earlier
one produces. A model chosen by a selector has no ref: it is joined to the latest earlier step
producing an artifact of its kind, as a candidate (``selected``: the selector picks among the
registry's versions when the step runs, by metadata and metrics a file does not declare).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exits import usage

PARALLEL = ("map", "parallel")
"""Composer combinators whose components run side by side (``map``: once per item)."""
BRANCHES = ("consequent", "alternate", "handler", "finalizer")
"""Fields of a Composer node whose components run only on some outcomes."""
CHILDREN = ("test", "components", "body", "consequent", "alternate", "handler", "finalizer")
"""Fields of a Composer node that hold nodes, in the order Composer runs them."""


@dataclass(frozen=True)
class Step:
    """One action step of a flow: its name, how Composer runs it (``once``, or ``map`` /
    ``parallel``), whether it runs only on some outcomes (an ``if`` branch, a ``try`` handler),
    and its validated ``edgewhisk`` annotation."""

    action: str
    runs: str
    conditional: bool
    annotation: Mapping[str, Any]

    def where(self) -> str:
        """Where its policies let it run, as the placement engine reads them (``node cloud
        (strict)``: a hard term, ``(preferred)``: a soft one); ``anywhere`` without one."""
        policies = sorted(self.annotation.get("policies", []),
                          key=lambda p: p.get("type") == "offline")  # "offline" reads last
        return "; ".join(_policy(p) for p in policies) or "anywhere"

    def consumes(self) -> list[str]:
        return [_artifact(a) for a in self.annotation.get("consumes", [])]

    def produces(self) -> list[str]:
        return [_artifact(a) for a in self.annotation.get("produces", [])]

    def gates(self) -> list[str]:
        return [_gate(g) for g in self.annotation.get("gates", [])]


@dataclass(frozen=True)
class Move:
    """An artifact ``ref`` one step produces and a later one consumes (indexes into steps);
    ``selected``: the later step chooses it by selector (``ref`` is then ``NAME by selector``),
    so the earlier step's artifact is a candidate, not a certainty."""

    ref: str
    source: int
    target: int
    selected: bool = False


@dataclass(frozen=True)
class Pipeline:
    name: str
    steps: list[Step]
    moves: list[Move] = field(default_factory=list)


def load(composition: Path, folders: Sequence[Path],
         annotation_of: Callable[[Path], dict[str, Any]]) -> Pipeline:
    """The pipeline of a composition file ``compose`` wrote (its full output or ``--ast``),
    each step's annotation read from the first of ``folders`` holding ``NAME.py``."""
    for folder in folders:
        if not folder.is_dir():
            raise usage(f"{folder}: no such folder (--actions names the step files' folders)")
    nodes = list(_actions(_ast(composition), "once", False))
    if not nodes:
        raise usage(f"{composition}: the composition runs no action")
    steps = [Step(name, runs, conditional, annotation_of(_source(name, folders)))
             for name, runs, conditional in nodes]
    return Pipeline(composition.stem, steps, moves(steps))


def moves(steps: Sequence[Step]) -> list[Move]:
    """Each consumed ref joined to the latest earlier step producing the same ref; each
    artifact chosen by selector to the latest earlier step producing one of its kind."""
    found = []
    for target, step in enumerate(steps):
        for entry in step.annotation.get("consumes", []):
            source = next((i for i in range(target - 1, -1, -1) if any(
                _feeds(p, entry) for p in steps[i].annotation.get("produces", []))), None)
            if source is not None:
                ref = entry.get("ref")
                found.append(Move(str(ref) if ref is not None else _selected(entry), source,
                                  target, ref is None))
    return found


def _feeds(produced: Mapping[str, Any], consumed: Mapping[str, Any]) -> bool:
    """Whether ``produced`` is what ``consumed`` reads: the same ref, or, for an artifact
    chosen by selector, the same kind."""
    if consumed.get("ref") is not None:
        return bool(produced.get("ref") == consumed["ref"])
    return consumed.get("selector") is not None and produced.get("kind") == consumed.get("kind")


def _selected(entry: Mapping[str, Any]) -> str:
    return f"{entry.get('name')} by selector"


def text(pipeline: Pipeline) -> str:
    """The pipeline as lines: each step, where it may run, what it consumes (and from which
    step), produces and gates."""
    lines = [f"{pipeline.name}: {len(pipeline.steps)} steps"]
    origin = {(m.target, m.ref): pipeline.steps[m.source].action
              + (" (if it matches)" if m.selected else "") for m in pipeline.moves}
    for i, step in enumerate(pipeline.steps):
        how = [] if step.runs == "once" else [f"{step.runs}: in parallel"]
        how += ["on some outcomes"] if step.conditional else []
        lines.append(f"{i + 1}. {step.action}" + (f" ({', '.join(how)})" if how else ""))
        lines.append(f"     runs on   {step.where()}")
        refs = [entry.get("ref") or _selected(entry)
                for entry in step.annotation.get("consumes", [])]
        consumed = [label + (f" <- {origin[(i, ref)]}" if (i, ref) in origin else "")
                    for label, ref in zip(step.consumes(), refs, strict=True)]
        for title, items in (("consumes", consumed), ("produces", step.produces()),
                             ("gates", step.gates())):
            if items:
                lines.append(f"     {title:<9} {', '.join(items)}")
    return "\n".join(lines)


def _ast(path: Path) -> Mapping[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise usage(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise usage(f"{path}: not a composition (compose's JSON): {error}") from None
    tree = document.get("ast", document) if isinstance(document, dict) else None
    if not isinstance(tree, dict) or not isinstance(tree.get("type"), str):
        raise usage(f"{path}: not a composition: write it with `compose FLOW.js > {path.name}`")
    return tree


def _actions(node: Any, runs: str, conditional: bool) -> Iterator[tuple[str, str, bool]]:
    """The action steps under ``node``, in Composer's order, with how each runs."""
    if not isinstance(node, dict):
        return
    if node.get("type") == "action" and isinstance(node.get("name"), str):
        yield _short(node["name"]), runs, conditional
        return
    inner = str(node["type"]) if node.get("type") in PARALLEL else runs
    for key in CHILDREN:
        children = node.get(key)
        for child in children if isinstance(children, list) else [children]:
            yield from _actions(child, inner, conditional or key in BRANCHES)


def _short(name: str) -> str:
    """``/_/prepare`` -> ``prepare``; ``/ns/pkg/act`` -> ``pkg/act``."""
    parts = name.strip("/").split("/")
    return "/".join(parts[1:]) if len(parts) > 1 else parts[0]


def _source(action: str, folders: Sequence[Path]) -> Path:
    name = action.rsplit("/", 1)[-1] + ".py"
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    where = ", ".join(os.fspath(f) for f in folders) or "no folder (give --actions DIR)"
    raise usage(f"step {action}: no {name} in {where}")


def _policy(policy: Mapping[str, Any]) -> str:
    kind = policy.get("type")
    soft = " (strict)" if policy.get("strict") else " (preferred)"
    if kind == "fn":
        parts = [f"node {policy['node']}"] if policy.get("node") else []
        parts += [f"capability {_names(policy['capability'])}"] if policy.get("capability") else []
        return " ".join(parts) + soft
    if kind == "data":
        return f"network {_names(policy['network'])}{soft}"
    if kind == "context":
        terms = [f"{k} {policy[k]}" for k in ("battery", "charging", "network", "idle",
                                              "metered") if policy.get(k) is not None]
        return "context " + ", ".join(terms) + soft
    if kind == "deadline":
        return f"within {policy['within']}{soft}"
    if kind == "wait":
        return f"waits up to {policy['within']}"
    if kind == "offline":
        return "offline on its devices too"
    return str(kind)


def _artifact(entry: Mapping[str, Any]) -> str:
    what = entry.get("ref") or f"{entry.get('name')} by selector {json.dumps(entry['selector'])}"
    locality = f" [{entry['locality']}]" if entry.get("locality") else ""
    return f"{entry.get('kind')} {what}{locality}"


def _gate(gate: Mapping[str, Any]) -> str:
    kind = gate.get("type")
    if kind == "bias":
        return f"bias {gate.get('attribute')} {gate.get('predicate')}"
    if kind == "metric":
        return f"metric {gate.get('metric')} {gate.get('predicate')}"
    if kind == "drift":
        return f"drift {gate.get('metric')} {gate.get('predicate')}"
    if kind == "data":
        return f"data {gate.get('ref')} new items {gate.get('new_items')}"
    return str(kind)


def _names(value: Any) -> str:
    return " or ".join(value) if isinstance(value, list) else str(value)
