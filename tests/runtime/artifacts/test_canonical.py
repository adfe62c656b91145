"""The canonical blob: deterministic packing of folders, streaming, and safe unpacking of
hostile tars (each refusal names the entry and leaves nothing behind)."""

from __future__ import annotations

import hashlib
import io
import os
import random
import tarfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from edgewhisk_runtime.artifacts.canonical import (
    CHUNK,
    blob_chunks,
    digest,
    is_folder_format,
    materialize,
    unpack,
    write_blob,
)
from edgewhisk_runtime.exceptions import ArtifactError, UnsafeBlob
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# ---- packing ---------------------------------------------------------------------------


def _model(root: Path) -> Path:
    (root / "sub" / "empty").mkdir(parents=True)
    (root / "model-symbol.json").write_text("{}")
    (root / "model-0000.params").write_bytes(b"\x01" * 5000)
    (root / "sub" / "notes.txt").write_text("hello")
    return root


def test_a_file_blob_is_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"weights")
    assert b"".join(blob_chunks(tmp_path / "a.bin")) == b"weights"
    assert digest(tmp_path / "a.bin") == (7, hashlib.sha256(b"weights").hexdigest())


def test_a_folder_blob_is_a_normalised_tar_that_any_tar_reader_reads(tmp_path: Path) -> None:
    folder = _model(tmp_path / "m")
    os.chmod(folder / "model-symbol.json", 0o700)
    blob = b"".join(blob_chunks(folder))
    members = tarfile.open(fileobj=io.BytesIO(blob)).getmembers()
    assert [m.name for m in members] == ["model-0000.params", "model-symbol.json", "sub",
                                         "sub/empty", "sub/notes.txt"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    assert {m.name: m.mode for m in members if m.isdir()} == {"sub": 0o755, "sub/empty": 0o755}
    assert {m.mode for m in members if m.isfile()} == {0o644}
    assert len(blob) % tarfile.RECORDSIZE == 0
    assert digest(folder) == (len(blob), hashlib.sha256(blob).hexdigest())


def test_the_folder_blob_equals_what_tarfile_writes_for_the_same_entries(tmp_path: Path) -> None:
    folder = _model(tmp_path / "m")
    expected = io.BytesIO()
    with tarfile.open(fileobj=expected, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ["model-0000.params", "model-symbol.json", "sub", "sub/empty",
                     "sub/notes.txt"]:
            info = tar.gettarinfo(folder / name, arcname=name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if info.isdir() else 0o644
            with open(folder / name, "rb") if info.isfile() else io.BytesIO() as f:
                tar.addfile(info, f if info.isfile() else None)
    assert b"".join(blob_chunks(folder)) == expected.getvalue()


def test_write_blob_writes_the_stream_and_returns_its_digest(tmp_path: Path) -> None:
    folder = _model(tmp_path / "m")
    size, sha = write_blob(folder, tmp_path / "blob")
    assert (size, sha) == digest(folder)
    assert (tmp_path / "blob").read_bytes() == b"".join(blob_chunks(folder))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob", "m"]


@pytest.mark.parametrize("make, words", [
    (lambda d: (d / "link").symlink_to("/etc/passwd"), "'link' is a symbolic link"),
    (lambda d: os.mkfifo(d / "pipe"), "'pipe' is not a regular file"),
], ids=["a symbolic link in a folder is refused, not followed",
        "a fifo in a folder is refused"])
def test_packing_refuses_what_is_not_a_file_or_folder(tmp_path: Path,
                                                      make: Callable[[Path], None],
                                                      words: str) -> None:
    folder = _model(tmp_path / "m")
    make(folder / "sub")
    with pytest.raises(ArtifactError) as refused:
        digest(folder)
    assert words.replace("'", "'sub/", 1) in refused.value.message


def test_a_50_mb_file_streams_in_1_mib_chunks_without_being_held_in_memory(
        tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    piece = random.Random(1).randbytes(1 << 20)
    with open(big, "wb") as f:
        for i in range(50):
            f.write(piece[i:] + piece[:i])
    (tmp_path / "folder").mkdir()
    os.link(big, tmp_path / "folder" / "big.bin")
    assert max(len(c) for c in blob_chunks(big)) == CHUNK
    tracemalloc.start()
    try:
        size, sha = digest(big)
        tar_size, _ = digest(tmp_path / "folder")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * CHUNK
    expected = hashlib.sha256()
    with open(big, "rb") as f:
        for _ in range(50):
            expected.update(f.read(CHUNK))
    assert (size, sha) == (50 * CHUNK, expected.hexdigest())
    assert tar_size > 50 * CHUNK


# ---- properties ------------------------------------------------------------------------

NAMES = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/\0"),
                min_size=1, max_size=12).filter(lambda n: n not in (".", ".."))
TREES = st.recursive(st.binary(max_size=600),
                     lambda children: st.dictionaries(NAMES, children, max_size=4),
                     max_leaves=12)


def _write(path: Path, tree: bytes | dict, order: random.Random) -> None:
    if isinstance(tree, bytes):
        path.write_bytes(tree)
        os.utime(path, (order.randrange(1 << 30), order.randrange(1 << 30)))
        return
    path.mkdir()
    items = list(tree.items())
    order.shuffle(items)
    for name, child in items:
        _write(path / name, child, order)
    os.utime(path, (order.randrange(1 << 30), order.randrange(1 << 30)))


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(tree=st.dictionaries(NAMES, TREES, max_size=5), seed=st.integers(0, 1000))
def test_the_digest_does_not_depend_on_mtimes_or_creation_order(tmp_path_factory, tree,
                                                                 seed: int) -> None:
    base = tmp_path_factory.mktemp("t")
    _write(base / "a", tree, random.Random(seed))
    _write(base / "b", tree, random.Random(seed + 1))
    assert digest(base / "a") == digest(base / "b")


@SETTINGS
@given(tree=st.dictionaries(NAMES, TREES, max_size=5))
def test_unpacking_a_packed_tree_gives_the_same_tree_and_digest(tmp_path_factory, tree) -> None:
    base = tmp_path_factory.mktemp("t")
    _write(base / "a", tree, random.Random(0))
    write_blob(base / "a", base / "blob")
    unpack(base / "blob", base / "b", max_bytes=1 << 20, max_entries=1000)
    assert digest(base / "b") == digest(base / "a")
    assert sorted(p.relative_to(base / "b") for p in (base / "b").rglob("*")) == \
        sorted(p.relative_to(base / "a") for p in (base / "a").rglob("*"))


# ---- hostile tars ----------------------------------------------------------------------


def _tar(path: Path, *members: tuple[str, bytes | str]) -> Path:
    """A tar with members (name, content) or (name, type letter) built by tarfile itself."""
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for name, spec in members:
            info = tarfile.TarInfo(name)
            if isinstance(spec, bytes):
                info.size = len(spec)
                tar.addfile(info, io.BytesIO(spec))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
                         "hard": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE,
                         "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE,
                         "sparse": tarfile.GNUTYPE_SPARSE}[spec]
            info.linkname = "/etc/passwd" if spec in ("sym", "hard") else ""
            tar.addfile(info)
    return path


HOSTILE = [
    ("an absolute name is refused", [("/etc/cron.d/x", b"x")], "'/etc/cron.d/x' has an absolute"),
    ("a '..' name is refused", [("a/../../escape", b"x")], "'a/../../escape' has '..'"),
    ("a symbolic link is refused", [("ok", b"x"), ("link", "sym")], "'link' is a symbolic link"),
    ("a hard link is refused", [("hl", "hard")], "'hl' is a hard link"),
    ("a character device is refused", [("zero", "chr")], "'zero' is a device"),
    ("a block device is refused", [("sda", "blk")], "'sda' is a device"),
    ("a fifo is refused", [("p", "fifo")], "'p' is a fifo"),
    ("a GNU sparse member is refused", [("holes", "sparse")], "'holes' is a sparse file"),
    ("an entry appearing twice is refused", [("f", b"1"), ("f", b"2")], "'f' appears twice"),
    ("too many entries are refused", [(f"f{i}", b"") for i in range(6)],
     "more than 5 entries (at 'f5')"),
    ("content over the byte cap is refused", [("a", b"x" * 60), ("b", b"y" * 50)],
     "'b' takes the content over 100 bytes"),
]


@pytest.mark.parametrize("members, words", [r[1:] for r in HOSTILE], ids=[r[0] for r in HOSTILE])
def test_unpack_refuses_hostile_tars_and_leaves_nothing(tmp_path: Path, members: list,
                                                        words: str) -> None:
    blob = _tar(tmp_path / "evil.tar", *members)
    with pytest.raises(UnsafeBlob) as refused:
        unpack(blob, tmp_path / "out", max_bytes=100, max_entries=5)
    assert words in refused.value.message and "evil.tar" in refused.value.message
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar"]


@pytest.mark.parametrize("content", [b"not a tar at all" * 100, b""],
                         ids=["garbage is refused", "an empty file is refused"])
def test_unpack_refuses_what_is_not_a_tar(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "blob").write_bytes(content)
    with pytest.raises(UnsafeBlob, match="not a readable tar"):
        unpack(tmp_path / "blob", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unpack_refuses_a_truncated_tar(tmp_path: Path) -> None:
    blob = _tar(tmp_path / "t.tar", ("big", b"z" * 10_000))
    blob.write_bytes(blob.read_bytes()[:4096])
    with pytest.raises(UnsafeBlob, match="not a readable tar"):
        unpack(blob, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unpack_ignores_modes_from_the_tar(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "t.tar", "w") as tar:
        info = tarfile.TarInfo("setuid")
        info.mode, info.size = 0o4777, 1
        tar.addfile(info, io.BytesIO(b"x"))
    unpack(tmp_path / "t.tar", tmp_path / "out")
    assert (tmp_path / "out" / "setuid").stat().st_mode & 0o7777 == 0o644


# ---- materialize ---------------------------------------------------------------------


def test_materialize_unpacks_folder_formats_and_links_files(tmp_path: Path) -> None:
    folder = _model(tmp_path / "m")
    write_blob(folder, tmp_path / "tree.blob")
    (tmp_path / "file.blob").write_bytes(b"123")
    tree = materialize(tmp_path / "tree.blob", "mxnet-gluon", tmp_path / "out" / "model")
    assert (tree / "sub" / "notes.txt").read_text() == "hello"
    assert digest(tree) == digest(folder)
    file = materialize(tmp_path / "file.blob", "npy", tmp_path / "out" / "x.npy")
    assert file.read_bytes() == b"123"
    assert [is_folder_format(f) for f in ("mxnet-gluon", "directory", "npz", None)] == \
        [True, True, False, False]
