"""Property-based round trips: random valid decorator stacks describe to what they declare,
survive JSON and the validator unchanged; random invalid mutations are rejected with a path."""

from __future__ import annotations

import copy
import json
import keyword
from collections.abc import Callable
from typing import Any

from edgewhisk import AnnotationError, consumes, describe, gate, policy, produces, validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Doc = dict[str, Any]
Stack = list[tuple[Callable[..., Any], Doc]]  # (decorator, the entry it should describe as)

WORD = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda w: not keyword.iskeyword(w) and w != "args")
VARIABLES = ["usr", "dev", "site", "day"]
NUMBER = st.one_of(st.integers(-1000, 1000).map(str),
                   st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(repr))
PREDICATE = st.builds(lambda op, n: op + n, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
                      NUMBER)
DURATION = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 999), st.sampled_from(
    ["ms", "s", "m", "h"]))
settings.register_profile("edgewhisk", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("edgewhisk")


@st.composite
def ref_ending_in(draw: st.DrawFn, last: str) -> str:
    middle = draw(st.lists(st.one_of(WORD, st.sampled_from(VARIABLES).map("{{{}}}".format)),
                           max_size=3))
    return "/".join([*middle, last])


@st.composite
def artifact(draw: st.DrawFn, section: str, name: str) -> tuple[Callable[..., Any], Doc]:
    kind = draw(st.sampled_from(["data", "model"]))
    explicit = draw(st.booleans())
    by_selector = section == "consumes" and kind == "model" and draw(st.booleans())
    ref = None if by_selector else draw(ref_ending_in(name if not explicit else draw(WORD)))
    locality = draw(st.one_of(st.none(), st.sampled_from(["local", "cloud"]),
                              WORD.map("network:{}".format)))
    kwargs: Doc = {"name": name} if explicit or by_selector else {}
    entry: Doc = {"kind": kind, "name": name}
    if ref is not None:
        entry["ref"] = ref
    if by_selector:
        selector = draw(st.fixed_dictionaries({}, optional={
            "type": st.sampled_from(["classifier", "regressor"]), "trained_on": WORD,
            "input": WORD, "metrics": st.dictionaries(WORD, PREDICATE, min_size=1, max_size=2),
            "order": st.one_of(st.just("newest"), WORD.map("best:{}".format))}))
        if not selector:
            selector = {"type": "classifier"}
        ordered = {k: selector[k] for k in ("type", "trained_on", "input", "metrics", "order")
                   if k in selector}
        kwargs["selector"], entry["selector"] = copy.deepcopy(ordered), ordered
    if locality is not None:
        kwargs["locality"] = entry["locality"] = locality
    namespace = consumes if section == "consumes" else produces
    factory = getattr(namespace, kind)
    decorator = factory(ref, **kwargs) if ref is not None else factory(**kwargs)
    return decorator, entry


def bound_variables(entries: list[Doc]) -> list[str]:
    return sorted({v for e in entries for v in VARIABLES if f"{{{v}}}" in e.get("ref", "")})


@st.composite
def gate_entry(draw: st.DrawFn, consumed: list[Doc], produced: list[Doc]) -> tuple[Any, Doc]:
    """A valid gate: drift on a consumed model, bias or metric on a produced artifact (the
    target given, or left to its default when exactly one model qualifies)."""
    models = [e["name"] for e in consumed if e["kind"] == "model"]
    made_models = [e["name"] for e in produced if e["kind"] == "model"]
    kinds = [*(["drift"] if models else []), *(["bias", "metric"] if produced else [])]
    kind = draw(st.sampled_from(kinds))
    pool = models if kind == "drift" else [e["name"] for e in produced]
    defaults_to = models if kind == "drift" else made_models
    target = draw(st.one_of(st.sampled_from(pool), *([st.none()] if len(defaults_to) == 1
                                                     else [])))
    subject, predicate = draw(WORD), draw(PREDICATE)
    entry: Doc = {"type": kind, "attribute" if kind == "bias" else "metric": subject,
                  "predicate": predicate, "target": target or defaults_to[0]}
    options: Doc = {}
    data = [e["name"] for e in consumed if e["kind"] == "data"]
    if kind == "bias" and data and entry["target"] in made_models and draw(st.booleans()):
        options["data"] = draw(st.sampled_from(data))
        if draw(st.booleans()):
            options["bins"] = sorted(draw(st.sets(st.integers(-100, 100), min_size=1,
                                                  max_size=4)))
    if kind == "drift":
        options.update(draw(st.fixed_dictionaries({}, optional={
            "window": st.integers(1, 1000), "cooldown": DURATION,
            "strict": st.just(True)})))
        if options.get("strict") and draw(st.booleans()):
            options["fallback"] = draw(WORD)
    if draw(st.booleans()):
        options["trigger"] = draw(WORD.map("{}.alarm".format))
    entry.update(options)
    factory = {"bias": gate.bias, "drift": gate.drift, "metric": gate.metric}[kind]
    return factory(subject, predicate, target=target, **options), entry


@st.composite
def policy_entry(draw: st.DrawFn, variables: list[str], with_deadline: bool) -> tuple[Any, Doc]:
    kinds = ["fn", "data", *(["deadline"] if with_deadline else [])]
    kind = draw(st.sampled_from(kinds))
    strict = draw(st.booleans())
    names = st.one_of(WORD, st.lists(WORD, min_size=1, max_size=3, unique=True))
    template = WORD if not variables else st.one_of(
        WORD, st.builds("{{{}}}_{}".format, st.sampled_from(variables), WORD))
    if kind == "deadline":
        within = draw(DURATION)
        entry = {"type": "deadline", "within": within, **({"strict": True} if strict else {})}
        return policy.deadline(within, strict=strict), entry
    if kind == "data":
        network = draw(st.one_of(template, st.lists(template, min_size=1, max_size=3,
                                                    unique=True)))
        return (policy.data(network=copy.deepcopy(network), strict=strict),
                {"type": "data", "network": network, "strict": strict})
    node = draw(st.one_of(st.none(), template))
    capability = draw(names if node is None else st.one_of(st.none(), names))
    entry = {"type": "fn", **({"node": node} if node else {}),
             **({"capability": capability} if capability else {}), "strict": strict}
    return policy.fn(node=node, capability=copy.deepcopy(capability), strict=strict), entry


@st.composite
def stacks(draw: st.DrawFn) -> tuple[Stack, Doc]:
    """A random valid decorator stack in source order, and the annotation it must describe."""
    sizes = draw(st.tuples(st.integers(0, 3), st.integers(0, 3)))
    names = draw(st.lists(WORD, min_size=sum(sizes), max_size=sum(sizes), unique=True))
    expected: Doc = {"version": 1, "consumes": [], "produces": [], "gates": [], "policies": []}
    stack: Stack = []
    for section, start, size in (("consumes", 0, sizes[0]), ("produces", sizes[0], sizes[1])):
        for name in names[start:start + size]:
            decorator, entry = draw(artifact(section, name))
            stack.append((decorator, entry))
            expected[section].append(entry)
    gated = any(e["kind"] == "model" for e in expected["consumes"]) or expected["produces"]
    for _ in range(draw(st.integers(0, 2)) if gated else 0):
        decorator, entry = draw(gate_entry(expected["consumes"], expected["produces"]))
        stack.append((decorator, entry))
        expected["gates"].append(entry)
    variables = bound_variables(expected["consumes"] + expected["produces"])
    for index in range(draw(st.integers(0, 3))):
        decorator, entry = draw(policy_entry(variables, with_deadline=index == 0))
        stack.append((decorator, entry))
        expected["policies"].append(entry)
    # Sections may interleave in source order: shuffle, then describe groups by section.
    order = draw(st.permutations(range(len(stack))))
    return [stack[i] for i in order], expected


def decorated(stack: Stack) -> Callable[..., Any]:
    def main(args: Doc, **artifacts: Any) -> Doc:
        return {"args": args, "artifacts": sorted(artifacts)}

    for decorator, _ in reversed(stack):
        assert decorator(main) is main
    return main


@given(stacks())
def test_random_stacks_describe_to_what_they_declare(case: tuple[Stack, Doc]) -> None:
    stack, expected = case
    main = decorated(stack)
    in_source_order = {s: [e for _, e in stack if e in expected[s]] for s in expected
                       if s != "version"}
    assert describe(main) == {"version": 1, **in_source_order}
    assert main({"x": 1}, a=1) == {"args": {"x": 1}, "artifacts": ["a"]}


@given(stacks())
def test_descriptions_round_trip_through_json_and_the_validator(case: tuple[Stack, Doc]) -> None:
    described = describe(decorated(case[0]))
    assert validate(json.loads(json.dumps(described))) == described


Mutation = Callable[[st.DrawFn, Doc], str | None]  # changes doc, returns the expected path


def _pick(draw: st.DrawFn, doc: Doc, sections: tuple[str, ...]) -> tuple[str, int] | None:
    spots = [(s, i) for s in sections for i in range(len(doc[s]))]
    return draw(st.sampled_from(spots)) if spots else None


def unknown_key(draw: st.DrawFn, doc: Doc) -> str | None:
    spot = _pick(draw, doc, ("consumes", "produces", "gates", "policies"))
    if spot is None:
        doc["extra"] = 1
        return "extra"
    doc[spot[0]][spot[1]]["bogus"] = draw(st.integers())
    return f"{spot[0]}[{spot[1]}].bogus"


def bad_kind(draw: st.DrawFn, doc: Doc) -> str | None:
    spot = _pick(draw, doc, ("consumes", "produces"))
    if spot:
        doc[spot[0]][spot[1]]["kind"] = draw(WORD.filter(lambda w: w not in ("data", "model")))
        return f"{spot[0]}[{spot[1]}].kind"
    return None


def bad_locality(draw: st.DrawFn, doc: Doc) -> str | None:
    spot = _pick(draw, doc, ("consumes", "produces"))
    if spot:
        doc[spot[0]][spot[1]]["locality"] = draw(st.sampled_from(
            ["edge", "network:", "Local", "network:a b", "cloud:x"]))
        return f"{spot[0]}[{spot[1]}].locality"
    return None


def bad_predicate(draw: st.DrawFn, doc: Doc) -> str | None:
    spot = _pick(draw, doc, ("gates",))
    if spot:
        doc["gates"][spot[1]]["predicate"] = draw(st.sampled_from(
            ["<<0.8", "=>1", "<", "0.5", "< x", "~1", "<inf"]))
        return f"gates[{spot[1]}].predicate"
    return None


def bad_duration(draw: st.DrawFn, doc: Doc) -> str | None:
    doc["policies"] = [p for p in doc["policies"] if p["type"] != "deadline"]
    doc["policies"].append({"type": "deadline", "within": draw(st.sampled_from(
        ["2x", "2", "s", "-1s", "0ms", "2 s", "1h30m"]))})
    return f"policies[{len(doc['policies']) - 1}].within"


def duplicate_name(draw: st.DrawFn, doc: Doc) -> str | None:
    spots = [(s, i) for s in ("consumes", "produces") for i in range(len(doc[s]))]
    if len(spots) < 2:
        return None
    first, second = sorted(draw(st.lists(st.sampled_from(spots), min_size=2, max_size=2,
                                         unique=True)), key=spots.index)
    doc[second[0]][second[1]]["name"] = doc[first[0]][first[1]]["name"]
    return f"{second[0]}[{second[1]}].name"


def unbound_variable(draw: st.DrawFn, doc: Doc) -> str | None:
    doc["policies"].append({"type": "fn", "node": "{zz_unbound}_device", "strict": False})
    return f"policies[{len(doc['policies']) - 1}].node"


def empty_network(draw: st.DrawFn, doc: Doc) -> str | None:
    doc["policies"].append({"type": "data", "network": [], "strict": True})
    return f"policies[{len(doc['policies']) - 1}].network"


def bad_version(draw: st.DrawFn, doc: Doc) -> str | None:
    doc["version"] = draw(st.sampled_from([0, 2, "1", 1.5, True, None]))
    return "version"


MUTATIONS = [unknown_key, bad_kind, bad_locality, bad_predicate, bad_duration, duplicate_name,
             unbound_variable, empty_network, bad_version]


@given(stacks(), st.sampled_from(MUTATIONS), st.data())
def test_random_invalid_mutations_are_rejected_with_their_path(
        case: tuple[Stack, Doc], mutation: Mutation, data: st.DataObject) -> None:
    doc = json.loads(json.dumps(describe(decorated(case[0]))))
    path = mutation(data.draw, doc)
    if path is None:  # the mutation needs something this document does not have
        return
    try:
        validate(doc)
    except AnnotationError as error:
        assert error.path == path, (str(error), doc)
    else:
        raise AssertionError(f"{mutation.__name__} was accepted: {doc}")
