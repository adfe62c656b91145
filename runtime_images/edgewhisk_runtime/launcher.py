"""The action process: imports the action once, then answers one activation per line.

Run by the proxy as ``python -m edgewhisk_runtime.launcher DIR MAIN IN_FD OUT_FD`` with the
action folder as cwd (the upstream actionloop ``launcher.py`` plays the same role). Why a
separate process: a crashing, exiting or hanging action must never take the proxy down, and
the proxy must be able to kill it at the deadline.

Protocol (one JSON object per line in each direction):

- after import the launcher writes ``{"ok": true, "annotation": {...} | null}`` or
  ``{"ok": false, "error": "..."}`` (details already on stderr) and exits;
- per activation it reads ``{"value", "env", "consumes", "produces", "outbox", "models",
  "monitor", "cpu_s"}`` (``cpu_s``: the CPU time it may use, :func:`limit_cpu`) and writes
  ``{"result": ..., "produced": {name: {"path", "format", "metadata", "metrics"}},
  "observed": {...}}``, ``{"not_json": "<type>"}`` or ``{"artifact_error": "..."}``.

The gates' side channel: ``monitor`` (from the gate stage) names the consumed models drift
gates watch, with their version and (once per version) their reference's bin edges (their
handles instrument what ``main`` loads), and the bias measurements to make on produced
models; what they saw comes back as ``observed``, next to the result, which stays exactly
what ``main`` returned. A produced model (``models``) gets the training reference of
the data this activation consumed in its metadata (``instrument.reference_of``).

stdout/stderr are the proxy's own (inherited); both are flushed before every reply, so the
proxy's sentinel lines always follow the action's output. Only the standard library is
imported here; ``edgewhisk`` only when the action is decorated. Requests and replies travel on
dedicated pipes, so an action reading stdin or printing cannot corrupt the protocol.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import math
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ActionFn = Callable[..., Any]


class StartError(Exception):
    """The action cannot start; the message is the one the proxy returns."""


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL us when our parent dies (Linux), so no action outlives its
    proxy and no proxy its invoker (the proxy calls it too)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def limit_cpu(seconds: int | None) -> None:
    """Let this activation use at most ``seconds`` more CPU time (all threads together):
    SIGXCPU ends the action past it. The soft RLIMIT_CPU, because a warm process serves many
    activations and an unprivileged process can never raise a hard limit again; the proxy's
    wall-clock deadline stays the bound an action cannot move."""
    if seconds is None:
        return
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    budget = math.ceil(usage.ru_utime + usage.ru_stime) + seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        budget = min(budget, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (budget, hard))


def _activate_virtualenv(action_dir: Path) -> None:
    """Activate ``virtualenv/`` the way upstream's launcher does (its activate_this.py)."""
    venv = action_dir / "virtualenv"
    if not venv.is_dir():
        return
    for candidate in (venv / "bin" / "activate_this.py", venv / "Scripts" / "activate_this.py"):
        if candidate.exists():
            code = compile(candidate.read_text(), str(candidate), "exec")
            exec(code, {"__file__": str(candidate)})
            return
    message = "Invalid virtualenv. Zip file does not include 'activate_this.py'."
    print(message, file=sys.stderr)
    raise StartError(message)


