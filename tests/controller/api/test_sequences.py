"""Sequences (``exec.kind: sequence``) through the REST API, as OpenWhisk runs them.

The expectations are apache/openwhisk's ``SequenceActions`` (``invokeSequence``,
``makeSequenceActivation``, ``SequenceAccounting``), the sequence checks of ``Actions.scala``
(``checkSequenceActionLimits``) with their ``Messages``, and
apache/openwhisk:docs/actions.md ("Creating action sequences").
"""

from __future__ import annotations

from typing import Any

import pytest

from .harness import Client, create_action

INC = "def main(args):\n    return {'n': args.get('n', 0) + 1}\n"
DOUBLE = "def main(args):\n    return {'n': args['n'] * 2}\n"
FAIL = "def main(args):\n    return {'error': 'stop here', 'n': args.get('n')}\n"


def _sequence(client: Client, name: str, components: list[str], **fields: Any) -> Any:
    return client.request("PUT", f"actions/{name}",
                          json={"exec": {"kind": "sequence", "components": components},
                                **fields})


def _annotations(record: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in record["annotations"]}


@pytest.fixture(scope="module")
def steps(controller: Any) -> None:
    with controller.client() as guest:
        create_action(guest, "inc", INC)
        create_action(guest, "double", DOUBLE, limits={"memory": 512})
        create_action(guest, "fail", FAIL)


def test_a_sequence_is_stored_as_upstream_stores_it(guest: Client, steps: None) -> None:
    """``SequenceExec``: components fully qualified with a leading slash, ``_`` resolved to
    the caller's namespace; the parameters are ``_actions`` (``updateWhiskAction``)."""
    response = _sequence(guest, "stored", ["/_/inc", "guest/double"])
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["exec"] == {"kind": "sequence", "components": ["/guest/inc", "/guest/double"]}
    assert doc["parameters"] == [{"key": "_actions", "value": ["/guest/inc", "/guest/double"]}]
    assert {"key": "exec", "value": "sequence"} in doc["annotations"]


def test_a_sequence_runs_each_component_as_its_own_activation(guest: Client,
                                                              steps: None) -> None:
    """Each component is an activation with ``cause`` = the sequence and ``causedBy:
    sequence``; the sequence's record lists their ids in ``logs``, sums their durations, and
    carries ``topmost``, ``path``, ``kind: sequence``, ``waitTime`` and the largest memory
    limit seen (``makeSequenceActivation``)."""
    _sequence(guest, "pipeline", ["/_/inc", "/_/double", "/_/inc"])
    response = guest.request("POST", "actions/pipeline?blocking=true", json={"n": 1})
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["response"]["result"] == {"n": 5}
    components = [guest.activations.get(i) for i in record["logs"]]
    assert [c["name"] for c in components] == ["inc", "double", "inc"]
    assert all(c["cause"] == record["activationId"] for c in components)
    assert all(_annotations(c)["causedBy"] == "sequence" for c in components)
    assert record["duration"] == sum(c["duration"] for c in components)
    assert "cause" not in record
    annotations = _annotations(record)
    assert [a["key"] for a in record["annotations"]] == ["topmost", "path", "kind", "waitTime",
                                                         "limits"]
    assert annotations["topmost"] is True and annotations["kind"] == "sequence"
    assert annotations["path"] == "guest/pipeline" and annotations["waitTime"] >= 0
    assert annotations["limits"]["memory"] == 512
    only = guest.request("POST", "actions/pipeline?blocking=true&result=true", json={"n": 10})
    assert only.json() == {"n": 23}


def test_an_error_stops_the_sequence_with_that_response(guest: Client, steps: None) -> None:
    """``SequenceAccounting.maybe``: a result with an ``error`` field short-circuits; the
    sequence's response is that activation's (an application error, 502 when blocking)."""
    _sequence(guest, "stops", ["/_/inc", "/_/fail", "/_/double"])
    response = guest.request("POST", "actions/stops?blocking=true", json={"n": 1})
    assert response.status_code == 502
    record = response.json()
    assert record["response"]["status"] == "application error"
    assert record["response"]["result"] == {"error": "stop here"}  # ActivationResponse
    assert len(record["logs"]) == 2


