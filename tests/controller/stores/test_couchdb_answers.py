"""``_bulk_docs``' answers matched to the documents sent by id, not by position.

pouchdb-server groups the answers of an id written twice in one batch (a put, then a delete
of it); matched by position, the second write of that id took the next document's answer (the
store contract's batch test failed about one run in five). These cases are the answer orders a
server may give; the contract suite runs the same batches against pouchdb-server itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_controller.stores.couchdb import _in_order
from edgewhisk_controller.stores.exceptions import StoreError

DOCS: list[dict[str, Any]] = [{"_id": "x", "v": 2}, {"_id": "y", "v": 1},
                              {"_id": "x", "_rev": "1-a", "_deleted": True}]
CONFLICT = {"id": "x", "error": "conflict", "reason": "Document update conflict"}
Y = {"id": "y", "ok": True, "rev": "1-y"}
X_GONE = {"id": "x", "ok": True, "rev": "2-x"}


@pytest.mark.parametrize("answers", [
    pytest.param([CONFLICT, Y, X_GONE], id="in the order sent (CouchDB)"),
    pytest.param([CONFLICT, X_GONE, Y], id="grouped by id (pouchdb-server)"),
    pytest.param([Y, CONFLICT, X_GONE], id="any order, one id's answers in its order"),
])
def test_each_document_gets_its_own_answer(answers: list[dict[str, Any]]) -> None:
    assert _in_order(DOCS, answers) == [CONFLICT, Y, X_GONE]


@pytest.mark.parametrize("answers", [
    pytest.param([CONFLICT, Y], id="fewer answers than documents"),
    pytest.param([CONFLICT, Y, {"id": "z", "ok": True, "rev": "1-z"}], id="another document"),
    pytest.param({"error": "bad_request"}, id="not a list"),
])
def test_answers_that_do_not_match_the_batch_are_a_store_error(answers: Any) -> None:
    with pytest.raises(StoreError, match="_bulk_docs answered"):
        _in_order(DOCS, answers)
