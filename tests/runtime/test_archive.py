"""Safe zip extraction: unsafe archives are refused with a clear error and leave nothing behind.

Unit rows call :func:`edgewhisk_runtime.archive.extract` directly with small limits; the
/init rows send the same kinds of archive to a real proxy (process and container) with its
default limits, including a real archive bomb and an archive with too many entries.
"""

from __future__ import annotations

import base64
import functools
import io
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from edgewhisk_runtime import archive
from edgewhisk_runtime.exceptions import UnsafeArchive

from . import client
from .actions import ECHO, zip_b64, zip_of_entries, zip_of_zeros
from .targets import ProcessTarget, RuntimeTarget


def _zip(files: dict[str, str], links: dict[str, str] | None = None) -> bytes:
    return base64.b64decode(zip_b64(dict(files), links))


def _lying_zip() -> bytes:
    """A zip whose headers claim 10 bytes for a member that expands to 100,000."""
    data = bytearray(_zip({"__main__.py": ECHO, "big.bin": "x" * 100_000}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("big.bin")
    local = info.header_offset
    struct.pack_into("<I", data, local + 22, 10)  # local header: uncompressed size
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)  # central directory: uncompressed size
    return bytes(data)


def _patched(flag_bits: int = 0, method: int | None = None, corrupt: bool = False) -> bytes:
    """A one-file zip of ``__main__.py`` with its flag bits or compression method changed (in
    both headers), or its deflate data overwritten: what fuzzing found ``zipfile`` raising
    NotImplementedError, RuntimeError or zlib.error for."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__main__.py", ECHO * 20)
    data = bytearray(out.getvalue())
    central = data.rfind(b"PK\x01\x02")
    for flags_at, method_at in ((6, 8), (central + 8, central + 10)):
        struct.pack_into("<H", data, flags_at, struct.unpack_from("<H", data, flags_at)[0]
                         | flag_bits)
        if method is not None:
            struct.pack_into("<H", data, method_at, method)
    if corrupt:
        start = 30 + len("__main__.py")
        data[start:start + 8] = b"\xff" * 8
    return bytes(data)


UNIT_ROWS = [
    ("an absolute path is refused", lambda: _zip({"/etc/evil.py": "x"}), "absolute path"),
    ("a '..' component is refused", lambda: _zip({"../evil.py": "x"}), "'..'"),
    ("a '..' hidden inside a path is refused", lambda: _zip({"a/../../evil.py": "x"}), "'..'"),
    ("a Windows-style '..' is refused", lambda: _zip({"..\\evil.py": "x"}), "'..'"),
    ("a link to an absolute path is refused",
     lambda: _zip({"__main__.py": ECHO}, {"etc": "/etc"}), "absolute path"),
    ("a link climbing out of the folder is refused",
     lambda: _zip({"__main__.py": ECHO}, {"sub/up": "../.."}), "leaves the action folder"),
    ("a chain of links that escapes only when resolved is refused",
     lambda: _zip({"__main__.py": ECHO}, {"d/l1": "..", "e/l2": "../d/l1/.."}),
     "leaves the action folder"),
    ("a link over an extracted folder is refused",
     lambda: _zip({"d/x.py": "x"}, {"d": "."}), "through a link or twice"),
    ("an archive expanding past the size limit is refused from its headers",
     lambda: _zip({"__main__.py": ECHO, "big.bin": "x" * 5000}), "more than the limit"),
    ("an archive whose headers lie about its size is refused while extracting",
     _lying_zip, "cannot extract"),
    ("an archive with more entries than the limit is refused",
     lambda: zip_of_entries(f"f{i}" for i in range(11)), "entries"),
    ("bytes that are not a zip are refused", lambda: b"hello", "not a valid zip archive"),
    ("an encrypted entry is refused, not a RuntimeError", lambda: _patched(flag_bits=0x1),
     "cannot extract"),
    ("strong encryption is refused, not a NotImplementedError",
     lambda: _patched(flag_bits=0x41), "cannot extract"),
    ("an unknown compression method is refused, not a NotImplementedError",
     lambda: _patched(method=99), "cannot extract"),
    ("corrupt deflate data is refused, not a zlib.error", lambda: _patched(corrupt=True),
     "cannot extract"),
]


@pytest.mark.parametrize("make, reason", [r[1:] for r in UNIT_ROWS], ids=[r[0] for r in UNIT_ROWS])
def test_unsafe_archive_is_refused_and_leaves_nothing(make, reason: str, tmp_path: Path) -> None:
    dest = tmp_path / "action"
    with pytest.raises(UnsafeArchive) as refused:
        archive.extract(make(), dest, max_bytes=4096, max_entries=10)
    assert reason in refused.value.message
    assert refused.value.status == 502
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_safe_archive_keeps_folders_modes_and_inside_links(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("__main__.py", ECHO)
        z.writestr("data/file.txt", "content")
        tool = zipfile.ZipInfo("bin/tool")
        tool.external_attr = (stat.S_IFREG | 0o755) << 16
        z.writestr(tool, "#!/bin/sh\n")
        link = zipfile.ZipInfo("current")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "data/file.txt")
    archive.extract(buf.getvalue(), tmp_path / "a")
    assert (tmp_path / "a/data/file.txt").read_text() == "content"
    assert os.access(tmp_path / "a/bin/tool", os.X_OK)
    assert (tmp_path / "a/current").is_symlink()
    assert (tmp_path / "a/current").read_text() == "content"


@functools.cache
def _bomb() -> str:
    return base64.b64encode(zip_of_zeros(archive.DEFAULT_MAX_BYTES + 1)).decode()


@functools.cache
def _many_entries() -> str:
    names = ["__main__.py"] + [f"f/{i}" for i in range(archive.DEFAULT_MAX_ENTRIES)]
    return base64.b64encode(zip_of_entries(names)).decode()


INIT_ROWS = [
    ("an archive with an absolute path fails init",
     lambda: zip_b64({"__main__.py": ECHO, "/tmp/evil.py": "x"}), "absolute path"),
    ("an archive with '..' fails init",
     lambda: zip_b64({"__main__.py": ECHO, "../evil.py": "x"}), "'..'"),
    ("an archive with a link leaving the folder fails init",
     lambda: zip_b64({"__main__.py": ECHO}, {"passwd": "../../../etc/passwd"}),
     "leaves the action folder"),
    ("an archive bomb past the default 512 MiB fails init", _bomb, "more than the limit"),
    ("an archive with more than 65,536 entries fails init", _many_entries, "entries"),
]


@pytest.mark.parametrize("make, reason", [r[1:] for r in INIT_ROWS], ids=[r[0] for r in INIT_ROWS])
def test_init_refuses_unsafe_archive(make, reason: str, runtime: RuntimeTarget) -> None:
    status, body = client.init(runtime.url, {"code": make(), "binary": True})
    assert status == 502
    assert body["error"].startswith("invalid action: unsafe zip archive")
    assert reason in body["error"]
    # nothing changed: the runtime can still be initialized with a good action
    assert client.init(runtime.url, {"code": ECHO}) == (200, {"ok": True})


def test_refused_archive_leaves_nothing_in_the_workdir(tmp_path: Path) -> None:
    target = ProcessTarget(extra_args=("--workdir", str(tmp_path), "--max-zip-bytes", "4096"))
    try:
        for make, _ in [r[1:] for r in UNIT_ROWS]:
            status, _ = client.init(target.url, {"code": base64.b64encode(make()).decode(),
                                                 "binary": True})
            assert status == 502
            assert [p for p in tmp_path.rglob("*") if p.name != "outboxes"] == []
    finally:
        target.stop()
