"""The canonical blob of an artifact: the one byte stream that is hashed, stored and sent.

Why one canonical form: the registry, the blob stores, the tunnel and every device store must
agree on an artifact's sha256 and size, and a folder has no bytes of its own. A file artifact's
blob is its bytes; a folder artifact (``mxnet-gluon``, ``directory``) is a deterministic,
uncompressed POSIX (pax) tar: entries sorted by relative path, directories before their
contents, mtime 0, uid/gid 0, empty user/group names, modes 0o755 (dirs) / 0o644 (files),
regular files and directories only. Two copies of the same tree therefore give the same
digest whatever their mtimes, owners or creation order; ``tarfile`` (and any tar tool) reads
it back.

Blobs are never held whole in memory: they are produced and consumed in chunks (1 MiB by
default), so a multi-gigabyte model costs one chunk of RAM.

:func:`unpack` is the reverse for blobs that come from elsewhere (a peer, the cloud), so it
trusts nothing: absolute names, ``..``, links, devices, sparse members, duplicates, too many
entries or bytes each refuse the whole blob (:class:`UnsafeBlob` naming the entry) and leave
nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from edgewhisk_runtime.exceptions import ArtifactError, UnsafeBlob

FOLDER_FORMATS = frozenset({"mxnet-gluon", "directory"})
CHUNK = 1 << 20
DEFAULT_MAX_BYTES = 64 << 30
DEFAULT_MAX_ENTRIES = 65_536
_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE


def is_folder_format(fmt: str | None) -> bool:
    """Whether artifacts of this format are folders (travel as a tar) rather than files."""
    return fmt in FOLDER_FORMATS


def _entries(root: Path) -> list[tuple[str, Path]]:
    """Every directory and regular file under ``root`` by sorted relative POSIX name.

    Links and special files are refused rather than followed or skipped: following could
    pack files from outside the artifact, skipping would silently change it."""
    found: list[tuple[str, Path]] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as scan:
            for item in scan:
                path = Path(item.path)
                name = path.relative_to(root).as_posix()
                if item.is_symlink():
                    raise ArtifactError(f"cannot pack folder {root}: '{name}' is a symbolic "
                                        "link (only files and folders travel)")
                if item.is_dir(follow_symlinks=False):
                    stack.append(path)
                elif not item.is_file(follow_symlinks=False):
                    raise ArtifactError(f"cannot pack folder {root}: '{name}' is not a "
                                        "regular file or folder")
                found.append((name, path))
    found.sort(key=lambda pair: pair[0])
    return found


def _header(name: str, path: Path) -> tuple[tarfile.TarInfo, bool]:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    is_dir = path.is_dir()
    if is_dir:
        info.type, info.mode, info.size = tarfile.DIRTYPE, 0o755, 0
    else:
        info.type, info.mode, info.size = tarfile.REGTYPE, 0o644, path.stat().st_size
    return info, is_dir


def _file_chunks(path: Path, chunk: int, size: int | None = None) -> Iterator[bytes]:
    """The bytes of ``path`` (exactly ``size`` of them when given) in chunks."""
    left = size
    with open(path, "rb") as f:
        while left is None or left > 0:
            data = f.read(chunk if left is None else min(chunk, left))
            if not data:
                break
            if left is not None:
                left -= len(data)
            yield data
    if left:
        raise ArtifactError(f"cannot pack {path}: it shrank while being packed")


def _tar_chunks(root: Path, chunk: int) -> Iterator[bytes]:
    offset = 0
    for name, path in _entries(root):
        info, is_dir = _header(name, path)
        header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        offset += len(header)
        yield header
        if is_dir:
            continue
        yield from _file_chunks(path, chunk, info.size)
        offset += info.size
        pad = -info.size % _BLOCK
        if pad:
            offset += pad
            yield b"\0" * pad
    end = 2 * _BLOCK
    end += -(offset + end) % _RECORD
    yield b"\0" * end


def blob_chunks(path: Path, chunk: int = CHUNK) -> Iterator[bytes]:
    """The canonical blob of a file or folder, streamed: file bytes, or the deterministic tar."""
    if path.is_dir():
        return _tar_chunks(path, chunk)
    return _file_chunks(path, chunk)


def digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of the canonical blob of ``path`` (a file or a folder)."""
    h, size = hashlib.sha256(), 0
    for data in blob_chunks(path):
        h.update(data)
        size += len(data)
    return size, h.hexdigest()


