"""Annotation schema version 1: the one validator of the ``edgewhisk`` annotation.

Everybody validates through ``validate`` — the decorators at import time, ``describe``, the CLI,
the runtime, and later the controller (which answers 400 with ``str(error)``). A rejection is an
``AnnotationError`` whose ``path`` names the field (``consumes[1].locality``) so the author can
find it. ``validate`` also *normalises*: key order is fixed, every artifact carries its ``name``
(defaulting to the ref's last segment), every gate carries its ``target`` (``gates.py``),
fn/data/context policies carry ``strict`` and a deadline (and a drift gate) carries ``strict``
only when it is true.

``policy.context`` asks for a device's *live* context, as its agent reports it: ``battery`` (a
predicate on the level 0..1, ``'>=0.3'``), ``charging``, ``network`` (joined now), ``idle``
and ``metered`` (true or false). ``policy.wait(within)`` says an activation no invoker can take
*yet* may wait that long for one (instead of failing at once); why a policy of its own and not
a strict deadline: a deadline bounds how long the run may take once placed (placement's
``DeadlineFeasibility``), a wait how long it may wait to be placed at all (hours).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .checks import PLAIN_NAME as _PLAIN
from .checks import at
from .checks import expect as _expect
from .checks import mapping as _mapping
from .checks import strict as _strict
from .checks import string as _string
from .checks import typed as _typed
from .exceptions import AnnotationError
from .gates import check_gate_artifacts, validate_gate
from .offline import OFFLINE_KEYS, validate_offline
from .terms import VARIABLE_NAME, check_braces, parse_duration, parse_predicate, template_variables

SCHEMA_VERSION = 1
SECTIONS = ("consumes", "produces", "gates", "policies")
KINDS = ("data", "model")
ARTIFACT_KEYS = ("kind", "name", "ref", "selector", "locality")
SELECTOR_KEYS = ("type", "trained_on", "input", "metrics", "order")
POLICY_KEYS = {"deadline": ("type", "within", "strict"),
               "fn": ("type", "node", "capability", "strict"),
               "data": ("type", "network", "strict"),
               "context": ("type", "battery", "charging", "network", "idle", "metered",
                           "strict"),
               "wait": ("type", "within"),
               "offline": OFFLINE_KEYS}
ONCE_POLICIES = ("deadline", "wait", "offline")
"""Policies an annotation gives at most once."""
CONTEXT_CONDITIONS = ("battery", "charging", "network", "idle", "metered")
"""What ``policy.context`` may ask of a device's live context, in normal order."""
BATTERY_OPERATORS = ("<", "<=", ">", ">=")

# Pattern text (also stated by the annotation's JSON Schema, annotation_schema.py), ASCII only.
PIECE = r"(?:[A-Za-z0-9_.@-]|\{" + VARIABLE_NAME + r"\})+"  # a ref segment; node and network names
NODE = PIECE + r"(?:=" + PIECE + r")?"  # a node: an id, a role, <owner>_device, or a label k=v
PRODUCED_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.@-]*"
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"  # a consumed artifact's name: a keyword argument of main
_SEGMENT = re.compile(PIECE)
_TOKEN = re.compile(PIECE)
_NODE = re.compile(NODE)
_PRODUCED_NAME = re.compile(PRODUCED_NAME)
_IDENTIFIER = re.compile(IDENTIFIER)
RESERVED_NAMES = frozenset({"args"})  # main(args, **artifacts): 'args' is taken


def _ref(given: Any, path: str) -> str:
    value = _string(given, path)
    with at(path):
        check_braces(value)
    for segment in value.split("/"):
        if segment in ("", ".", "..") or _SEGMENT.fullmatch(segment) is None:
            raise AnnotationError(
                path,
                f"{value!r} is not a ref: use '/'-separated segments of letters, digits, "
                "'_', '-', '.', '@' or {variables}, e.g. '{usr}/glucose'",
            )
    return value


