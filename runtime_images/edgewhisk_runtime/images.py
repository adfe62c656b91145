"""Build the ``python3-ai`` runtime image offline: ``edgewhisk runtime image build``.

Why it is done this way: no container registry and no PyPI are reachable from inside an image
build on the project's machines (package registries only from the host), so the build has
three steps, each cached and each reporting progress on stderr:

1. the base image ``localhost/edgewhisk-base:bookworm``: ``debootstrap --variant=minbase`` of
   Debian bookworm (Python 3.11, matching the wheels) imported with ``podman import``;
2. a wheelhouse on the host in ``CONTEXT/wheels``: the third-party wheels downloaded for
   CPython 3.11 manylinux (cached by their requirement list) and the project's own wheel;
3. ``podman build`` of ``runtime_images/python3-ai/Dockerfile`` with that context.

The image carries the runtime, so it must be rebuilt whenever the project's source changes, and
the test suite calls :func:`build_image` on every run, so an unchanged tree must cost well under
a second: the image is labelled and tagged with a content hash of everything that goes into it
(package sources, setup.cfg, the Dockerfile, the requirement list, the base image id), and the
build is skipped when an image with that hash exists.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import fcntl
import hashlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

import edgewhisk

IMAGE = "localhost/edgewhisk/python3-ai"
DEFAULT_TAG = f"{IMAGE}:latest"
BASE_IMAGE = "localhost/edgewhisk-base:bookworm"
HASH_LABEL = "org.edgewhisk.source-hash"
VERSION_LABEL = "org.opencontainers.image.version"

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# minbase lacks the OpenMP and quad-math runtimes that libmxnet.so links against.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "libgomp1", "libquadmath0",
                 "libstdc++6")


def _required(name: str) -> str:
    """``name``'s requirement as setup.cfg states it (the installed distribution's metadata):
    one source for a bound the image shares with the host."""
    found = [r for r in importlib.metadata.requires("edgewhisk") or ()
             if re.split(r"[^\w.-]", r, maxsplit=1)[0] == name and ";" not in r]  # ";": an extra
    if len(found) != 1:
        raise LookupError(f"setup.cfg's install_requires names {name!r} {len(found)} times")
    return found[0]


# Third-party packages of the image; numpy<1.24 because MXNet 1.9.1 uses np.bool; uvloop
# because the proxy serves on it where it imports (edgewhisk_runtime.eventloop).
REQUIREMENTS = ("mxnet==1.9.1", "numpy==1.23.5", "aiohttp", _required("uvloop"))
WHEEL_PLATFORM_ARGS = (
    "--only-binary=:all:", "--python-version", "3.11",
    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
    "--platform", "manylinux_2_28_x86_64",
)
# Files besides the packages' sources that change what the image contains.
PROJECT_FILES = ("setup.cfg", "pyproject.toml")
DOCKERFILE = Path("runtime_images", "python3-ai", "Dockerfile")
# Older src-<hash> images kept for test sessions that still use them (they share all layers but
# the project's).
KEEP_HASHED_TAGS = 5

Progress = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """A build step failed; the message names the step and the command's last output."""


def stderr_progress(line: str) -> None:
    """Default progress sink: the build's steps on stderr, stdout stays clean for scripts."""
    print(line, file=sys.stderr, flush=True)


# --- the project and its content hash -------------------------------------------------------

def find_project_root(start: Path | None = None) -> Path:
    """The source tree this module lives in (the image is built from a checkout, not a wheel)."""
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        if (folder / "setup.cfg").is_file() and (folder / DOCKERFILE).is_file():
            return folder
    raise ImageBuildError(
        f"no edgewhisk source tree (setup.cfg + {DOCKERFILE}) above {here}; pass --project DIR")


def package_dirs(root: Path) -> list[Path]:
    """The package folders setup.cfg maps (``package_dir``): exactly what the wheel ships."""
    config = configparser.ConfigParser()
    config.read(root / "setup.cfg")
    mapping = config.get("options", "package_dir", fallback="")
    dirs = []
    for line in mapping.splitlines():
        if "=" in line:
            dirs.append(root / line.split("=", 1)[1].strip())
    return sorted(set(dirs))


def source_files(root: Path) -> list[Path]:
    """Every file whose content goes into the image, in a stable order."""
    files = [root / name for name in PROJECT_FILES if (root / name).is_file()]
    files.append(root / DOCKERFILE)
    for folder in package_dirs(root):
        for path in folder.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append(path)
    return sorted(set(files))


def snapshot(root: Path) -> dict[str, bytes]:
    """The image's sources read once: relative path -> content.

    Hashing and the wheel are both made from this one read, so the label always describes the
    content, even while the checkout is being edited during a build.
    """
    files = {}
    for path in source_files(root):
        with contextlib.suppress(FileNotFoundError):  # removed since it was listed
            files[str(path.relative_to(root))] = path.read_bytes()
    return files