def test_a_nested_sequence_has_its_own_record_caused_by_the_outer(guest: Client,
                                                                   steps: None) -> None:
    """``invokeSequence`` with ``topmost = false``: the inner sequence's record has
    ``topmost: false``, ``causedBy: sequence`` and ``cause`` = the outer sequence."""
    _sequence(guest, "inner", ["/_/inc", "/_/inc"])
    _sequence(guest, "outer", ["/_/double", "/_/inner"])
    record = guest.request("POST", "actions/outer?blocking=true", json={"n": 3}).json()
    assert record["response"]["result"] == {"n": 8}
    inner = guest.activations.get(record["logs"][1])
    assert inner["name"] == "inner" and inner["cause"] == record["activationId"]
    annotations = _annotations(inner)
    assert annotations["topmost"] is False and annotations["causedBy"] == "sequence"
    assert len(inner["logs"]) == 2


def test_a_deleted_component_ends_the_sequence_as_upstream_does(guest: Client,
                                                                steps: None) -> None:
    """A component gone after the sequence was stored: ``Sequence component does not
    exist.``, an application error, nothing after it runs."""
    create_action(guest, "ephemeral", INC)
    _sequence(guest, "broken-later", ["/_/inc", "/_/ephemeral", "/_/double"])
    guest.request("DELETE", "actions/ephemeral")
    record = guest.request("POST", "actions/broken-later?blocking=true", json={"n": 1}).json()
    assert record["response"]["status"] == "application error"
    assert record["response"]["result"] == {"error": "Sequence component does not exist."}
    assert len(record["logs"]) == 1


@pytest.mark.parametrize(
    "name, components, error",
    [
        ("empty", [], "No component specified for the sequence."),
        ("missing", ["/_/inc", "/_/no-such-action"], "Sequence component does not exist."),
        ("self", ["/_/inc", "/_/self"], "Sequence may not refer to itself."),
        ("unqualified", ["inc"], "The fully qualified name of the entity must contain at "
                                 "least the namespace and the name of the entity."),
        ("too-long", ["/_/inc"] * 51, "Too many actions in the sequence."),
        ("not-a-list", "inc", "exec.components: must be a list"),
    ],
    ids=["no component", "a missing component", "itself as a component",
         "a name that is not fully qualified", "51 components", "components that are no list"],
)
def test_bad_sequences_are_refused_with_upstream_s_messages(
        guest: Client, steps: None, name: str, components: Any, error: str) -> None:
    response = _sequence(guest, name, components)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(error)
    assert guest.request("GET", f"actions/{name}").status_code == 404


def test_a_cycle_through_a_nested_sequence_is_refused_on_update(guest: Client,
                                                                steps: None) -> None:
    """``countAtomicActionsAndCheckCycle``: updating a sequence so that a nested one
    contains it is ``Sequence may not refer to itself.``; the stored one is unchanged."""
    _sequence(guest, "ring-a", ["/_/inc"])
    _sequence(guest, "ring-b", ["/_/ring-a"])
    response = guest.request("PUT", "actions/ring-a?overwrite=true",
                             json={"exec": {"kind": "sequence", "components": ["/_/ring-b"]}})
    assert response.status_code == 400
    assert response.json()["error"] == "Sequence may not refer to itself."
    assert guest.request("GET", "actions/ring-a").json()["exec"]["components"] == ["/guest/inc"]


def test_a_sequence_of_another_namespace_s_private_action_is_refused(
        guest: Client, other: Client) -> None:
    create_action(other, "private-step", INC)
    response = _sequence(guest, "borrowed", ["/other/private-step"])
    assert response.status_code == 403