def _locality(given: Any, path: str) -> str:
    value = _string(given, path)
    if value in ("local", "cloud"):
        return value
    if value.startswith("network:") and _TOKEN.fullmatch(value[len("network:"):]):
        return value
    raise AnnotationError(path, f"{value!r} must be 'local', 'cloud' or 'network:NAME'")


def _selector(value: Any, path: str) -> dict[str, Any]:
    given = _mapping(value, path, SELECTOR_KEYS)
    if not given:
        raise AnnotationError(
            path, f"empty selector; give at least one of {', '.join(SELECTOR_KEYS)}"
        )
    out: dict[str, Any] = {}
    for key in SELECTOR_KEYS:
        if key not in given:
            continue
        item, where = given[key], f"{path}.{key}"
        if key == "metrics":
            _expect(item, Mapping, where, "an object of metric: predicate")
            metrics = _mapping(item, where, tuple(k for k in item if isinstance(k, str)))
            if not metrics:
                raise AnnotationError(where, "empty; e.g. {'accuracy': '>=0.8'}")
            for metric, predicate in metrics.items():
                _string(metric, f"{where}.{metric}", _PLAIN, "a metric name")
                _string(predicate, f"{where}.{metric}")
                with at(f"{where}.{metric}"):
                    parse_predicate(predicate)
            out[key] = dict(metrics)
        elif key == "order":
            _string(item, where)
            best = item[len("best:"):] if item.startswith("best:") else ""
            if item != "newest" and (not best or _PLAIN.fullmatch(best) is None):
                raise AnnotationError(where, f"{item!r} must be 'newest' or 'best:<metric>'")
            out[key] = item
        else:
            out[key] = _string(item, where)
    return out


def _default_name(ref: str, section: str, path: str) -> str:
    last = ref.rsplit("/", 1)[-1]
    if template_variables(last):
        raise AnnotationError(
            f"{path}.name",
            f"the ref's last segment {last!r} holds a variable, so it cannot be the name; "
            "give name='...'",
        )
    if section == "consumes" and not _IDENTIFIER.fullmatch(last):
        raise AnnotationError(
            f"{path}.name",
            f"the ref's last segment {last!r} is not a Python identifier, so it cannot be the "
            f"keyword argument of main; give name={re.sub(r'[^0-9A-Za-z_]', '_', last)!r}",
        )
    return last


def _name(given: Any, section: str, path: str) -> str:
    value = _string(given, path)
    if section == "consumes":
        # ASCII only: Python folds other identifiers (NFKC), so a keyword argument named 'ﬁle'
        # would reach a parameter declared 'file' under another name.
        if not _IDENTIFIER.fullmatch(value) or keyword.iskeyword(value) \
                or value in RESERVED_NAMES:
            raise AnnotationError(
                path, f"{value!r} must be an ASCII Python identifier (it is a keyword argument "
                "of main) and not a keyword or 'args'",
            )
    elif _PRODUCED_NAME.fullmatch(value) is None:
        raise AnnotationError(path, f"{value!r} must use letters, digits, '_', '-', '.', '@'")
    return value


def validate_artifact(section: str, entry: Any, path: str) -> dict[str, Any]:
    """Validate and normalise one entry of ``consumes`` or ``produces``."""
    given = _mapping(entry, path, ARTIFACT_KEYS)
    if "kind" not in given:
        raise AnnotationError(f"{path}.kind", "missing; 'data' or 'model'")
    kind = given["kind"]
    if kind not in KINDS:
        raise AnnotationError(f"{path}.kind", f"{kind!r} must be 'data' or 'model'")
    ref = _ref(given["ref"], f"{path}.ref") if given.get("ref") is not None else None
    selector = None
    if given.get("selector") is not None:
        if section != "consumes" or kind != "model":
            raise AnnotationError(f"{path}.selector", "only consumed models take a selector")
        selector = _selector(given["selector"], f"{path}.selector")
    if ref is None and selector is None:
        need = "a ref or a selector" if (section, kind) == ("consumes", "model") else "a ref"
        raise AnnotationError(f"{path}.ref", f"missing; a {section[:-1]}d {kind} needs {need}")
    if given.get("name") is not None:
        name = _name(given["name"], section, f"{path}.name")
    elif ref is None:
        raise AnnotationError(f"{path}.name", "missing; a model chosen by selector needs a name")
    else:
        name = _default_name(ref, section, path)
    out: dict[str, Any] = {"kind": kind, "name": name}
    if ref is not None:
        out["ref"] = ref
    if selector is not None:
        out["selector"] = selector
    if given.get("locality") is not None:
        out["locality"] = _locality(given["locality"], f"{path}.locality")
    return out


