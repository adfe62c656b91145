"""The store contract: every backend runs every test here (fixture ``store``: sqlite, couchdb).

The CouchDB backend runs against a real pouchdb-server (tests/controller/conftest.py), the
SQLite backend against a file in the test's temporary folder. Coroutines run on a fresh event
loop per test (fixture ``run``), so each test reads top to bottom like a script.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from edgewhisk_controller.stores import (
    Conflict,
    Doc,
    NotFound,
    Store,
    StoreUnavailable,
    Write,
    open_store,
    update,
)

from ..conftest import free_port

T = TypeVar("T")
Run = Callable[[Awaitable[T]], T]
REVISION = re.compile(r"[1-9][0-9]*-[0-9a-f]{32}")


@pytest.fixture
def run() -> Iterator[Run[Any]]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.fixture(params=["sqlite", "couchdb"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a fresh, empty store of each backend lives (CouchDB: a prefix of its own)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/data/store.sqlite3"
        return
    server = request.getfixturevalue("couchdb_server")
    prefix = f"t{uuid.uuid4().hex[:12]}_"
    yield f"{server.url}/?prefix={prefix}"
    server.drop_databases(prefix)


@pytest.fixture
def store(location: str, run: Run[Any]) -> Iterator[Store]:
    store = open_store(location)
    yield store
    run(store.close())


# -- documents and revisions ------------------------------------------------------------------


def test_a_new_document_reads_back_with_its_id_and_a_first_revision(store: Store, run: Run[Any]):
    doc = {"_id": "guest/hello", "exec": {"kind": "python:3", "code": "def main(a): ü"}, "n": 1.5,
           "tags": ["a", None, True], "empty": {}}
    rev = run(store.put("actions", doc))
    assert REVISION.fullmatch(rev) and rev.startswith("1-")
    assert run(store.get("actions", "guest/hello")) == {**doc, "_rev": rev}
    assert "_rev" not in doc, "put must not change the caller's document"


def test_an_update_with_the_current_revision_gets_the_next_revision(store: Store, run: Run[Any]):
    rev1 = run(store.put("actions", {"_id": "a", "v": 1}))
    rev2 = run(store.put("actions", {"_id": "a", "_rev": rev1, "v": 2}))
    rev3 = run(store.put("actions", {"_id": "a", "_rev": rev2, "v": 2}))
    assert [r.split("-")[0] for r in (rev1, rev2, rev3)] == ["1", "2", "3"]
    assert len({rev1, rev2, rev3}) == 3, "the same body written twice still gets a new revision"
    assert run(store.get("actions", "a")) == {"_id": "a", "_rev": rev3, "v": 2}


def test_collections_are_separate(store: Store, run: Run[Any]):
    run(store.put("actions", {"_id": "x", "in": "actions"}))
    run(store.put("rules", {"_id": "x", "in": "rules"}))
    assert run(store.get("actions", "x"))["in"] == "actions"
    assert run(store.get("rules", "x"))["in"] == "rules"


@pytest.mark.parametrize("coll, id", [
    pytest.param("actions", "nobody", id="a missing document is not found"),
    pytest.param("never_used", "x", id="a document in a collection never written is not found"),
])
def test_get_of_a_missing_document_raises_not_found(store: Store, run: Run[Any], coll, id):
    run(store.put("actions", {"_id": "somebody"}))
    with pytest.raises(NotFound):
        run(store.get(coll, id))


STALE_WRITES: list[Any] = [
    pytest.param(lambda rev1, rev2: {"_id": "a", "v": 9},
                 id="a create of an existing document conflicts"),
    pytest.param(lambda rev1, rev2: {"_id": "a", "_rev": rev1, "v": 9},
                 id="an update with an old revision conflicts"),
    pytest.param(lambda rev1, rev2: {"_id": "a", "_rev": "2-" + "0" * 32, "v": 9},
                 id="an update with a made-up revision conflicts"),
    pytest.param(lambda rev1, rev2: {"_id": "a", "_rev": "not a revision", "v": 9},
                 id="an update with a malformed revision conflicts"),
    pytest.param(lambda rev1, rev2: {"_id": "b", "_rev": rev2, "v": 9},
                 id="an update of a document that does not exist conflicts"),
]


@pytest.mark.parametrize("stale", STALE_WRITES)
def test_a_write_that_is_not_based_on_the_current_revision_conflicts_and_changes_nothing(
    store: Store, run: Run[Any], stale: Callable[[str, str], Doc]
):
    rev1 = run(store.put("actions", {"_id": "a", "v": 1}))
    rev2 = run(store.put("actions", {"_id": "a", "_rev": rev1, "v": 2}))
    with pytest.raises(Conflict):
        run(store.put("actions", stale(rev1, rev2)))
    assert run(store.get("actions", "a")) == {"_id": "a", "_rev": rev2, "v": 2}
    with pytest.raises(NotFound):
        run(store.get("actions", "b"))


def test_a_deleted_document_is_gone_and_can_be_created_again(store: Store, run: Run[Any]):
    rev = run(store.put("triggers", {"_id": "t", "v": 1}))
    run(store.delete("triggers", "t", rev))
    with pytest.raises(NotFound):
        run(store.get("triggers", "t"))
    assert run(store.list("triggers")) == []
    with pytest.raises(Conflict):  # a writer still holding the old revision must not win
        run(store.put("triggers", {"_id": "t", "_rev": rev, "v": 2}))
    new = run(store.put("triggers", {"_id": "t", "v": 3}))
    assert run(store.get("triggers", "t")) == {"_id": "t", "_rev": new, "v": 3}


@pytest.mark.parametrize("id, rev, error", [
    pytest.param("t", "old", Conflict, id="a delete with an old revision conflicts"),
    pytest.param("t", "2-" + "0" * 32, Conflict, id="a delete with a made-up revision conflicts"),
    pytest.param("t", "bogus", Conflict, id="a delete with a malformed revision conflicts"),
    pytest.param("nobody", "current", NotFound, id="a delete of a missing document is not found"),
])
def test_a_delete_that_is_not_based_on_the_current_revision_fails_and_deletes_nothing(
    store: Store, run: Run[Any], id: str, rev: str, error: type[Exception]
):
    old = run(store.put("triggers", {"_id": "t", "v": 1}))
    current = run(store.put("triggers", {"_id": "t", "_rev": old, "v": 2}))
    with pytest.raises(error):
        run(store.delete("triggers", id, {"old": old, "current": current}.get(rev, rev)))
    assert run(store.get("triggers", "t"))["_rev"] == current


@pytest.mark.parametrize("call", [
    pytest.param(lambda s: s.get("Actions", "a"), id="a collection name must be lowercase"),
    pytest.param(lambda s: s.get("actions", "_design/x"), id="ids starting with _ are reserved"),
    pytest.param(lambda s: s.get("actions", ""), id="an id cannot be empty"),
    pytest.param(lambda s: s.put("actions", {"v": 1}), id="a document needs an _id"),
    pytest.param(lambda s: s.put("actions", {"_id": "a", "_x": 1}), id="_ keys are reserved"),
    pytest.param(lambda s: s.put("actions", {"_id": "a", "v": float("nan")}), id="NaN is not JSON"),
    pytest.param(lambda s: s.put("actions", {"_id": "a", "v": {1, 2}}), id="a set is not JSON"),
    pytest.param(lambda s: s.list("actions", filters={"v": {"a": 1}}),
                 id="filters compare with scalars only"),
    pytest.param(lambda s: s.list("actions", sort="a.b"), id="sorts are on top-level fields"),
    pytest.param(lambda s: s.list("actions", limit=-1), id="a limit cannot be negative"),
    pytest.param(lambda s: s.list("actions", skip=-1), id="a skip cannot be negative"),
])
def test_invalid_input_is_refused_before_the_backend_is_touched(
    store: Store, run: Run[Any], call: Callable[[Store], Awaitable[Any]]
):
    coroutine = call(store)
    with pytest.raises(ValueError):
        run(coroutine)


# -- listing ----------------------------------------------------------------------------------

SEED: list[Doc] = [
    {"_id": "guest/a", "ns": "guest", "kind": "python:3", "start": 30, "publish": True},
    {"_id": "guest/b", "ns": "guest", "kind": "blackbox", "start": 10, "publish": False,
     "parent": None},
    {"_id": "guest/c", "ns": "guest", "kind": "python:3", "start": 20},
    {"_id": "guestbook", "ns": "guest", "kind": "nodejs:default", "start": 20},
    {"_id": "other/a", "ns": "other", "kind": "python:3", "start": 40, "publish": True},
    {"_id": "other/b", "ns": "other", "kind": "nodejs:default", "version": 1},
]
ALL = [doc["_id"] for doc in SEED]

# (list keyword arguments, expected ids in order); counts are checked for the same selections.
LISTINGS: list[Any] = [
    pytest.param({}, ALL, id="everything, in id order"),
    pytest.param({"descending": True}, ALL[::-1], id="everything, in descending id order"),
    pytest.param({"prefix": "guest/"}, ["guest/a", "guest/b", "guest/c"],
                 id="a prefix keeps only ids starting with it"),
    pytest.param({"prefix": "guest/", "descending": True}, ["guest/c", "guest/b", "guest/a"],
                 id="a prefix in descending order"),
    pytest.param({"prefix": "guest/", "skip": 1, "limit": 1}, ["guest/b"],
                 id="a prefix with skip and limit pages through it"),
    pytest.param({"prefix": "nobody/"}, [], id="a prefix nobody has lists nothing"),
    pytest.param({"limit": 0}, [], id="a zero limit lists nothing"),
    pytest.param({"skip": 5, "limit": 10}, ["other/b"], id="skip and limit page past the end"),
    pytest.param({"filters": {"kind": "python:3"}}, ["guest/a", "guest/c", "other/a"],
                 id="a filter keeps documents whose field equals the value"),
    pytest.param({"filters": {"ns": "guest", "kind": "python:3"}}, ["guest/a", "guest/c"],
                 id="several filters must all hold"),
    pytest.param({"filters": {"kind": "python:3"}, "descending": True, "skip": 1},
                 ["guest/c", "guest/a"], id="a filter in descending order with skip"),
    pytest.param({"filters": {"ns": "guest"}, "prefix": "guest/"},
                 ["guest/a", "guest/b", "guest/c"], id="a filter and a prefix together"),
    pytest.param({"filters": {"publish": True}}, ["guest/a", "other/a"],
                 id="a filter on true"),
    pytest.param({"filters": {"publish": False}}, ["guest/b"],
                 id="a filter on false does not match a missing field"),
    pytest.param({"filters": {"parent": None}}, ["guest/b"],
                 id="a filter on null does not match a missing field"),
    pytest.param({"filters": {"version": 1.0}}, ["other/b"], id="numbers compare by value"),
    pytest.param({"filters": {"version": True}}, [], id="true does not equal 1"),
    pytest.param({"filters": {"version": "1"}}, [], id="a string does not equal a number"),
    pytest.param({"sort": "start"}, ["guest/b", "guest/c", "guestbook", "guest/a", "other/a"],
                 id="a sort orders by the field, ties by id, and leaves out docs without it"),
    pytest.param({"sort": "start", "descending": True},
                 ["other/a", "guest/a", "guestbook", "guest/c", "guest/b"],
                 id="a descending sort puts the newest first, ties by descending id"),
    pytest.param({"sort": "start", "descending": True, "skip": 1, "limit": 2},
                 ["guest/a", "guestbook"], id="a descending sort with skip and limit"),
    pytest.param({"sort": "start", "descending": True, "filters": {"ns": "guest"}},
                 ["guest/a", "guestbook", "guest/c", "guest/b"], id="a sort with a filter"),
    pytest.param({"sort": "start", "prefix": "guest/", "descending": True},
                 ["guest/a", "guest/c", "guest/b"], id="a sort with a prefix"),
    pytest.param({"sort": "start", "filters": {"start": 20}}, ["guest/c", "guestbook"],
                 id="a sort on the field a filter also tests"),
]


@pytest.mark.parametrize("query, expected", LISTINGS)
def test_list_selects_orders_and_pages(store: Store, run: Run[Any], query: dict, expected: list):
    for doc in SEED:
        run(store.put("activations", doc))
    run(store.put("rules", {"_id": "guest/a", "ns": "guest"}))  # another collection: never listed
    listed = run(store.list("activations", **query))
    assert [doc["_id"] for doc in listed] == expected
    by_id = {doc["_id"]: doc for doc in SEED}
    for doc in listed:
        assert REVISION.fullmatch(doc.pop("_rev"))
        assert doc == by_id[doc["_id"]]


@pytest.mark.parametrize("query, expected", [
    case for case in LISTINGS if set(case.values[0]) <= {"prefix", "filters"}
])
def test_count_counts_what_list_selects(store: Store, run: Run[Any], query: dict, expected: list):
    for doc in SEED:
        run(store.put("activations", doc))
    assert run(store.count("activations", **query)) == len(expected)


def test_a_collection_never_written_lists_and_counts_as_empty(store: Store, run: Run[Any]):
    assert run(store.list("artifacts")) == []
    assert run(store.list("artifacts", prefix="a", sort="start", filters={"x": 1})) == []
    assert run(store.count("artifacts")) == 0
    assert run(store.count("artifacts", prefix="a")) == 0


# -- concurrency ------------------------------------------------------------------------------


def _increment(doc: Doc) -> Doc:
    doc["count"] = doc.get("count", 0) + 1
    return doc


def test_concurrent_updates_lose_nothing(store: Store, run: Run[Any]):
    async def fifty_increments() -> list[Doc]:
        return await asyncio.gather(*(
            update(store, "namespaces", "counter", _increment, default={}, retries=200)
            for _ in range(50)
        ))

    results = run(fifty_increments())
    assert run(store.get("namespaces", "counter"))["count"] == 50
    assert sorted(doc["count"] for doc in results) == list(range(1, 51)), \
        "every update saw its own value: none was applied twice or over a stale read"


def test_updates_that_run_out_of_retries_raise_rather_than_vanish(store: Store, run: Run[Any]):
    async def twenty_single_attempts() -> list[Any]:
        return await asyncio.gather(
            *(update(store, "namespaces", "counter", _increment, retries=0) for _ in range(20)),
            return_exceptions=True,
        )

    run(store.put("namespaces", {"_id": "counter", "count": 0}))
    outcomes = run(twenty_single_attempts())
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(failure, Conflict) for failure in failures), failures
    assert run(store.get("namespaces", "counter"))["count"] == len(outcomes) - len(failures)


def test_update_restores_id_and_revision_and_needs_a_default_to_create(store: Store, run: Run[Any]):
    with pytest.raises(NotFound):
        run(update(store, "rules", "r", _increment))

    def tamper(doc: Doc) -> Doc:
        return {"_id": "elsewhere", "_rev": "9-" + "f" * 32, "count": 7}

    created = run(update(store, "rules", "r", tamper, default={"status": "active"}))
    assert created == run(store.get("rules", "r")) == {"_id": "r", "_rev": created["_rev"],
                                                       "count": 7}
    with pytest.raises(NotFound):
        run(store.get("rules", "elsewhere"))


INCREMENTER = """
import asyncio, sys
from edgewhisk_controller.stores import open_store, update

