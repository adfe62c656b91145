"""Composer's own ``compose`` and ``deploy`` against the controller, unmodified: ``deploy``
creates the conductor action through the REST API, and invoking it runs the composition
(docs/openwhisk-contract.md, section 5) with its components' activations listed in the
primary's logs."""

from __future__ import annotations

from pathlib import Path

from .harness import Client, Controller, composer, create_action

FLOW = Path(__file__).resolve().parent / "js" / "flow.js"


def test_deploy_creates_a_conductor_that_runs_the_composition(
    controller: Controller, guest: Client, tmp_path: Path
) -> None:
    create_action(guest, "inc", "def main(args):\n    return {'n': args.get('n', 0) + 1}\n")
    create_action(guest, "dbl", "def main(args):\n    return {'n': args['n'] * 2}\n")
    (tmp_path / "flow.json").write_text(composer("compose", str(FLOW), cwd=tmp_path))
    composer("deploy", "flow", "flow.json", "-w", "--apihost", controller.api_host,
              "-u", controller.auth, cwd=tmp_path)
    conductor = guest.request("GET", "actions/flow").json()
    assert conductor["exec"]["kind"] == "nodejs:default"
    annotations = {a["key"]: a["value"] for a in conductor["annotations"]}
    assert annotations["conductor"]["type"] == "sequence"  # truthy: the composition itself
    assert annotations["provide-api-key"] is True  # deploy's own, not our default
    response = guest.request("POST", "actions/flow?blocking=true", json={"n": 1})
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["response"]["result"] == {"n": 5}  # ((1 + 1) * 2) + 1
    assert len(record["logs"]) == 7  # 3 components and 2n+1 = 4 conductor runs
    components = [guest.request("GET", f"activations/{i}").json() for i in record["logs"]]
    assert [c["name"] for c in components if c["name"] != "flow"] == ["inc", "dbl", "inc"]
    assert all(c["cause"] == record["activationId"] for c in components)
