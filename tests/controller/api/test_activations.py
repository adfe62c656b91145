"""Activations through the REST API: list (filters, paging, docs), get, result, logs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Client, Controller, create_action

NOISY = (
    "def main(args):\n    print('line one')\n    print('line two', args.get('i'))\n"
    "    return args\n"
)


@pytest.fixture(scope="module")
def history(controller: Controller) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Five blocking activations of ``first`` and three of ``second``, oldest first."""
    with controller.client() as client:
        create_action(client, "first", NOISY)
        create_action(client, "second", NOISY)
        records: dict[str, list[dict[str, Any]]] = {"first": [], "second": []}
        for i in range(8):
            name = "first" if i < 5 else "second"
            response = client.request("POST", f"actions/{name}?blocking=true", json={"i": i})
            assert response.status_code == 200, response.text
            records[name].append(response.json())
        yield records


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["activationId"] for r in records]


def test_the_list_is_newest_first_without_results_or_logs(guest: Client, history: Any) -> None:
    listed = guest.request("GET", "activations").json()
    everything = sorted(history["first"] + history["second"], key=lambda r: r["start"],
                        reverse=True)
    assert [r["start"] for r in listed] == [r["start"] for r in everything]
    assert set(_ids(listed)) == set(_ids(everything))
    assert all("response" not in r and "logs" not in r and r["statusCode"] == 0 for r in listed)


def test_docs_true_lists_whole_records(guest: Client, history: Any) -> None:
    listed = guest.request("GET", "activations?docs=true&name=second").json()
    assert listed == list(reversed(history["second"]))


def test_name_filters_and_limit_skip_page(guest: Client, history: Any) -> None:
    first = list(reversed(_ids(history["first"])))
    assert _ids(guest.request("GET", "activations?name=first").json()) == first
    assert _ids(guest.request("GET", "activations?name=first&limit=2&skip=1").json()) == first[1:3]
    assert guest.request("GET", "activations?name=first&count=true").json() == {"activations": 5}
    assert guest.request("GET", "activations?name=nobody").json() == []


def test_since_and_upto_filter_on_the_start_time(guest: Client, history: Any) -> None:
    records = history["first"]
    since, upto = records[1]["start"], records[3]["start"]
    listed = guest.request("GET", f"activations?name=first&since={since}&upto={upto}").json()
    expected = [r for r in records if since <= r["start"] <= upto]
    assert sorted(_ids(listed)) == sorted(_ids(expected)) and len(listed) >= 3


def test_get_result_and_logs_of_one_activation(guest: Client, history: Any) -> None:
    record = history["first"][2]
    activation_id = record["activationId"]
    assert guest.request("GET", f"activations/{activation_id}").json() == record
    result = guest.request("GET", f"activations/{activation_id}/result").json()
    assert result == record["response"] and result["result"] == {"i": 2}
    logs = guest.request("GET", f"activations/{activation_id}/logs").json()["logs"]
    assert logs == record["logs"]
    assert [line.split("stdout: ")[1] for line in logs] == ["line one", "line two 2"]


@pytest.mark.parametrize("suffix", ["", "/result", "/logs"], ids=["record", "result", "logs"])
def test_unknown_activation_ids_are_404(guest: Client, suffix: str) -> None:
    for activation_id in ("0" * 32, "_design", "not-an-id!"):
        response = guest.request("GET", f"activations/{activation_id}{suffix}")
        assert response.status_code == 404, (activation_id, response.text)


def test_another_namespace_sees_none_of_these_activations(other: Client, history: Any) -> None:
    assert other.request("GET", "activations").json() == []
    activation_id = history["first"][0]["activationId"]
    assert other.request("GET", f"activations/{activation_id}").status_code == 404
    assert other.request("GET", f"activations/{activation_id}/logs").status_code == 404


@pytest.mark.parametrize(
    "query", ["limit=201", "skip=-1", "since=yesterday", "docs=yes"],
    ids=["a limit over 200", "a negative skip", "a since that is no number",
         "docs that is no boolean"],
)
def test_bad_list_options_are_a_400(guest: Client, query: str) -> None:
    assert guest.request("GET", f"activations?{query}").status_code == 400