def source_hash(root: Path | dict[str, bytes], base_id: str) -> str:
    """Content hash of the sources, the requirement list and the base image (16 hex digits)."""
    files = snapshot(root) if isinstance(root, Path) else root
    digest = hashlib.sha256()
    digest.update(f"base={base_id}\nrequirements={REQUIREMENTS}\n".encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()[:16]


# --- running commands ---------------------------------------------------------------------

def _stream(cmd: Sequence[str], progress: Progress, step: str, *, stdin: IO[bytes] | None = None,
            cwd: Path | None = None) -> None:
    """Run ``cmd``, forwarding each output line to ``progress``; raise with the tail on failure."""
    tail: list[str] = []
    with subprocess.Popen(list(cmd), stdin=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace",
                          cwd=cwd) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail = (tail + [line])[-15:]
            progress(f"  {line}")
    if proc.returncode != 0:
        output = "\n".join(tail)
        raise ImageBuildError(f"{step}: {' '.join(cmd)} exited {proc.returncode}\n{output}")


def _quiet(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=False)


def find_image(ref: str) -> str | None:
    """The id of image ``ref``, or None when there is none (one podman call)."""
    result = _quiet(["podman", "image", "inspect", "--format", "{{.Id}}", ref])
    return result.stdout.strip() or None if result.returncode == 0 else None


def image_id(ref: str) -> str:
    found = find_image(ref)
    if found is None:
        raise ImageBuildError(f"podman image inspect {ref}: no such image")
    return found


@contextlib.contextmanager
def _build_lock(context: Path) -> Iterator[None]:
    """One build at a time per context (parallel test sessions share it and podman's storage)."""
    context.parent.mkdir(parents=True, exist_ok=True)
    with open(context.parent / f"{context.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- step 1: base image ---------------------------------------------------------------------

def ensure_base(build_dir: Path, progress: Progress, *, rebuild: bool = False) -> str:
    """Make sure the debootstrapped base image exists; return its id."""
    present = None if rebuild else find_image(BASE_IMAGE)
    if present:
        progress(f"[1/3] base image {BASE_IMAGE}: present")
        return present
    for tool in ("debootstrap", "podman"):
        if shutil.which(tool) is None:
            raise ImageBuildError(
                f"base image: {tool} not found (run runtime_images/host-setup.sh)")
    progress(f"[1/3] base image {BASE_IMAGE}: debootstrap {DEBIAN_SUITE} (about 1-2 minutes)")
    build_dir.mkdir(parents=True, exist_ok=True)
    rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=build_dir))
    try:
        _stream(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                 DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR], progress, "debootstrap")
        # What `apt-get clean` would drop: downloaded .debs and package lists.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / junk).glob("*"):
                if path.is_file():
                    path.unlink()
        progress(f"[1/3] base image: podman import -> {BASE_IMAGE}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        try:
            _stream(["podman", "import", "-", BASE_IMAGE], progress, "podman import",
                    stdin=tar.stdout)
        finally:
            assert tar.stdout is not None
            tar.stdout.close()
            if tar.wait() != 0:
                raise ImageBuildError(f"tar of {rootfs} exited {tar.returncode}")
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return image_id(BASE_IMAGE)


# --- step 2: wheelhouse ---------------------------------------------------------------------

def ensure_dependency_wheels(context: Path, progress: Progress) -> None:
    """Download the third-party wheels once; cached while REQUIREMENTS stay the same."""
    deps = context / "wheels" / "deps"
    requirements = deps / "requirements.txt"
    wanted = "".join(f"{req}\n" for req in REQUIREMENTS)
    if requirements.is_file() and requirements.read_text() == wanted and any(deps.glob("*.whl")):
        progress(f"[2/3] wheelhouse {deps}: cached")
        return
    progress(f"[2/3] wheelhouse {deps}: pip download {' '.join(REQUIREMENTS)}")
    shutil.rmtree(deps, ignore_errors=True)
    deps.mkdir(parents=True)
    _stream([sys.executable, "-m", "pip", "download", "--progress-bar", "off",
             *WHEEL_PLATFORM_ARGS, "-d", str(deps), *REQUIREMENTS], progress, "pip download")
    requirements.write_text(wanted)  # written last: marks the wheelhouse complete


def build_project_wheel(root: Path, files: dict[str, bytes], context: Path,
                        progress: Progress) -> None:
    """Build the edgewhisk wheel from the snapshot ``files`` of the tree at ``root``.

    Building from a copy keeps ``build/`` and ``*.egg-info`` out of the working tree and makes
    the wheel contain what the hash covers, no more.
    """
    out = context / "wheels" / "project"
    progress(f"[2/3] project wheel from {root}")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="edgewhisk-src-", dir=context.parent) as tmp:
        src = Path(tmp)
        for name, content in files.items():
            target = src / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        readme = root / "README.md"  # long_description only: copied, not hashed
        if readme.is_file():
            shutil.copy2(readme, src / "README.md")
        _stream([sys.executable, "-m", "pip", "wheel", "--no-deps", "--progress-bar", "off",
                 "-w", str(out), str(src)], progress, "pip wheel")


