"""Safe extraction of an action's zip archive into its action folder.

Why not ``ZipFile.extractall``: it silently rewrites absolute and ``..`` names instead of
refusing them, writes symbolic links as plain files, and trusts the sizes in the headers.
An action archive comes from whoever may create actions, so every entry is checked and any
violation refuses the whole archive (:class:`UnsafeArchive`, a 502 at /init) and leaves
nothing on disk.

Limits (both configurable through ``edgewhisk runtime serve``):

- ``max_bytes`` (default 512 MiB): total uncompressed size, checked from the headers before
  anything is written and again while streaming, so a lying header cannot get past it.
  OpenWhisk stores action code of up to 48 MB compressed; 512 MiB uncompressed leaves room
  for a virtualenv with MXNet and numpy while stopping archive bombs early.
- ``max_entries`` (default 65,536): a virtualenv has a few thousand files.

Symbolic links are allowed only when they resolve inside the action folder (checked with the
final, fully resolved path after every link exists, so chains of links cannot escape either).
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from edgewhisk_runtime.exceptions import UnsafeArchive

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 65_536
_CHUNK = 1024 * 1024
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError,
               RuntimeError, EOFError, ValueError, OSError)
"""What ``zipfile`` raises for a damaged or unsupported archive (found by fuzzing: corrupt
deflate data, encryption, unknown compression methods, truncated entries, bad offsets)."""


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _refuse(reason: str) -> UnsafeArchive:
    return UnsafeArchive(f"invalid action: unsafe zip archive: {reason}")


def _safe_name(name: str) -> PurePosixPath:
    """The entry's relative path, or a refusal for absolute paths and '..' components."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        raise _refuse(f"absolute path '{name}'")
    parts = [p for p in posix.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _refuse(f"'..' in path '{name}'")
    if not parts:
        raise _refuse(f"empty path '{name}'")
    return PurePosixPath(*parts)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def extract(data: bytes, dest: Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
            max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
    """Extract the zip ``data`` into ``dest`` (created), or raise UnsafeArchive leaving nothing."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _UNREADABLE as exc:
        raise UnsafeArchive(f"invalid action: not a valid zip archive ({exc})") from exc
    dest.mkdir(parents=True, exist_ok=False)
    try:
        with archive:
            _extract_checked(archive, dest.resolve(), max_bytes, max_entries)
    except BaseException as exc:
        shutil.rmtree(dest, ignore_errors=True)
        if isinstance(exc, _UNREADABLE):
            raise UnsafeArchive(f"invalid action: cannot extract the zip archive ({exc})") \
                from exc
        raise


def _extract_checked(archive: zipfile.ZipFile, root: Path, max_bytes: int,
                     max_entries: int) -> None:
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise _refuse(f"{len(infos)} entries, more than the limit of {max_entries}")
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise _refuse(f"expands to {declared} bytes, more than the limit of {max_bytes}")
    names = [(info, _safe_name(info.filename)) for info in infos]
    budget = [max_bytes]
    links = []
    for info, name in names:
        target = root.joinpath(*name.parts)
        if _is_symlink(info):
            links.append((info, name, target))
        elif info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            _write_member(archive, info, root, target, budget)
    for info, name, target in links:
        _make_link(archive, info, name, root, target, budget)
    for _, name, target in links:
        if not _inside(root, target.resolve()):
            raise _refuse(f"link '{name}' leaves the action folder")


def _write_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, target: Path,
                  budget: list[int]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(root, target.parent.resolve()) or target.is_symlink():
        raise _refuse(f"'{info.filename}' is written through a link")
    try:
        with archive.open(info) as source, open(target, "wb") as sink:
            while chunk := source.read(_CHUNK):
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise _refuse("expands past the size limit while extracting")
                sink.write(chunk)
    except _UNREADABLE as exc:
        raise UnsafeArchive(f"invalid action: cannot extract '{info.filename}': {exc}") from exc
    mode = (info.external_attr >> 16) & 0o777
    if mode:
        os.chmod(target, mode | 0o600)


def _make_link(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: PurePosixPath,
               root: Path, target: Path, budget: list[int]) -> None:
    if info.file_size > 4096:
        raise _refuse(f"link '{name}' has an oversized target")
    link_to = archive.read(info).decode("utf-8", "replace")
    budget[0] -= len(link_to)
    if link_to.startswith("/") or "\\" in link_to:
        raise _refuse(f"link '{name}' points to an absolute path")
    lexical = PurePosixPath(os.path.normpath(str(name.parent / link_to)))
    if lexical.parts[:1] == ("..",):
        raise _refuse(f"link '{name}' leaves the action folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(root, target.parent.resolve()) or os.path.lexists(target):
        raise _refuse(f"link '{name}' is created through a link or twice")
    os.symlink(link_to, target)