def load_action(action_dir: Path, entry: str) -> ActionFn:
    """Import ``__main__.py`` as module ``main__`` (upstream's name) and return ``entry``."""
    _activate_virtualenv(action_dir)
    source = action_dir / "__main__.py"
    spec = importlib.util.spec_from_file_location("main__", source)
    if spec is None or spec.loader is None:
        raise StartError(f"Cannot start action: cannot load {source.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["main__"] = module
    spec.loader.exec_module(module)
    fn = getattr(module, entry, None)
    if not callable(fn):
        message = f"Cannot start action: the action has no function named '{entry}'."
        print(message, file=sys.stderr)
        raise StartError(message)
    return fn


def annotation_of(fn: ActionFn) -> dict[str, Any] | None:
    """The edgewhisk annotation of a decorated main (validated by the SDK), else None."""
    if not hasattr(fn, "__edgewhisk__"):
        return None
    import edgewhisk

    return edgewhisk.describe(fn)


class Session:
    """One started action: applies per-activation env, calls main, saves produced values."""

    def __init__(self, fn: ActionFn) -> None:
        self.fn = fn
        self.exported: set[str] = set()
        self.observer: Any = None  # instrument.Observer, once a drift gate watches a model

    def export_env(self, env: dict[str, str]) -> None:
        """Export this activation's ``__OW_*`` variables; drop the previous one's leftovers."""
        for key in self.exported - env.keys():
            os.environ.pop(key, None)
        os.environ.update(env)
        self.exported = set(env)

    def handles(self, consumes: list[dict[str, Any]], watched: list[str]) -> dict[str, Any]:
        if not consumes:
            return {}
        from edgewhisk import ArtifactHandle

        handles = {}
        for item in consumes:
            path, name = Path(item["path"]), item["name"]
            hook = functools.partial(self.observer.instrument, name) if name in watched else None
            handles[name] = ArtifactHandle(
                item["kind"], name, item.get("ref"), functools.partial(Path, path),
                format=item.get("format"), on_load=hook,
            )
        return handles

    def watch(self, watched: dict[str, Any]) -> None:
        """Start this activation's summaries of the models drift gates watch."""
        if not watched:
            return
        from edgewhisk_runtime.artifacts.instrument import Observer

        if self.observer is None:
            self.observer = Observer()
        self.observer.start(watched)

    def observed(self, result: Any, message: dict[str, Any]) -> dict[str, Any]:
        """What the gates asked for: the watched models' summaries, the bias measurements
        (made on the produced values before they are saved)."""
        monitor = message.get("monitor") or {}
        observed: dict[str, Any] = {}
        if monitor.get("drift") and self.observer is not None:
            observed["drift"] = self.observer.summaries()
        if monitor.get("bias") and isinstance(result, dict):
            from edgewhisk_runtime.artifacts.instrument import measure_bias

            with self.observer.pause() if self.observer is not None else contextlib.nullcontext():
                observed["bias"] = measure_bias(result, monitor["bias"],
                                                message.get("consumes") or [])
        return observed

    def save(self, result: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        """Replace produced values by files in the outbox; the proxy's sink stores them.
        A produced model gets the training reference of the data consumed (if any)."""
        from edgewhisk import save_artifact
        from edgewhisk.output import unwrap

        produced = {}
        models = set(message.get("models") or ())
        for name in message["produces"]:
            if name not in result:
                continue
            dest = Path(message["outbox"]) / name
            dest.mkdir(parents=True, exist_ok=True)
            value, metadata, metrics = unwrap(result.pop(name))
            path, fmt = save_artifact(value, dest, name=name)
            if name in models:
                metadata = _referenced(metadata, message.get("consumes") or [])
            produced[name] = {"path": str(path), "format": fmt, "metadata": metadata,
                              "metrics": metrics}
        return produced

    def activate(self, message: dict[str, Any]) -> bytes:
        self.export_env(message.get("env") or {})
        limit_cpu(message.get("cpu_s"))
        consumes = message.get("consumes") or []
        watched = dict((message.get("monitor") or {}).get("drift") or {})
        try:
            self.watch(watched)
            handles = self.handles(consumes, list(watched))
        except Exception as exc:
            traceback.print_exc()
            return _encode({"artifact_error": f"cannot inject a consumed artifact: {exc}"})
        try:
            result = self.fn(message.get("value", {}), **handles)
        except Exception as exc:
            traceback.print_exc()
            return _encode({"result": {"error": str(exc)}})
        if not isinstance(result, dict | list):
            return _encode({"not_json": type(result).__name__})
        observed = self.observed(result, message)
        produced: dict[str, Any] = {}
        if message.get("produces") and isinstance(result, dict):
            try:
                produced = self.save(result, message)
            except Exception as exc:
                traceback.print_exc()
                return _encode({"artifact_error": f"cannot save a produced artifact: {exc}"})
        try:
            return _encode({"result": result, "produced": produced,
                            **({"observed": observed} if observed else {})})
        except (TypeError, ValueError) as exc:
            print(f"The action's result is not JSON: {exc}", file=sys.stderr)
            return _encode({"not_json": type(result).__name__})


def _referenced(metadata: dict[str, Any], consumes: list[dict[str, Any]]) -> dict[str, Any]:
    """A produced model's metadata with the training reference of the data consumed."""
    from edgewhisk.gates import REFERENCE_KEY

    from edgewhisk_runtime.artifacts.instrument import training_reference

    reference = training_reference(consumes, metadata.get("input"))
    return metadata if reference is None else {**metadata, REFERENCE_KEY: reference}


def _encode(reply: dict[str, Any]) -> bytes:
    return json.dumps(reply, allow_nan=False).encode() + b"\n"


def _send(out: Any, data: bytes) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    out.write(data)
    out.flush()


def main(argv: list[str]) -> int:
    action_dir, entry, in_fd, out_fd = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    die_with_parent()
    out = os.fdopen(out_fd, "wb")
    requests = os.fdopen(in_fd, "rb")
    os.chdir(action_dir)
    sys.path.insert(0, str(action_dir))
    try:
        fn = load_action(action_dir, entry)
        annotation = annotation_of(fn)
    except StartError as exc:
        _send(out, _encode({"ok": False, "error": str(exc)}))
        return 1
    except Exception as exc:
        traceback.print_exc()
        error = f"Cannot start action: {type(exc).__name__}: {exc}"
        _send(out, _encode({"ok": False, "error": error}))
        return 1
    _send(out, _encode({"ok": True, "annotation": annotation}))
    session = Session(fn)
    for line in requests:
        _send(out, session.activate(json.loads(line)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
