"""The HTTP services the tests and benchmarks start beside a controller: CouchDB's API
(``pouchdb-server``) and S3 (``moto_server``), each a child process on a free loopback port.

Why here: like :class:`~edgewhisk_devkit.Redis`, a service has one launcher, stopped by its pid
(its whole process group: node and moto may start children), with its log kept for a failed
start's :class:`StartError`. Both are ready when they answer HTTP, so they share
:class:`HttpService`'s start loop and differ only in their command line.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import requests

from .exceptions import StartError
from .process import Child

START_TIMEOUT_S = 60.0
POLL_S = 0.2
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_DEFAULT_REGION": "us-east-1"}  # moto takes any key pair

S = TypeVar("S", bound="HttpService")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HttpService:
    """A server on ``127.0.0.1``, ready when ``GET url`` answers; a context manager."""

    name = "service"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.pid = 0  # kept after the stop, for reports
        self.child: Child | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> Mapping[str, str] | None:
        return None

    def start(self: S) -> S:
        """Start it and wait until it answers; :class:`StartError` with its log otherwise."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        child = Child(self.command(), self.folder / f"{self.name}.log", cwd=self.folder,
                      env=self.environment(), own_group=True)
        child.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                requests.get(self.url, timeout=1)
                self.child, self.pid = child, child.pid
                return self
            except (requests.ConnectionError, requests.Timeout):  # not up, or up but slow
                status = child.poll()
                if status is not None or time.monotonic() > deadline:
                    child.stop()
                    what = f"exited with {status}" if status is not None else \
                        f"did not answer in {START_TIMEOUT_S:.0f}s"
                    raise StartError(f"{self.name}: {what} on {self.url}", child.log(),
                                     status) from None
                time.sleep(POLL_S)

    def stop(self) -> int | None:
        """SIGTERM to its group and wait (SIGKILL if it hangs); idempotent."""
        child, self.child = self.child, None
        return None if child is None else child.stop()

    def __enter__(self: S) -> S:
        return self if self.child is not None else self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


class CouchDB(HttpService):
    """CouchDB's API by ``pouchdb-server`` (``npm install --prefix .services pouchdb-server``),
    its data in ``folder``; ``executable`` defaults to the one on PATH."""

    name = "pouchdb-server"

    def __init__(self, folder: Path, executable: Path | str | None = None) -> None:
        super().__init__(folder)
        found = executable or shutil.which("pouchdb-server")
        if found is None:
            raise StartError("pouchdb-server is not installed: run `npm install --prefix "
                             ".services pouchdb-server` in the checkout")
        self.executable = str(found)

    def command(self) -> list[str]:
        # cwd is the folder: pouchdb-server writes config.json and log.txt where it runs.
        return [self.executable, "--host", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.folder / "data")]


class S3(HttpService):
    """S3 by moto's standalone server (the ``moto[server]`` package beside this Python).

    boto3 in this process and in the controllers it starts reads credentials from the
    environment: :meth:`start` sets dummy ones where none are set."""

    name = "moto_server"

    def environment(self) -> Mapping[str, str]:
        return S3_ENV

    def command(self) -> list[str]:
        return [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1",
                "-p", str(self.port)]

    def start(self) -> S3:
        for key, value in S3_ENV.items():
            os.environ.setdefault(key, value)
        return super().start()

    def bucket_url(self, bucket: str) -> str:
        """A controller's ``--blobs`` URL for ``bucket`` on this server."""
        return f"s3://{bucket}?endpoint_url={self.url}"