# --- step 3: podman build -------------------------------------------------------------------

def _prune_hashed_tags(keep: str, progress: Progress) -> None:
    """Drop older ``src-<hash>`` tags so every edit does not leave an image behind."""
    result = _quiet(["podman", "images", "--filter", f"reference={IMAGE}",
                     "--format", "{{.Repository}}:{{.Tag}}"])
    tags = [t for t in result.stdout.split() if t.split(":")[-1].startswith("src-") and t != keep]
    for old in tags[KEEP_HASHED_TAGS - 1:]:  # podman lists newest first
        if _quiet(["podman", "rmi", old]).returncode == 0:  # fails harmlessly if in use
            progress(f"      removed old image {old}")


def _retag(image: str, tag: str) -> None:
    """Point ``tag`` at ``image``; the image it left is removed if nothing else names it."""
    wanted, before = find_image(image), find_image(tag)
    if before == wanted:
        return
    tagged = _quiet(["podman", "tag", image, tag])
    if tagged.returncode != 0:
        raise ImageBuildError(f"podman tag {image} {tag}: {tagged.stderr.strip()}")
    if before:
        names = _quiet(["podman", "image", "inspect", "--format", "{{.RepoTags}}", before])
        if names.stdout.strip() in ("[]", ""):
            _quiet(["podman", "rmi", before])  # fails harmlessly while a container uses it


def build_image(tag: str | None = DEFAULT_TAG, *, context: Path | None = None,
                project: Path | None = None, rebuild_base: bool = False,
                progress: Progress = stderr_progress) -> str:
    """Build (or reuse) the python3-ai image, tag it ``tag`` and return that tag.

    Skips every step whose inputs did not change; with an unchanged tree the whole call is a
    hash of the sources plus a few podman queries. With ``tag=None`` only the content-hashed
    tag ``IMAGE:src-<hash>`` is returned (tests use it, so they never move ``latest``).
    """
    start = time.monotonic()
    root = (project or find_project_root()).resolve()
    build_dir = root / ".build"
    context = (context or build_dir / "python3-ai").resolve()
    with _build_lock(context):
        base_id = ensure_base(build_dir, progress, rebuild=rebuild_base)
        files = snapshot(root)
        digest = source_hash(files, base_id)
        hashed = f"{IMAGE}:src-{digest}"
        if find_image(hashed):
            progress(f"[3/3] image {hashed}: up to date, nothing to build")
        else:
            ensure_dependency_wheels(context, progress)
            build_project_wheel(root, files, context, progress)
            progress(f"[3/3] podman build -> {hashed}")
            _stream(["podman", "build", "--layers", "--pull=never",
                     "--build-arg", f"BASE={BASE_IMAGE}",
                     "--label", f"{HASH_LABEL}={digest}",
                     "--label", f"{VERSION_LABEL}={edgewhisk.__version__}", "-t", hashed,
                     "-f", str(root / DOCKERFILE), str(context)], progress, "podman build")
            _prune_hashed_tags(hashed, progress)
        tag = tag or hashed
        if tag != hashed:
            _retag(hashed, tag)
        progress(f"image ready: {tag} (source hash {digest}, {time.monotonic() - start:.1f} s)")
    return tag


# --- CLI: `edgewhisk runtime image build` ---------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``edgewhisk runtime image``: one action, ``build``."""
    sub = parser.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="build the python3-ai image offline (cached)",
                           description=build_image.__doc__)
    build.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag (default {DEFAULT_TAG})")
    build.add_argument("--context", type=Path, default=None,
                       help="build context folder (default PROJECT/.build/python3-ai)")
    build.add_argument("--project", type=Path, default=None,
                       help="edgewhisk source tree to build from (default: this checkout)")
    build.add_argument("--rebuild-base", action="store_true",
                       help=f"debootstrap {BASE_IMAGE} again even if it exists")


def run(args: argparse.Namespace) -> int:
    """Run ``edgewhisk runtime image build``; the tag goes to stdout, progress to stderr."""
    if getattr(args, "image_command", "build") != "build":
        raise SystemExit(f"unknown image action {args.image_command!r}")
    try:
        tag = build_image(args.tag, context=args.context, project=args.project,
                          rebuild_base=args.rebuild_base)
    except ImageBuildError as exc:
        print(f"edgewhisk runtime image build: {exc}", file=sys.stderr)
        return 1
    print(tag)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m edgewhisk_runtime.images build ...`` without the CLI table."""
    parser = argparse.ArgumentParser(prog="edgewhisk runtime image")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
