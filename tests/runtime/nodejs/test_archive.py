"""Zipped Node.js actions: how they load (upstream's rules) and what is refused (ours).

Refusals mirror the Python runtime's archive rules (edgewhisk_runtime/archive.py): absolute
names, '..', links leaving the action folder, too many entries or bytes (also when a header
lies), other archive formats; a refused archive leaves nothing on disk and the container
can still be initialized with a good one.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .. import client
from .conftest import ProxyFactory

Entries = dict[str, str | bytes]
HANDLER = "exports.main = args => ({ greeting: require('./lib/greet')(args.name) })\n"
GREET = "module.exports = name => `hello ${name}`\n"


def zip_bytes(entries: Entries, links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def lying_bomb() -> bytes:
    """10 MB of zeros whose headers claim 100 bytes."""
    data = bytearray(zip_bytes({"index.js": b"\0" * 10_000_000}))
    central = data.index(b"PK\x01\x02")
    data[central + 24:central + 28] = (100).to_bytes(4, "little")
    data[22:26] = (100).to_bytes(4, "little")  # the local header's copy
    return bytes(data)


def tar_gz() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        info = tarfile.TarInfo("index.js")
        payload = b"exports.main = () => ({})\n"
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def unsafe(reason: str) -> Callable[[Any], bool]:
    return lambda body: body["error"].startswith("invalid action: unsafe zip archive") and \
        reason in body["error"]


@dataclass
class Loads:
    id: str
    entries: Entries
    value: Any = field(default_factory=lambda: {"name": "zip"})
    expected: Any = field(default_factory=lambda: {"greeting": "hello zip"})
    main: str | None = None
    links: dict[str, str] = field(default_factory=dict)


LOADS = [
    Loads("an index.js with a helper module loads",
          {"index.js": HANDLER, "lib/greet.js": GREET}),
    Loads("package.json main names the module to load",
          {"package.json": json.dumps({"name": "a", "main": "src/handler.js"}),
           "src/handler.js": HANDLER.replace("./lib/greet", "../lib/greet"),
           "lib/greet.js": GREET}),
    Loads("node_modules inside the archive are required",
          {"index.js": "exports.main = a => ({ greeting: require('greeter')(a.name) })",
           "node_modules/greeter/index.js": GREET}),
    Loads("the action folder is the working directory, so relative data files are read",
          {"index.js": "exports.main = () => "
                       "({ data: require('fs').readFileSync('d.txt', 'utf8') })",
           "d.txt": "payload"}, expected={"data": "payload"}),
    Loads("main 'file.fn' loads fn from file without an index.js",
          {"handlers.js": "exports.hello = a => ({ greeting: 'hi ' + a.name })"},
          main="handlers.hello", expected={"greeting": "hi zip"}),
    Loads("a link inside the action folder is kept",
          {"lib/greet.js": GREET, "real.js": HANDLER}, links={"index.js": "real.js"}),
]


@pytest.mark.parametrize("case", LOADS, ids=[c.id for c in LOADS])
def test_zipped_actions_load(case: Loads, node_proxy: ProxyFactory) -> None:
    proxy = node_proxy()
    value = {"code": b64(zip_bytes(case.entries, case.links)), "binary": True}
    if case.main:
        value["main"] = case.main
    assert client.init(proxy.url, value) == (200, {"ok": True}), proxy.stderr()
    assert client.run(proxy.url, case.value) == (200, case.expected), proxy.stderr()


@dataclass
class Refusal:
    id: str
    code: str
    status: int
    body: Callable[[Any], bool]
    args: tuple[str, ...] = ()


REFUSALS = [
    Refusal("an archive without package.json or index.js is refused",
            b64(zip_bytes({"other.js": HANDLER})), 502,
            lambda b: "Zipped actions must contain either package.json or index.js" in b["error"]),
    Refusal("an absolute entry name is refused", b64(zip_bytes({"/etc/evil.js": "x"})), 502,
            unsafe("absolute path")),
    Refusal("a '..' entry name is refused", b64(zip_bytes({"a/../../evil.js": "x"})), 502,
            unsafe("'..'")),
    Refusal("a link leaving the action folder is refused",
            b64(zip_bytes({"index.js": HANDLER}, links={"lib": "../../etc"})), 502,
            unsafe("leaves the action folder")),
    Refusal("an absolute link is refused",
            b64(zip_bytes({"index.js": HANDLER}, links={"lib": "/etc"})), 502,
            unsafe("absolute path")),
    Refusal("an archive larger than --max-zip-bytes is refused before extraction",
            b64(zip_bytes({"index.js": "x" * 5000})), 502, unsafe("more than the limit"),
            ("--max-zip-bytes", "4096")),
    Refusal("more entries than --max-zip-entries are refused",
            b64(zip_bytes({f"f{i}.js": "x" for i in range(5)})), 502,
            unsafe("more than the limit of 3"), ("--max-zip-entries", "3")),
    Refusal("an entry inflating past its declared size is refused", b64(lying_bomb()), 502,
            unsafe("past its declared size")),
    Refusal("a tar.gz archive is refused with a clear message", b64(tar_gz()), 502,
            lambda b: "only zip archives are supported" in b["error"]),
    Refusal("bytes that are not an archive are refused", b64(b"just some bytes"), 502,
            lambda b: "not a valid zip archive" in b["error"]),
    Refusal("code that is not base64 answers 400", "not base64 at all!", 400,
            lambda b: "base64" in b["error"]),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c.id for c in REFUSALS])
def test_unsafe_or_unusable_archives_are_refused(case: Refusal, node_proxy: ProxyFactory,
                                                 tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proxy = node_proxy({"TMPDIR": str(scratch)}, case.args)
    status, body = client.init(proxy.url, {"code": case.code, "binary": True})
    assert status == case.status, body
    assert case.body(body), body
    assert list(scratch.glob("*/action")) == [], "a refused archive left files behind"
    good = {"code": b64(zip_bytes({"index.js": HANDLER, "lib/greet.js": GREET})), "binary": True}
    assert client.init(proxy.url, good) == (200, {"ok": True})
    assert client.run(proxy.url, {"name": "again"}) == (200, {"greeting": "hello again"})
