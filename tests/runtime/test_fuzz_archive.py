"""Fuzzing the zip extractor (hypothesis): whatever bytes an action's creator sends as its
zip, ``archive.extract`` writes the archive or refuses it with ``UnsafeArchive`` (a 502 at
/init), and a refusal leaves nothing on disk; no other exception may escape."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from edgewhisk_runtime.archive import extract
from edgewhisk_runtime.exceptions import UnsafeArchive
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = st.sampled_from(["__main__.py", "a/b.py", "../up", "/abs", "a\\b", "", ".", "x/../../y",
                         "dir/", "C:x", "\x00", "é.py", "a/" * 40 + "z"])


def _zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data, method, attr in entries:
            info = zipfile.ZipInfo(name or "empty")
            info.filename = name  # even what ZipInfo would tidy up
            info.compress_type = method
            info.create_system, info.external_attr = 3, attr << 16
            archive.writestr(info, data)
    return out.getvalue()


ENTRIES = st.lists(st.tuples(NAMES, st.binary(max_size=64),
                             st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
                             st.sampled_from([0o644, 0o755, 0o120777, 0o40755, 0o10644, 0])),
                   max_size=5)


def _extracts_or_refuses(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        dest = Path(folder) / "action"
        try:
            extract(data, dest, max_bytes=4096, max_entries=8)
        except UnsafeArchive:
            assert not dest.exists()  # a refusal leaves nothing behind


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_extract_or_raise_unsafe_archive_only(data: bytes) -> None:
    _extracts_or_refuses(data)


@FUZZ
@given(ENTRIES, st.data())
def test_mutated_zips_extract_or_raise_unsafe_archive_only(
        entries: list[tuple[str, bytes, int, int]], data: st.DataObject) -> None:
    archive = bytearray(_zip(entries))
    for _ in range(data.draw(st.integers(0, 4))):
        if archive:
            at = data.draw(st.integers(0, len(archive) - 1))
            archive[at] = data.draw(st.integers(0, 255))
    _extracts_or_refuses(bytes(archive))
