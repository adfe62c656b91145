"""Artifacts: ``artifacts[/{name}[@{version}]]`` — the registry over REST.

Uploads stream from a file object (never whole in memory); a ``local`` or ``network:``
artifact is registered by its metadata only (no body: its bytes never leave the device).
Downloads stream into a temporary file beside the target, are checked against the
``X-Edgewhisk-Sha256`` the controller sends, and only then renamed into place; ``progress``
is called with (bytes so far, total) after every chunk, for callers that show it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from .exceptions import DigestMismatch
from .transport import Transport

CHUNK = 1024 * 1024
Progress = Callable[[int, int], None]


def _path(ref: str, part: str = "") -> str:
    return f"artifacts/{quote(ref, safe='/@')}{part}"


class Upload:
    """A request body of known size streamed from ``chunks``, reporting ``progress``.

    Why sized: ``requests`` sends a sized iterable with ``Content-Length`` (not chunked), so
    the controller can refuse an upload over its limit before reading it."""

    def __init__(self, chunks: Iterable[bytes], size: int,
                 progress: Progress | None = None) -> None:
        self.chunks = chunks
        self.size = size
        self.progress = progress

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.chunks:
            sent += len(chunk)
            if self.progress is not None:
                self.progress(sent, self.size)
            yield chunk


@dataclass(frozen=True)
class Downloaded:
    """What :meth:`Artifacts.download` wrote: the version the controller served."""

    name: str
    version: int | str
    size: int
    sha256: str
    file: Path


class Artifacts:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def preload_policies(self, name: str) -> list[dict[str, Any]]:
        """``name``'s standing policies (and the predictor's), each with its recent decisions."""
        return list(self.transport.json("GET", _path(name, "/preload-policies")))

    def list(self, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Versions, newest first; ``filters``: kind, name, type, trained_on, locality, owner
        (None values are left out)."""
        params = {k: v for k, v in {**filters, "limit": limit}.items() if v is not None}
        return list(self.transport.json("GET", "artifacts", params=params))

    def get(self, ref: str) -> dict[str, Any]:
        """``NAME`` (the latest version) or ``NAME@VERSION``: its metadata."""
        return dict(self.transport.json("GET", _path(ref)))

    def put(self, name: str, content: IO[bytes] | bytes | Upload | None = None,
            **params: Any) -> dict[str, Any]:
        """A new version of ``name``: ``content`` (a file object or an :class:`Upload` is
        streamed), or none for a
        device-held artifact (then ``size`` and ``held_by``). ``params`` are the query
        parameters (``kind``, ``format``, ``locality``, ``sha256``...; dicts as JSON)."""
        query = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()
                 if v is not None}
        return dict(self.transport.json("PUT", _path(name), params=query, data=content))

    def delete(self, ref: str) -> dict[str, Any]:
        return dict(self.transport.json("DELETE", _path(ref)))

    def preload(self, ref: str, devices: dict[str, Any]) -> dict[str, Any]:
        """Push a ``cloud`` version to the invokers the device selector picks."""
        return dict(self.transport.json("POST", _path(ref, "/preload"),
                                        json={"devices": devices}))

    def add_preload_policy(self, name: str, devices: dict[str, Any]) -> dict[str, Any]:
        """A standing preload policy: ``name``'s latest cloud version kept on the devices the
        selector picks, re-evaluated as they register and report context; the answer holds
        the policy's ``id`` and what it ``applied`` at once."""
        return dict(self.transport.json("POST", _path(name, "/preload-policies"),
                                        json={"devices": devices}))

    def delete_preload_policy(self, name: str, policy_id: str) -> dict[str, Any]:
        return dict(self.transport.json(
            "DELETE", _path(name, f"/preload-policies/{quote(policy_id, safe='')}")))

    def download(self, ref: str, output: Path, progress: Progress | None = None) -> Downloaded:
        """The bytes of ``ref`` into ``output`` (written only if their sha256 holds)."""
        response = self.transport.call("GET", _path(ref, "/content"), stream=True)
        with response:
            expected = response.headers.get("X-Edgewhisk-Sha256", "")
            total = int(response.headers.get("Content-Length", 0))
            version = response.headers.get("X-Edgewhisk-Version", "?")
            written = save(response.iter_content(CHUNK), output, expected, total, progress)
        return Downloaded(ref.partition("@")[0], int(version) if version.isdigit() else version,
                          written, expected, output)


def save(chunks: Iterable[bytes], output: Path, expected: str, total: int = 0,
         progress: Progress | None = None) -> int:
    """Stream ``chunks`` into a temporary file beside ``output`` and rename it into place only
    if their sha256 is ``expected`` (``""``: not checked); the bytes written."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    digest, written = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(written, total)
        if expected and digest.hexdigest() != expected:
            raise DigestMismatch(f"the download has sha256 {digest.hexdigest()}, not "
                                 f"{expected}; {output} was not written")
        os.replace(tmp_name, output)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return written
