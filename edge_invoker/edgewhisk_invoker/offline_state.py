"""What a device keeps on disk to work cut off: action copies, records not yet synced, waiting work.

Why SQLite (the standard library's) in one file, ``--offline-dir DIR/offline.sqlite3``: every
write is one transaction that survives a killed agent or a power cut (``synchronous=FULL``), so
a record the local API answered for is never lost, and a record is deleted only after the
controller confirmed it (``offline.synced``). Rows hold the tunnel's own frames, encoded and
decoded by ``edgewhisk_tunnel`` (the one schema): a copy is the ``offline.action`` the
controller sent, a record the ``offline.record`` the device will send, a waiting activation the
invoke (action name and parameters) it will run once the device joins the network it waits for.

Activation ids made here are ``uuid4().hex``: 32 lowercase hex characters, OpenWhisk's own
shape, 122 bits from the operating system's random source. Two devices (or a device and the
controller, which makes its ids the same way) collide with probability about n²/2¹²³ — for a
fleet making a billion ids, below 10⁻¹⁹ — so ids need no coordination, which a device cut off
cannot have. The controller stores a record under its id with a create-only write, so even a
collision could never overwrite a record: it would be reported, not merged.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edgewhisk_json
from edgewhisk_tunnel import OfflineAction, OfflineRecord, decode, encode

DB_NAME = "offline.sqlite3"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS actions (name TEXT PRIMARY KEY, version TEXT, frame TEXT)",
    "CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "activation_id TEXT UNIQUE, frame TEXT)",
    "CREATE TABLE IF NOT EXISTS waiting (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "activation_id TEXT UNIQUE, network TEXT, name TEXT, params TEXT, created_ms INTEGER)",
)


def new_activation_id() -> str:
    """A device-made activation id (see the module's docstring for why it cannot collide)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Waiting:
    """An activation that waits for the device to join ``network``."""

    activation_id: str
    network: str
    name: str
    params: dict[str, Any]
    created_ms: int


class OfflineState:
    """The device's durable offline state (one connection; the agent's loop is its only user)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = folder / DB_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        for statement in SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- action copies ---------------------------------------------------------------------------

    def keep_action(self, action: OfflineAction) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO actions VALUES (?, ?, ?)",
                       (action.name, action.version, encode(action)))

    def keep_only(self, names: tuple[str, ...]) -> list[str]:
        """Drop every copy not in ``names``; the names dropped."""
        with self._transaction() as db:
            held = [row[0] for row in db.execute("SELECT name FROM actions")]
            gone = [name for name in held if name not in names]
            db.executemany("DELETE FROM actions WHERE name = ?", [(n,) for n in gone])
        return gone

    def action(self, name: str) -> OfflineAction | None:
        row = self._db.execute("SELECT frame FROM actions WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        message = decode(row[0])
        return message if isinstance(message, OfflineAction) else None

    def action_names(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT name FROM actions ORDER BY name")]

    # -- records to sync -------------------------------------------------------------------------

    def add_record(self, record: OfflineRecord) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO records (activation_id, frame) VALUES (?, ?)",
                       (record.activation_id, encode(record)))

    def records(self, limit: int | None = None) -> list[OfflineRecord]:
        """Records not confirmed yet, oldest first."""
        query = "SELECT frame FROM records ORDER BY seq"
        rows = self._db.execute(query + (f" LIMIT {int(limit)}" if limit else ""))
        return [m for (frame,) in rows if isinstance(m := decode(frame), OfflineRecord)]

    def synced(self, activation_ids: tuple[str, ...]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM records WHERE activation_id = ?",
                           [(a,) for a in activation_ids])

    def unsynced(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    # -- work waiting for a network --------------------------------------------------------------

    def add_waiting(self, item: Waiting) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO waiting (activation_id, network, name, params, created_ms) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (item.activation_id, item.network, item.name,
                        edgewhisk_json.dumps(item.params), item.created_ms))

    def waiting(self) -> list[Waiting]:
        with closing(self._db.execute("SELECT activation_id, network, name, params, created_ms "
                                      "FROM waiting ORDER BY seq")) as rows:
            return [Waiting(a, n, name, edgewhisk_json.loads(p), c)
                    for a, n, name, p, c in rows]

    def done_waiting(self, activation_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM waiting WHERE activation_id = ?", (activation_id,))