def increment(doc):
    doc["count"] = doc.get("count", 0) + 1
    return doc

async def main(location, n):
    async with open_store(location) as store:
        await store.count("namespaces")  # connected
        print("ready", flush=True)
        sys.stdin.readline()
        await asyncio.gather(*(update(store, "namespaces", "counter", increment, default={},
                                      retries=500) for _ in range(n)))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def test_two_processes_updating_one_document_lose_nothing(
    location: str, store: Store, run: Run[Any]
):
    async def increments(n: int) -> None:
        await asyncio.gather(*(
            update(store, "namespaces", "counter", _increment, default={}, retries=500)
            for _ in range(n)
        ))

    other = subprocess.Popen([sys.executable, "-c", INCREMENTER, location, "30"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline() == "ready\n"
        other.stdin.write("go\n")
        other.stdin.flush()
        run(increments(30))
        assert other.wait(timeout=120) == 0
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert run(store.get("namespaces", "counter"))["count"] == 60


# -- durability and failure -------------------------------------------------------------------


def test_everything_acknowledged_survives_closing_and_reopening(
    location: str, store: Store, run: Run[Any]
):
    revs = {id: run(store.put("actions", {"_id": id, "v": id})) for id in ("a", "b", "c")}
    revs["b"] = run(store.put("actions", {"_id": "b", "_rev": revs["b"], "v": "b2"}))
    run(store.delete("actions", "c", revs.pop("c")))
    run(store.close())

    reopened = open_store(location)
    try:
        assert run(reopened.list("actions")) == [
            {"_id": "a", "_rev": revs["a"], "v": "a"},
            {"_id": "b", "_rev": revs["b"], "v": "b2"},
        ]
    finally:
        run(reopened.close())


def test_a_closed_store_is_unavailable_and_closes_again_quietly(store: Store, run: Run[Any]):
    run(store.put("actions", {"_id": "a"}))
    run(store.close())
    run(store.close())
    with pytest.raises(StoreUnavailable):
        run(store.get("actions", "a"))


@pytest.fixture(params=["sqlite", "couchdb"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A location each backend cannot open: a path under a file, a port nobody listens on."""
    if request.param == "sqlite":
        (tmp_path / "a-file").write_text("not a folder")
        return f"sqlite://{tmp_path}/a-file/store.sqlite3"
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize("call", [
    pytest.param(lambda s: s.get("actions", "a"), id="get"),
    pytest.param(lambda s: s.put("actions", {"_id": "a"}), id="put"),
    pytest.param(lambda s: s.delete("actions", "a", "1-" + "0" * 32), id="delete"),
    pytest.param(lambda s: s.list("actions", sort="start"), id="list"),
    pytest.param(lambda s: s.count("actions", filters={"ns": "guest"}), id="count"),
])
def test_an_unreachable_backend_raises_store_unavailable(
    unreachable: str, run: Run[Any], call: Callable[[Store], Awaitable[Any]]
):
    store = open_store(unreachable)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            run(call(store))
        assert caught.value.__cause__ is not None, "the backend's own error is kept as the cause"
    finally:
        run(store.close())


# -- write_many: the batch every backend takes (group commit). Each write is applied or refused
# on its own, in order, with put's and delete's answers; bad input refuses the whole batch.

def test_a_batch_puts_and_deletes_across_collections_in_order(store: Store, run: Run[Any]):
    async def scenario() -> tuple[list[Any], list[str], list[str]]:
        rev = await store.put("accepted", {"_id": "a1", "n": 1})
        results = await store.write_many([
            Write("activations", {"_id": "a1", "n": 2}),
            Write("accepted", {"_id": "a1", "_rev": rev}, delete=True),
            Write("accepted", {"_id": "a2", "n": 3}),
            Write("activations", {"_id": "a3", "n": 4}),
        ])
        done = [d["_id"] for d in await store.list("activations")]
        left = [d["_id"] for d in await store.list("accepted")]
        return results, done, left

    results, done, left = run(scenario())
    assert REVISION.fullmatch(results[0]) and results[1] is None
    assert REVISION.fullmatch(results[2]) and REVISION.fullmatch(results[3])
    assert done == ["a1", "a3"] and left == ["a2"]


def test_a_refused_write_refuses_only_itself(store: Store, run: Run[Any]):
    async def scenario() -> tuple[list[Any], dict[str, Any]]:
        rev = await store.put("docs", {"_id": "x", "v": 1})
        results = await store.write_many([
            Write("docs", {"_id": "x", "v": 2}),  # exists: a put without _rev conflicts
            Write("docs", {"_id": "y", "v": 1}),
            Write("docs", {"_id": "gone", "_rev": "1-" + "0" * 32}, delete=True),
            Write("docs", {"_id": "x", "_rev": "1-" + "f" * 32}, delete=True),  # stale
            Write("docs", {"_id": "x", "_rev": "not-a-revision", "v": 3}),
            Write("docs", {"_id": "x", "_rev": rev, "v": 4}),
        ])
        return results, await store.get("docs", "x")

    results, x = run(scenario())
    assert isinstance(results[0], Conflict) and REVISION.fullmatch(results[1])
    assert isinstance(results[2], NotFound | Conflict)  # CouchDB cannot tell them apart here
    assert isinstance(results[3], Conflict) and isinstance(results[4], Conflict)
    assert REVISION.fullmatch(results[5]) and x["v"] == 4 and x["_rev"] == results[5]


@pytest.mark.parametrize("write", [
    pytest.param(Write("Bad-Collection", {"_id": "a"}), id="a bad collection name"),
    pytest.param(Write("docs", {"_id": "_design"}), id="a reserved id"),
    pytest.param(Write("docs", {"_id": "a", "v": float("nan")}), id="a body that is not JSON"),
    pytest.param(Write("docs", {"_id": "a"}, delete=True), id="a delete without _rev"),
])
def test_bad_input_refuses_the_whole_batch_and_writes_nothing(
    store: Store, run: Run[Any], write: Write
):
    with pytest.raises(ValueError):
        run(store.write_many([Write("docs", {"_id": "ok"}), write]))
    assert run(store.count("docs")) == 0


def test_an_empty_batch_writes_nothing(store: Store, run: Run[Any]):
    assert run(store.write_many([])) == []


# -- write_many_soon: write_many without waiting (the group commit's call); the outcome comes
# later on the loop, never before the call returns.

async def _soon(store: Store, writes: list[Write]) -> Any:
    """``write_many_soon``'s outcome, checked not to come before the call returned."""
    delivered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    store.write_many_soon(writes, delivered.set_result)
    assert not delivered.done(), "delivered before write_many_soon returned"
    return await delivered


def test_a_batch_without_waiting_gives_write_manys_results(store: Store, run: Run[Any]):
    async def scenario() -> tuple[Any, dict[str, Any]]:
        rev = await store.put("docs", {"_id": "x", "v": 1})
        outcome = await _soon(store, [
            Write("docs", {"_id": "x", "v": 2}),  # exists: a put without _rev conflicts
            Write("docs", {"_id": "y", "v": 1}),
            Write("docs", {"_id": "x", "_rev": rev}, delete=True),
        ])
        return outcome, await store.get("docs", "y")

    outcome, y = run(scenario())
    assert isinstance(outcome[0], Conflict) and REVISION.fullmatch(outcome[1])
    assert outcome[2] is None and y["_rev"] == outcome[1]
    with pytest.raises(NotFound):
        run(store.get("docs", "x"))


@pytest.mark.parametrize("write", [
    pytest.param(Write("Bad-Collection", {"_id": "a"}), id="a bad collection name"),
    pytest.param(Write("docs", {"_id": "a", "v": float("nan")}), id="a body that is not JSON"),
])
def test_bad_input_without_waiting_is_the_batchs_error_and_writes_nothing(
    store: Store, run: Run[Any], write: Write
):
    outcome = run(_soon(store, [Write("docs", {"_id": "ok"}), write]))
    assert isinstance(outcome, ValueError)
    assert run(store.count("docs")) == 0


def test_an_unreachable_backend_without_waiting_is_store_unavailable(unreachable: str,
                                                                     run: Run[Any]):
    store = open_store(unreachable)
    try:
        outcome = run(_soon(store, [Write("docs", {"_id": "a"})]))
        assert isinstance(outcome, StoreUnavailable) and outcome.__cause__ is not None
    finally:
        run(store.close())
