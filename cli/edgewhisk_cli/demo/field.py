"""``edgewhisk demo field-technician``: two tablets, one goes out of coverage and keeps working.

The paper's second use case, end to end through the embedded controller (one local invoker:
the cloud) and two ``edgewhisk invoker`` agents, ``tablet-1`` and ``tablet-2``, each behind a
TCP relay the demo cuts (``edgewhisk_devkit.Relay``: the uplink), each with its node store,
its ``--offline-dir`` and its local invoke API on a unix socket, the app's only door:

1. deploy   ``train``, ``retrain``, ``classify`` (``policy.fn(node="edge", strict=True)``:
            on a tablet, never in the cloud; ``policy.offline()``) and ``upload``
            (``policy.offline()`` + ``policy.data(network=["corp"], strict=True)``, producing
            the ``field-photos`` artifact); the controller sends every tablet its copies of
            classify and upload
2. train    the CNN in the cloud on the seeded photos: ``equipment-model@1`` (held-out
            accuracy), preloaded to both tablets (a plain preload: the standing preload
            policies of the context work are not used here)
3. online   each tablet classifies a photo through its local API: forwarded to the controller,
            which places it on the tablet that asked (the agent names itself in
            ``X-Edgewhisk-Asking-Device``; classify's device policy allows either tablet)
4. cut      tablet-2's uplink is cut; it classifies photos on its own (records made on the
            tablet: its id, ``offline: true``) and queues an upload of the labelled photos,
            which waits on the tablet: it is not on ``corp``
5. back     the uplink returns; every offline record syncs, once; the upload still waits
6. corp     tablet-2 joins ``corp`` (its networks file); the upload runs on the tablet and
            makes ``field-photos``, kept there until its record synced: then registered
            (``field-photos@1``, ``created_by`` the tablet's activation) and its bytes uploaded
            (the blob store's access log: not one byte before the tablet joined ``corp``)
7. retrain  the cloud retrains with them (``retrain`` consumes ``field-photos``):
            ``equipment-model@2``, preloaded back

It prints one row per step, and exits 0 (1 with the failing step and its logs).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgewhisk_client import Client, LocalClient
from edgewhisk_devkit import Agent, Controller, Relay

from ..action import python_action
from .calls import DemoError, answering, invoke
from .report import Row

TABLETS = ("tablet-1", "tablet-2")
OFFLINE_PHOTOS = 6
WAIT_S = 60.0


def _wait(check: Callable[[], Any], what: str, log: Callable[[], str]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not (value := check()):
        if time.monotonic() > deadline:
            raise DemoError(f"{what}: not within {WAIT_S:.0f} s", log())
        time.sleep(0.1)
    return value


class Tablet:
    """One tablet: its agent behind its relay, its local API, its networks file."""

    def __init__(self, tablet_id: str, client: Client, folder: Path, api_key: str) -> None:
        self.id = tablet_id
        self.relay = Relay(int(client.api_host.rsplit(":", 1)[1])).start()
        self.folder = folder / tablet_id
        self.folder.mkdir(parents=True, exist_ok=True)
        self.networks = self.folder / "networks"
        self.networks.write_text("4g\n")
        token = str(client.tokens.create(tablet_id)["token"])
        self.agent = Agent(self.relay.url, token, "--no-battery", "--backoff-cap", "0.5",
                           "--label", "fleet=field",
                           "--store", str(self.folder / "store"), "--offline-dir",
                           str(self.folder / "offline"), "--local-api",
                           str(self.folder / "local.sock"), "--api-key", api_key,
                           "--networks-file", str(self.networks), "--context-interval", "0.2",
                           id=tablet_id, log=self.folder / "agent.log", own_group=True)

    def start(self) -> None:
        self.agent.start().wait_registered()
        key = (self.folder / "offline" / "local.key").read_text().strip()
        self.app = LocalClient(key, socket_path=str(self.folder / "local.sock"))

    def stop(self) -> None:
        self.agent.stop()
        self.relay.stop()


def run_scene(examples: Path, data: Path, log: Path) -> list[Row]:
    """Start everything, run the seven steps, stop everything by pid (also on failure)."""
    import sys

    sys.path.insert(0, str(examples))
    import equipment

    rows: list[Row] = []
    controller = Controller(data, "--invokers", "1", log=log)
    tablets: list[Tablet] = []
    with controller, controller.client() as client:
        try:
            tablets = [Tablet(t, client, log.parent, controller.auth) for t in TABLETS]
            for tablet in tablets:
                tablet.start()
            scene = _Scene(client, controller, tablets, examples, equipment, rows)
            scene.run()
        finally:
            for tablet in tablets:
                tablet.stop()
    return rows


class _Scene:
    def __init__(self, client: Client, controller: Controller, tablets: list[Tablet],
                 examples: Path, equipment: Any, rows: list[Row]) -> None:
        self.client, self.controller, self.tablets = client, controller, tablets
        self.examples, self.equipment, self.rows = examples, equipment, rows
        self.started = time.perf_counter()

    def row(self, step: str, user: str, result: str, artifact: str = "-",
            accuracy: str = "-") -> None:
        self.rows.append(Row(step, user, artifact, accuracy=accuracy, result=result,
                             time=f"{time.perf_counter() - self.started:.1f}s"))

    def run(self) -> None:
        log = self.controller.log
        include = [self.examples / "equipment.py"]
        with answering("deploy", log):
            for name in ("train", "retrain", "classify", "upload"):
                self.client.actions.put(name, python_action(
                    name, self.examples / f"{name}.py", include))
        for tablet in self.tablets:
            _wait(functools.partial(_logged, tablet, "keeping guest/upload"),
                  f"{tablet.id} keeps its copies", tablet.agent.log)
        self.row("deploy", "-", "train, retrain, classify (policy.fn edge strict, "
                 "policy.offline), upload (policy.offline, policy.data corp strict); copies "
                 "kept by both tablets")
        self.train("train", {"seed": 0})
        photos, states = self.equipment.photos(OFFLINE_PHOTOS + 2, seed=5)
        for tablet, photo in zip(self.tablets, photos[:2], strict=True):
            answer = tablet.app.invoke("classify", {"pixels": self.equipment.as_list(photo)})
            self.check(answer, 200, f"{tablet.id} classifies online")
            self.row("online", tablet.id, f"{answer.body['response']['result']['state']}: "
                     f"forwarded, ran on {_annotation(answer.body, 'invoker')}")
        self.offline(self.tablets[1], photos[2:], states[2:])

    def offline(self, tablet: Tablet, photos: Any, states: Any) -> None:
        tablet.relay.refusing = True
        tablet.relay.cut()
        _wait(lambda: "tunnel to" in tablet.agent.log(), "the cut is noticed", tablet.agent.log)
        ids, labelled = [], []
        for photo, state in zip(photos, states, strict=True):
            answer = tablet.app.invoke("classify", {"pixels": self.equipment.as_list(photo)})
            self.check(answer, 200, f"{tablet.id} classifies offline")
            ids.append(str(answer.activation_id))
            labelled.append({"pixels": self.equipment.as_list(photo),
                             "state": self.equipment.STATES[int(state)]})
        self.row("cut", tablet.id, f"{len(ids)} photos classified with the uplink cut "
                 f"(records made on the tablet, offline: true)")
        upload = tablet.app.invoke("upload", {"photos": labelled})
        self.check(upload, 202, "the upload waits")
        upload_id = str(upload.activation_id)
        self.row("cut", tablet.id, f"upload {upload_id[:8]} of {len(labelled)} "
                 "photos waits on the tablet (not on corp)")
        tablet.relay.refusing = False
        synced = _wait(lambda: self.synced(ids), "the offline records sync", tablet.agent.log)
        self.made_on(tablet.id, ids)
        assert self.record(upload_id) is None
        self.row("back", tablet.id, f"uplink back: {synced}/{len(ids)} offline records "
                 f"stored once by the controller; the upload still waits")
        joined = time.time()
        tablet.networks.write_text("4g\ncorp\n")
        record = _wait(lambda: self.record(upload_id), "the upload on corp",
                       tablet.agent.log)
        photos_ref = self.uploaded(record, joined)
        self.row("corp", tablet.id, f"joined corp: the upload ran on the tablet "
                 f"({record['response']['result']['count']} photos); its artifact registered "
                 f"once synced, then uploaded (no byte before corp)", artifact=photos_ref)
        self.train("retrain", {"seed": 1})

    def uploaded(self, record: dict[str, Any], joined: float) -> str:
        """The field photos' version, once its bytes reached the cloud store: made by the
        upload's activation, and no byte of it in the blob store before ``joined``."""
        reference = record["response"]["result"]["photos"]["artifact"]
        ref = f"{reference['name']}@{reference['version']}"
        doc = _wait(lambda: (d := self.client.artifacts.get(ref)) and "cloud" in d["copies"]
                    and d, f"{ref} uploaded", self.controller.log)
        if doc["created_by"] != record["activationId"]:
            raise DemoError(f"{ref} was made by {doc['created_by']}, not the upload")
        puts = [e for e in _blob_log(self.controller) if e.get("op") == "put"
                and e.get("key", "").endswith(f"/{ref}")]
        if not puts or min(float(e["ts"]) for e in puts) < joined:
            raise DemoError(f"{ref}: bytes in the cloud store before the tablet joined corp: "
                            f"{puts}")
        return ref

    def train(self, step: str, params: dict[str, Any]) -> None:
        done = invoke(self.client, step, params, step, self.controller.log)
        result = done.result
        with answering(f"{step}: preload", self.controller.log):
            ref = f"equipment-model@{self.client.artifacts.get('equipment-model')['version']}"
            self.client.artifacts.preload(ref, {"labels": {"fleet": "field"}})
            _wait(lambda: set(TABLETS) <= set(self.client.artifacts.get(ref)["copies"]),
                  f"{ref} on both tablets", self.controller.log)
        self.row(step, "cloud", f"{result['samples']['train']} photos "
                 f"({result['samples']['field']} from the field), preloaded to both tablets",
                 artifact=ref, accuracy=str(result["accuracy"]))

    def synced(self, ids: list[str]) -> int:
        stored = [aid for aid in ids if self.record(aid) is not None]
        return len(stored) if len(stored) == len(ids) else 0

    def made_on(self, tablet: str, ids: list[str]) -> None:
        """Each offline record names the tablet as its invoker and says ``offline: true``
        (classify ran there, by its offline policy, with no placement by the controller)."""
        for aid in ids:
            record = self.record(aid) or {}
            where = (_annotation(record, "invoker"), _annotation(record, "offline"))
            if where != (tablet, True):
                raise DemoError(f"offline classify {aid}: invoker {where[0]}, offline "
                                f"{where[1]}; expected {tablet}, true")

    def record(self, activation_id: str) -> dict[str, Any] | None:
        answer = self.client.request("GET", f"activations/{activation_id}")
        return dict(answer.json()) if answer.status_code == 200 else None

    def check(self, answer: Any, status: int, what: str) -> None:
        if answer.status != status:
            raise DemoError(f"{what}: HTTP {answer.status}: {answer.body}")


def _blob_log(controller: Controller) -> list[dict[str, Any]]:
    """The controller's blob store access log (one JSON object a line)."""
    path = controller.data / "blobs-access.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _logged(tablet: Tablet, text: str) -> bool:
    return text in tablet.agent.log()


def _annotation(record: dict[str, Any], key: str) -> Any:
    return next((a["value"] for a in record.get("annotations", []) if a["key"] == key), None)
