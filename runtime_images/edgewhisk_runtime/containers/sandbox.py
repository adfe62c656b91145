"""The process backend's sandbox: each action proxy runs inside bubblewrap (``bwrap``).

Why the whole proxy and not only the action process it spawns: the proxy parses tenant input
(zips, code, the /run fields) and writes produced artifacts where a /run field says, so left
outside it would do so with the invoker's rights; inside, it can reach nothing an action
could not. And it costs nothing warm: the sandbox is built once per container (a cold start),
and a warm /run is the same HTTP request as without it.

What one sandbox gets (:meth:`Sandbox.command`):

- its own user namespace (``--unshare-user --uid/--gid``): no capabilities, and a process
  count of its own for ``RLIMIT_NPROC`` (the kernel exempts root: see the README);
  its own pid namespace (``--unshare-pid``: it sees only its processes, and they all die with
  it), IPC and hostname; ``--die-with-parent``: it dies with the invoker;
- ``--clearenv`` then exactly the proxy's environment (``edgewhisk_runtime.environment``);
- a read-only root holding only what the runtime needs (``/usr`` and its links, a few files
  of ``/etc``, the Python installation, the runtime's and the SDK's packages, Node.js and its
  proxy), a private ``/tmp`` (a tmpfs capped at the action's memory), ``/proc`` and ``/dev``
  of its own, and its work folder, writable, but for ``in/`` (its staged consumes, read-only:
  :mod:`.exchange`); folders the invoker names as ``hidden`` (its ``--data``, its node store)
  are covered by an empty tmpfs wherever a bound folder holds them;
- resource limits from the action's limits, by ``prlimit`` (:class:`Limits`).

The network is not unshared: actions call APIs, as OpenWhisk actions do, and the invoker
reaches the proxy on a loopback port.

:func:`probe` runs bubblewrap once at start; where it is missing or cannot create the
namespaces, the backend runs unsandboxed and says why (``ProcessBackend``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SANDBOX_UID = 1000
"""The action's user and group inside its user namespace (not the invoker's)."""
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("resolv.conf", "hosts", "nsswitch.conf", "host.conf", "gai.conf", "localtime",
             "ssl", "ca-certificates", "ca-certificates.conf", "mime.types")
"""What of /etc an action needs: name resolution, TLS roots, the time zone, MIME types."""
RUNTIME_PACKAGES = ("edgewhisk_runtime", "edgewhisk")
PROBE_TIMEOUT_S = 10.0
DATA_FACTOR = 4
"""RLIMIT_DATA per MB of the action's memory limit (see :class:`Limits`)."""
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits of one sandbox, applied by ``prlimit`` before the proxy.

    ``data_bytes`` (RLIMIT_DATA: heap and private writable mappings of each process) is
    :data:`DATA_FACTOR` times the action's memory limit: without cgroups there is no
    resident-set limit, and RLIMIT_DATA counts what a process reserves, not what it uses
    (MXNet reserves about 450 MB at import and dies below that, using far less). CPU time is
    limited per activation by the action process itself (``launcher``: its soft RLIMIT_CPU is
    raised by the time left to the deadline), as a warm process serves many activations.
    ``nproc`` and ``fsize_bytes`` are the backend's.
    """

    data_bytes: int
    fsize_bytes: int
    nproc: int
    tmp_bytes: int

    @classmethod
    def of(cls, memory_mb: int, *, fsize_mb: int, nproc: int) -> Limits:
        return cls(data_bytes=memory_mb * MIB * DATA_FACTOR, fsize_bytes=fsize_mb * MIB,
                   nproc=nproc, tmp_bytes=memory_mb * MIB)

    def prlimit(self, prlimit: str, *, nproc: bool = True) -> list[str]:
        """``prlimit --data=... --fsize=... [--nproc=...] --`` (soft and hard alike)."""
        return [prlimit, f"--data={self.data_bytes}", f"--fsize={self.fsize_bytes}",
                *([f"--nproc={self.nproc}"] if nproc else []), "--"]


def package_dirs(names: Iterable[str] = RUNTIME_PACKAGES) -> list[Path]:
    """Where the runtime's import packages live (a checkout's folders in an editable install)."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found.append(Path(next(iter(spec.submodule_search_locations))).resolve())
    return found


