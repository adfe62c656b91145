"""A container's window on the invoker's node store: its own ``in/`` and ``out/`` folders.

Why: a warm container must see each run's staged consumes and write its produces, but never
the node store itself (other namespaces' artifacts, the store's index). So each container has
a folder of its own, visible inside at the same path as outside (a bubblewrap bind, a Docker
volume), with two halves:

- ``in/`` — read-only inside. Before a run, each consumed artifact the invoker staged is
  hard-linked into ``in/RUN/`` (a folder artifact file by file; a copy where the store is on
  another file system), and the ``edgewhisk`` /run field is rewritten to those paths. Being
  read-only inside, neither the files nor their modes can be changed through the links.
- ``out/`` — writable. The run's produce root becomes ``out/RUN/``; after the run what the
  action saved there is moved into the invoker's own produce root and the result's
  ``location``s are rewritten to match, so the invoker's ``collect`` works as before.

``RUN``'s folders are removed after the run, whatever happened. The node store stays the
invoker's: nothing in it is ever bound into a container.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from edgewhisk_runtime.artifacts.stage import STAGED_FIELD, location_path
from edgewhisk_runtime.containers.interface import RunReply

Post = Callable[[Mapping[str, Any]], Awaitable[RunReply]]


class Exchange:
    """The ``in/`` and ``out/`` folders of one container under ``root`` (created here)."""

    def __init__(self, root: Path) -> None:
        self.inbox = root / "in"
        self.outbox = root / "out"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.outbox.mkdir(parents=True, exist_ok=True)

    async def run(self, payload: Mapping[str, Any], post: Post) -> RunReply:
        """``post(payload)`` with the staged paths moved into this container's folders."""
        staged = _staged(payload.get(STAGED_FIELD))
        if staged is None:  # nothing staged, or malformed: the proxy answers the latter
            return await post(payload)
        run = uuid.uuid4().hex[:16]
        inbox, outbox = self.inbox / run, self.outbox / run
        try:
            local = await asyncio.to_thread(_localize, staged, inbox, outbox)
            reply = await post({**payload, STAGED_FIELD: json.dumps(local)})
            root = staged.get("produce_root")
            if isinstance(root, str):
                await asyncio.to_thread(_bring_back, outbox, Path(root), reply.body)
            return reply
        finally:
            await asyncio.to_thread(_remove, inbox, outbox)


def _staged(raw: Any) -> dict[str, Any] | None:
    try:
        staged = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if not isinstance(staged, dict) or not isinstance(staged.get("consumes", {}), dict):
        return None
    return staged


def _localize(staged: dict[str, Any], inbox: Path, outbox: Path) -> dict[str, Any]:
    """The field with each consume linked into ``inbox`` and the produce root ``outbox``."""
    inbox.mkdir()
    consumes = {}
    for index, (name, item) in enumerate(staged.get("consumes", {}).items()):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            consumes[name] = item  # the proxy refuses the field, naming it
            continue
        dest = inbox / str(index)
        _link(Path(item["path"]), dest)
        consumes[name] = {**item, "path": str(dest)}
    local = {**staged, "consumes": consumes}
    if isinstance(staged.get("produce_root"), str):
        outbox.mkdir()
        # Writable by the container's user whoever it is (an image's own user, not the
        # invoker's); no one else can reach it: the work folder above is the invoker's only.
        outbox.chmod(0o777)
        local["produce_root"] = str(outbox)
    return local


def _link(source: Path, dest: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True, copy_function=_link_file)
    else:
        _link_file(source, dest)


def _link_file(source: str | Path, dest: str | Path) -> None:
    """A hard link (instant, no bytes copied), or a copy across file systems."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _bring_back(outbox: Path, produce_root: Path, body: Any) -> None:
    """Move what the run saved into the invoker's produce root; rewrite the locations."""
    if not outbox.is_dir():
        return
    produce_root.mkdir(parents=True, exist_ok=True)
    for child in outbox.iterdir():
        shutil.move(child, produce_root / child.name)
    if not isinstance(body, dict):
        return
    for value in body.values():
        reference = value.get("artifact") if isinstance(value, dict) else None
        location = reference.get("location") if isinstance(reference, dict) else None
        if not isinstance(location, str):
            continue
        try:
            relative = location_path(location).relative_to(outbox)
        except ValueError:
            continue  # not saved by this run: the invoker refuses it, naming it
        assert isinstance(reference, dict)
        reference["location"] = (produce_root / relative).as_uri()


def _remove(*folders: Path) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