def _names(value: Any, path: str, pattern: re.Pattern[str]) -> str | list[str]:
    """A string or a non-empty list of distinct strings (kept as given)."""
    if isinstance(value, str):
        return _string(value, path, pattern)
    _expect(value, list, path, "a string or a list of strings")
    if not value:
        raise AnnotationError(path, "empty list; name at least one")
    items = [_string(item, f"{path}[{i}]", pattern) for i, item in enumerate(value)]
    if len(set(items)) != len(items):
        raise AnnotationError(path, "lists a name twice")
    return items


def _context(entry: Mapping[str, Any], path: str, out: dict[str, Any]) -> None:
    """``policy.context``: conditions on the device's live context (module docstring)."""
    given = [key for key in CONTEXT_CONDITIONS if entry.get(key) is not None]
    if not given:
        raise AnnotationError(
            path, f"a context policy needs a condition: one of {', '.join(CONTEXT_CONDITIONS)}")
    for key in given:
        value, where = entry[key], f"{path}.{key}"
        if key == "battery":
            _string(value, where)
            with at(where):
                op, level = parse_predicate(value)
            if op not in BATTERY_OPERATORS or not 0.0 <= level <= 1.0:
                raise AnnotationError(
                    where, f"{value!r} must compare the level (0..1) with one of "
                    f"{' '.join(BATTERY_OPERATORS)}, e.g. '>=0.3'")
            out[key] = value.strip()
        elif key == "network":
            out[key] = _names(value, where, _TOKEN)
        else:
            _expect(value, bool, where, "true or false")
            out[key] = value


def validate_policy(entry: Any, path: str) -> dict[str, Any]:
    """Validate and normalise one policy."""
    kind = _typed(entry, path, POLICY_KEYS, "policy types")
    out: dict[str, Any] = {"type": kind}
    if kind in ("deadline", "wait") and "within" not in entry:
        example = "'2s'" if kind == "deadline" else "'6h'"
        raise AnnotationError(f"{path}.within", f"missing; e.g. {example}")
    if kind == "wait":
        out["within"] = entry["within"]
        with at(f"{path}.within"):
            parse_duration(entry["within"])
        return out
    if kind == "context":
        _context(entry, path, out)
        out["strict"] = _strict(entry, path)
        return out
    if kind == "deadline":
        out["within"] = entry["within"]
        with at(f"{path}.within"):
            parse_duration(entry["within"])
        if _strict(entry, path):
            out["strict"] = True
        return out
    if kind == "offline":
        return validate_offline(entry, path)
    if kind == "fn":
        if entry.get("node") is None and entry.get("capability") is None:
            raise AnnotationError(path, "a fn policy needs a node or a capability (or both)")
        if entry.get("node") is not None:
            out["node"] = _string(entry["node"], f"{path}.node", _NODE)
        if entry.get("capability") is not None:
            out["capability"] = _names(entry["capability"], f"{path}.capability", _PLAIN)
    else:
        if entry.get("network") is None:
            raise AnnotationError(f"{path}.network", "missing; e.g. ['company_network']")
        out["network"] = _names(entry["network"], f"{path}.network", _TOKEN)
    out["strict"] = _strict(entry, path)
    return out