def python_dirs(python: str) -> list[Path]:
    """The interpreter's installation: its prefixes (a virtualenv's and its base's), the
    site-packages folders outside them, and the folders ``.pth`` files add to ``sys.path``.
    Not ``PYTHONPATH`` (the proxy's environment has none) nor the invoker's working folder."""
    dirs = {Path(sys.prefix), Path(sys.base_prefix), Path(python).parent.parent,
            Path(python).resolve().parent.parent}
    dirs.update(Path(p) for p in site.getsitepackages())
    user_site = Path(site.getusersitepackages())
    if user_site.is_dir():
        dirs.add(user_site)
    given = {Path(p).resolve() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    cwd = Path.cwd().resolve()
    for entry in sys.path[1:]:  # [0] is the script's folder or the working folder
        path = Path(entry).resolve() if entry else cwd
        if path.is_dir() and path != cwd and path not in given:
            dirs.add(path)
    return [d.resolve() for d in dirs]


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """The existing folders of ``paths`` not inside another one of them, sorted."""
    kept: list[Path] = []
    for path in sorted({p for p in paths if p.exists()}, key=lambda p: len(p.parts)):
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return sorted(kept)


def probe(bwrap: str | None) -> str | None:
    """None when ``bwrap`` can build this module's sandboxes here, else why not."""
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        done = subprocess.run(
            [bwrap, "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
             "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
             "--", "true"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap cannot run: {exc}"
    if done.returncode != 0:
        return ("bubblewrap cannot create the sandbox's namespaces here: "
                f"{done.stderr.strip() or f'exit status {done.returncode}'}")
    return None


class Sandbox:
    """Builds the ``bwrap`` command line of one container (see the module docstring)."""

    def __init__(self, bwrap: str, prlimit: str, *, python: str = sys.executable,
                 extra: Sequence[Path] = (), hidden: Sequence[Path] = ()) -> None:
        self.bwrap = bwrap
        self.prlimit = prlimit
        self.binds = _outermost([*python_dirs(python), *package_dirs(), *extra])
        self.hidden = [Path(h).resolve() for h in hidden]

    @classmethod
    def detect(cls, *, python: str = sys.executable, extra: Sequence[Path] = (),
               hidden: Sequence[Path] = ()) -> tuple[Sandbox | None, str | None]:
        """(a sandbox, None) where bubblewrap works, else (None, why not)."""
        bwrap, prlimit = shutil.which("bwrap"), shutil.which("prlimit")
        reason = probe(bwrap)
        if reason is None and prlimit is None:
            reason = "prlimit (util-linux) is not installed"
        if reason is not None or bwrap is None or prlimit is None:
            return None, reason
        return cls(bwrap, prlimit, python=python, extra=extra, hidden=hidden), None

    def command(self, inner: Sequence[str], *, workdir: Path, inbox: Path, limits: Limits,
                env: Mapping[str, str], writable: Sequence[Path] = ()) -> list[str]:
        """``bwrap ... -- prlimit ... -- INNER`` for a container working in ``workdir``
        (``writable``: folders bound read-write besides it, e.g. the namespace's own
        ``--artifacts`` folder)."""
        args = [self.bwrap, "--unshare-user", "--uid", str(SANDBOX_UID), "--gid",
                str(SANDBOX_UID), "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        # /tmp first: a bound folder may lie inside it (a virtualenv in /tmp).
        args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.tmp_bytes),
                 "--tmpfs", "/tmp", *_system()]
        for folder in self.binds:
            args += ["--ro-bind", str(folder), str(folder)]
        # An empty folder where a bind would show a hidden one: read-only once the work
        # folder (which may lie inside it) has its mount point.
        hidden = [h for h in self.hidden if any(h == b or b in h.parents for b in self.binds)]
        for folder in hidden:
            args += ["--size", "4096", "--tmpfs", str(folder)]
        for folder in (workdir, *writable):
            args += ["--bind", str(folder), str(folder)]
        args += ["--ro-bind", str(inbox), str(inbox)]
        for folder in hidden:
            args += ["--remount-ro", str(folder)]
        args += ["--remount-ro", "/", "--chdir", str(workdir), "--"]
        return args + limits.prlimit(self.prlimit) + list(inner)


def _system() -> list[str]:
    """``/usr`` read-only, the merged-/usr links as links, the needed files of ``/etc``."""
    args = ["--ro-bind", "/usr", "/usr"]
    for link in map(Path, SYSTEM_LINKS):
        if link.is_symlink():
            args += ["--symlink", str(link.readlink()), str(link)]
        elif link.is_dir():
            args += ["--ro-bind", str(link), str(link)]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args
