"""Through the API, an activation's record is there as soon as its blocking answer is (the
dispatcher writes it behind the answer; every activation read waits for pending writes)."""

from __future__ import annotations

from .harness import Client, create_action

CODE = "def main(args):\n    return {'n': args.get('n')}\n"


def test_right_after_each_blocking_answer_get_and_list_find_its_record(guest: Client) -> None:
    create_action(guest, "behind", CODE)
    for n in range(30):
        answer = guest.request("POST", "actions/behind?blocking=true", json={"n": n})
        assert answer.status_code == 200, answer.text
        record = answer.json()
        got = guest.request("GET", f"activations/{record['activationId']}")
        assert got.status_code == 200 and got.json() == record
        newest = guest.request("GET", "activations", params={"name": "behind", "limit": 1}).json()
        assert [a["activationId"] for a in newest] == [record["activationId"]]
    count = guest.request("GET", "activations", params={"name": "behind", "count": "true"}).json()
    assert count == {"activations": 30}