def _policy_templates(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, string) of every non-ref string that may use variables."""
    for section in ("consumes", "produces"):
        for i, artifact in enumerate(doc[section]):
            if "locality" in artifact:
                yield f"{section}[{i}].locality", artifact["locality"]
    for i, policy in enumerate(doc["policies"]):
        if policy["type"] == "offline":
            continue  # plain device ids, no variables (``offline.py``)
        if "node" in policy:
            yield f"policies[{i}].node", policy["node"]
        if "network" in policy:
            network = policy["network"]
            if isinstance(network, str):
                yield f"policies[{i}].network", network
            else:
                yield from ((f"policies[{i}].network[{j}]", n) for j, n in enumerate(network))


def _cross_check(doc: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for section in ("consumes", "produces"):
        for i, artifact in enumerate(doc[section]):
            where = f"{section}[{i}]"
            if artifact["name"] in seen:
                raise AnnotationError(
                    f"{where}.name",
                    f"{artifact['name']!r} is already the name of {seen[artifact['name']]}; "
                    "artifact names must be unique: give name='...'",
                )
            seen[artifact["name"]] = where
    for i, gate in enumerate(doc["gates"]):
        check_gate_artifacts(doc, gate, f"gates[{i}]")
    for once in ONCE_POLICIES:
        found = [i for i, p in enumerate(doc["policies"]) if p["type"] == once]
        if len(found) > 1:
            raise AnnotationError(f"policies[{found[1]}]", f"a second {once}; give only one")
    bound = variables(doc)
    for path, text in _policy_templates(doc):
        for name in template_variables(text):
            if name not in bound:
                raise AnnotationError(
                    path,
                    f"variable {{{name}}} is bound nowhere; variables are introduced by the refs "
                    "of consumed or produced artifacts (bound here: "
                    f"{', '.join(sorted(bound)) or 'none'})",
                )


_SECTION_VALIDATORS: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "consumes": lambda entry, path: validate_artifact("consumes", entry, path),
    "produces": lambda entry, path: validate_artifact("produces", entry, path),
    "gates": validate_gate,
    "policies": validate_policy,
}


def validate(doc: Any) -> dict[str, Any]:
    """Validate an annotation document and return its normalised form (a new dict)."""
    given = _mapping(doc, "", ("version", *SECTIONS))
    if "version" not in given:
        raise AnnotationError("version", f"missing; this is schema version {SCHEMA_VERSION}")
    if type(given["version"]) is not int or given["version"] != SCHEMA_VERSION:
        raise AnnotationError(
            "version", f"{given['version']!r} is not supported; use {SCHEMA_VERSION}"
        )
    out: dict[str, Any] = {"version": SCHEMA_VERSION}
    for section in SECTIONS:
        entries = given.get(section, [])
        _expect(entries, list, section, "a list")
        check = _SECTION_VALIDATORS[section]
        out[section] = [check(entry, f"{section}[{i}]") for i, entry in enumerate(entries)]
    _cross_check(out)
    return out


def variables(doc: Mapping[str, Any]) -> set[str]:
    """The variables an activation binds (or fans out): those of the artifact refs.

    A valid annotation uses no other variable anywhere (``validate`` checks it).
    """
    found: set[str] = set()
    for section in ("consumes", "produces"):
        for artifact in doc.get(section, []):
            if isinstance(artifact.get("ref"), str):
                found.update(template_variables(artifact["ref"]))
    return found


def invoker_resources(doc: Mapping[str, Any]) -> list[str]:
    """Hard capability constraints as OpenWhisk 2.x ``invoker-resources`` tags (ordered, unique)."""
    tags: list[str] = []
    for policy in validate(doc)["policies"]:
        if policy["type"] == "fn" and policy["strict"] and "capability" in policy:
            capability = policy["capability"]
            tags.extend([capability] if isinstance(capability, str) else capability)
    return list(dict.fromkeys(tags))