def write_blob(path: Path, dest_file: Path) -> tuple[int, str]:
    """Write the canonical blob of ``path`` to ``dest_file`` (atomically); its size and sha256."""
    h, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=dest_file.parent, prefix=".blob-")
    try:
        with os.fdopen(fd, "wb") as out:
            for data in blob_chunks(path):
                out.write(data)
                h.update(data)
                size += len(data)
        os.replace(tmp, dest_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size, h.hexdigest()


def _refuse(blob: Path, reason: str) -> UnsafeBlob:
    return UnsafeBlob(f"unsafe artifact blob {blob.name}: {reason}")


def _safe_name(blob: Path, name: str) -> PurePosixPath:
    if name.startswith("/"):
        raise _refuse(blob, f"entry '{name}' has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _refuse(blob, f"entry '{name}' has '..' in its path")
    if not parts:
        raise _refuse(blob, f"entry '{name}' has an empty path")
    return PurePosixPath(*parts)


def _kind(member: tarfile.TarInfo) -> str:
    for test, kind in ((member.issym, "symbolic link"), (member.islnk, "hard link"),
                       (member.isfifo, "fifo"), (member.isdev, "device"),
                       (member.issparse, "sparse file")):
        if test():
            return kind
    return f"type {member.type!r} entry"


def _check(blob: Path, member: tarfile.TarInfo, seen: set[PurePosixPath], count: int,
           total: int, max_bytes: int, max_entries: int) -> PurePosixPath:
    """The member's safe relative name, or a refusal naming it."""
    if count > max_entries:
        raise _refuse(blob, f"more than {max_entries} entries (at '{member.name}')")
    name = _safe_name(blob, member.name)
    if not (member.isreg() or member.isdir()) or member.sparse is not None:
        raise _refuse(blob, f"entry '{member.name}' is a {_kind(member)} (only files and "
                            "folders)")
    if name in seen:
        raise _refuse(blob, f"entry '{member.name}' appears twice")
    if total + member.size > max_bytes:
        raise _refuse(blob, f"entry '{member.name}' takes the content over {max_bytes} bytes")
    seen.add(name)
    return name


def _extract(blob: Path, archive: tarfile.TarFile, dest: Path, max_bytes: int,
             max_entries: int) -> None:
    seen: set[PurePosixPath] = set()
    count = total = 0
    for member in archive:
        count += 1
        name = _check(blob, member, seen, count, total, max_bytes, max_entries)
        target = dest.joinpath(*name.parts)
        if member.isdir():
            target.mkdir(mode=0o755, parents=True, exist_ok=True)
            continue
        total += member.size
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        source = archive.extractfile(member)
        assert source is not None  # a regular member always has a file object
        with source, open(target, "xb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        target.chmod(0o644)


def unpack(blob_file: Path, dest_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
           max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
    """Unpack the tar ``blob_file`` into ``dest_dir`` (created, must not exist) or refuse.

    Raises :class:`UnsafeBlob` (an ArtifactError) naming the offending entry and leaves no
    ``dest_dir`` behind; modes from the tar are ignored (0o755 dirs, 0o644 files)."""
    dest_dir.mkdir(parents=True, exist_ok=False)
    try:
        with tarfile.open(blob_file, mode="r|") as archive:
            _extract(blob_file, archive, dest_dir, max_bytes, max_entries)
    except BaseException as exc:
        shutil.rmtree(dest_dir, ignore_errors=True)
        if isinstance(exc, (tarfile.TarError, OSError, EOFError)):
            raise _refuse(blob_file, f"not a readable tar ({exc})") from exc
        raise


def materialize(blob_file: Path, fmt: str, dest: Path) -> Path:
    """Make the blob usable by an action at ``dest``: a folder format is unpacked there, a file
    format is hard-linked (copied across file systems). Returns ``dest``."""
    if is_folder_format(fmt):
        unpack(blob_file, dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(blob_file, dest)
    except OSError:
        shutil.copyfile(blob_file, dest)
    return dest


__all__ = ["CHUNK", "FOLDER_FORMATS", "blob_chunks", "digest", "is_folder_format",
           "materialize", "unpack", "write_blob"]
