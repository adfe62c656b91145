"""The demo's artifact tables: what the registry holds, and where the bytes went.

Why two sources: the registry (``GET .../artifacts``) says what exists — each version's kind,
locality, size, sha256, the activation that created it, which stores hold a copy, its status
(``gated`` when a gate held it back) and its gate verdicts — but a
registry is metadata; it cannot show that a ``local`` artifact's bytes never left its device.
The access logs can: every node store (``STORE/access.log``) and the controller's blob store
(``DATA/blobs-access.log``) append one JSON line per put/get/evict/remove with the blob's
sha256. Reading them back, artifact by artifact, shows where each one's bytes were written,
and :func:`verdicts` says in one line per artifact whether that matches its locality.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..artifact import verdicts_cell
from .report import ActivationRow, size

BLOB_STORE = "blob-store"  # the controller's (its ``copies`` name is "cloud"); one word


@dataclass
class ArtifactRow:
    """One registry version: where it may live, where copies are, what made it."""

    artifact: str
    kind: str
    locality: str
    copies: str
    size: str
    sha256: str
    created_by: str
    status: str  # ok, or gated: held back by a validator gate
    gates: str  # its verdicts (at production; a drift gate's firings on it)


@dataclass
class BytesRow:
    """What one store did with one artifact's bytes, from its access log."""

    store: str
    artifact: str
    ops: str
    size: str
    sha256: str


def read_log(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of an access log (none if the store never wrote one)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def in_order(docs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Registry versions oldest first (the order both tables and the verdicts use)."""
    return sorted(docs, key=lambda d: (d.get("created") or 0, d["name"], d["version"]))


def artifact_rows(docs: Iterable[Mapping[str, Any]],
                  activations: Iterable[ActivationRow]) -> list[ArtifactRow]:
    """A row per registry version, oldest first; ``created_by`` as the demo step that ran it."""
    steps = {a.activation: f"{a.step} {a.user}".replace(" -", "") for a in activations}
    rows = []
    for doc in in_order(docs):
        made = str(doc.get("created_by") or "-")
        rows.append(ArtifactRow(
            f"{doc['name']}@{doc['version']}", doc["kind"], doc["locality"],
            ",".join(doc.get("copies") or []) or "-", size(int(doc.get("size") or 0)),
            str(doc.get("sha256") or "-")[:12],
            f"{steps.get(made, '?')} ({made[:8]})" if made != "-" else "-",
            str(doc.get("status") or "ok"), verdicts_cell(doc.get("gates") or [])))
    return rows


def _name(key: str) -> str:
    """``guest/u1/glucose@1`` (a store key) -> ``u1/glucose@1``."""
    return key.partition("/")[2] or key


def _ops(lines: list[dict[str, Any]]) -> str:
    counts = Counter(line["op"] for line in lines)
    return ", ".join(op if n == 1 else f"{op} x{n}" for op, n in counts.items())


def byte_rows(logs: Mapping[str, Path]) -> list[BytesRow]:
    """A row per (store, artifact) that the store's access log mentions, in log order."""
    rows = []
    for store, path in logs.items():
        by_key: dict[str, list[dict[str, Any]]] = {}
        for line in read_log(path):
            by_key.setdefault(line["key"], []).append(line)
        for key, lines in by_key.items():
            rows.append(BytesRow(store, _name(key), _ops(lines), size(int(lines[0]["size"])),
                                 str(lines[0]["sha256"])[:12]))
    return rows


def holders(logs: Mapping[str, Path]) -> dict[str, set[str]]:
    """sha256 -> the stores whose log shows those bytes written (``put``) into them."""
    held: dict[str, set[str]] = {}
    for store, path in logs.items():
        for line in read_log(path):
            if line["op"] == "put":
                held.setdefault(line["sha256"], set()).add(store)
    return held


def verdicts(docs: Iterable[Mapping[str, Any]], logs: Mapping[str, Path]) -> list[str]:
    """One sentence per artifact version: which stores its bytes were written to, and whether
    that is what its locality allows (a ``local`` one: only the device that holds it)."""
    held = holders(logs)
    lines = []
    for doc in in_order(docs):
        name = f"{doc['name']}@{doc['version']}"
        stores = sorted(held.get(str(doc.get("sha256")), set()))
        where = ", ".join(stores)
        if not stores:
            lines.append(f"{name} ({doc['locality']}): no access log shows its bytes")
        elif doc["locality"] == "local":
            origin = set(doc.get("copies") or [])
            ok = len(stores) == 1 and set(stores) <= origin
            lines.append(f"{name} (local): bytes written only to {where}: never left it" if ok
                         else f"{name} (local): bytes written to {where}: LEFT ITS DEVICE")
        else:
            lines.append(f"{name} ({doc['locality']}): bytes written to {where}")
    return lines
