"""Fuzzing the tar unpacker of canonical blobs (hypothesis): whatever a device or a blob store
hands over as a folder artifact, ``canonical.unpack`` unpacks it or refuses it with
``UnsafeBlob``, leaving no folder behind; no other exception may escape."""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

from edgewhisk_runtime.artifacts.canonical import unpack
from edgewhisk_runtime.exceptions import UnsafeBlob
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TYPES = [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE,
         tarfile.CHRTYPE, tarfile.GNUTYPE_SPARSE]
NAMES = st.sampled_from(["a", "d/b", "../up", "/abs", "", ".", "d/../../x", "a", "é", "x" * 120])


def _tar(entries: list[tuple[str, bytes, bytes]], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        for name, data, kind in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            info.linkname = "a" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            archive.addfile(info, io.BytesIO(data) if info.size else None)
    return out.getvalue()


ENTRIES = st.lists(st.tuples(NAMES, st.binary(max_size=64), st.sampled_from(TYPES)),
                   max_size=5)


def _unpacks_or_refuses(blob: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source, dest = Path(folder) / "blob.tar", Path(folder) / "out"
        source.write_bytes(blob)
        try:
            unpack(source, dest, max_bytes=4096, max_entries=8)
        except UnsafeBlob:
            assert not dest.exists()


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_unpack_or_raise_unsafe_blob_only(blob: bytes) -> None:
    _unpacks_or_refuses(blob)


@FUZZ
@given(ENTRIES, st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT]),
       st.data())
def test_mutated_tars_unpack_or_raise_unsafe_blob_only(
        entries: list[tuple[str, bytes, bytes]], fmt: int, data: st.DataObject) -> None:
    try:
        blob = bytearray(_tar(entries, fmt))
    except ValueError:  # a name this format cannot hold: nothing to fuzz
        return
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    _unpacks_or_refuses(bytes(blob))
