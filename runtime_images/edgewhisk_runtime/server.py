"""The action proxy: OpenWhisk's POST /init and POST /run on one aiohttp server.

What it honours is section 1 of docs/openwhisk-contract.md, and where that page is silent, the
upstream Go actionloop proxy (apache/openwhisk-runtime-go) with ``OW_LOG_INIT_ERROR`` set, as
the upstream Python images run it: init failures answer 502 with a short error, write the
details to stderr and end the logs with the sentinels.

Decisions where the contract page is silent (status codes in :mod:`.exceptions`):

- every /run response, errors included (malformed body, run before init, dead action,
  deadline), ends the logs with one sentinel per stream, so an invoker never waits for logs
  that will not come; a successful or refused-twice /init writes none, a failed one writes them;
- ``deadline`` is enforced by killing the action process (504, then ``command exited`` for
  later runs, as after any death); a deadline more than an hour in the past did not come from
  a live invoker (upstream's own suite sends ``"123"``) and is not enforced;
- the action process gets the allow-listed part of the proxy's environment
  (``environment.allowed``: ``PATH``, ``LANG``, ``HOME``, ``__OW_*``...) plus the init ``env``,
  nothing else of the host's (upstream's Go proxy passes only ``__OW_*`` and the init ``env``);
  ``__OW_*`` keys of a previous activation that the current one lacks (``api_key`` without
  ``provide-api-key``) are removed, not kept.

Why this shape: /init extracts the action (:mod:`.archive`) and starts one action process
(:mod:`.process`) that every /run reuses; each /run goes through the middleware pipeline
(:func:`default_stages`, composed once) and then ends its logs with the sentinel lines, so
the invoker can cut the logs per activation.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from edgewhisk_runtime import archive, logs, workdirs
from edgewhisk_runtime.activation import Activation, Handler, Middleware, Result
from edgewhisk_runtime.artifacts import from_directory
from edgewhisk_runtime.artifacts.stage import STAGED_FIELD
from edgewhisk_runtime.artifacts.values import GATES_HEADER
from edgewhisk_runtime.exceptions import (
    ActionStartError,
    AlreadyInitialized,
    ArtifactError,
    BadRequest,
    InitFailure,
    MissingCode,
    NotAJsonResult,
    NotInitialized,
    RuntimeFailure,
)
from edgewhisk_runtime.launcher import die_with_parent
from edgewhisk_runtime.middleware import compose
from edgewhisk_runtime.middleware.binding import BindingMiddleware, parse_staged
from edgewhisk_runtime.middleware.errors import ErrorsMiddleware, to_result
from edgewhisk_runtime.middleware.gates import GatesMiddleware
from edgewhisk_runtime.middleware.metrics import MetricsMiddleware, Recorder
from edgewhisk_runtime.process import ActionProcess, child_environment

# An invoker's deadline is at most a few minutes ahead (timeout limit 300 s). A deadline more
# than an hour in the past did not come from a live invoker (upstream's own conformance suite
# sends "123"), so it is not enforced.
STALE_DEADLINE_S = 3600.0


@dataclass
class Config:
    host: str = "0.0.0.0"
    port: int = 8080
    listen_fd: int | None = None  # an inherited listening socket, served instead of host:port
    artifacts: Path | None = None
    workdir: Path | None = None
    max_zip_bytes: int = archive.DEFAULT_MAX_BYTES
    max_zip_entries: int = archive.DEFAULT_MAX_ENTRIES
    max_body_bytes: int = 256 * 1024 * 1024
    lifeline_stdin: bool = False  # exit when stdin closes (the owner died)


def default_artifacts_dir() -> Path:
    return Path(os.environ.get("EDGEWHISK_ARTIFACTS") or Path.cwd() / "artifacts")


def default_stages(config: Config, workdir: Path, recorder: Recorder) -> list[Middleware]:
    """The /run pipeline, outermost first: errors, metrics, gates, SDK binding."""
    resolver, sink = from_directory(config.artifacts or default_artifacts_dir())
    return [ErrorsMiddleware(), MetricsMiddleware(recorder), GatesMiddleware(),
            BindingMiddleware(resolver, sink, workdir / "outboxes")]


def _parse(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Error unmarshaling request: {exc}") from exc
    if not isinstance(doc, dict):
        raise BadRequest("Error unmarshaling request: the body is not a JSON object")
    return doc


def _env_value(value: Any) -> str:
    """Upstream's rule: strings as they are, anything else as JSON (null as empty)."""
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value)


def deadline_of(raw: Any) -> float | None:
    """``deadline`` (ms since the epoch) as a time.monotonic() instant, or None."""
    try:
        remaining = float(raw) / 1000 - time.time()
    except (TypeError, ValueError):
        return None
    if remaining < -STALE_DEADLINE_S:
        return None
    return time.monotonic() + remaining


def _response(result: Result, activation: Activation | None = None) -> web.Response:
    headers = {}
    if activation is not None and "run_ms" in activation.metrics:
        headers["X-Edgewhisk-Run-Ms"] = f"{activation.metrics['run_ms']:.3f}"
    if activation is not None and activation.verdicts:
        headers[GATES_HEADER] = json.dumps([v.to_json() for v in activation.verdicts],
                                           separators=(",", ":"))
    return web.Response(body=json.dumps(result.body).encode(), status=result.status,
                        content_type="application/json", headers=headers or None)


class Proxy:
    """State of one action container: not initialized → initialized (one action process)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.workdir = config.workdir or workdirs.make(workdirs.ACTION)
        self.recorder = Recorder()
        self.action: ActionProcess | None = None
        self.initializing = False
        self.pipeline: Handler = compose(
            default_stages(config, self.workdir, self.recorder), self._call_action)

    async def handle_init(self, request: web.Request) -> web.Response:
        if self.action is not None or self.initializing:
            logs.stderr(AlreadyInitialized.default_message)
            return _response(to_result(AlreadyInitialized()))
        self.initializing = True
        try:
            self.action = await self._init(await request.read())
            return web.json_response({"ok": True})
        except InitFailure as exc:
            logs.sentinels()
            return _response(to_result(exc))
        except Exception as exc:
            return _response(to_result(exc))
        finally:
            self.initializing = False

    async def _init(self, body: bytes) -> ActionProcess:
        value = _parse(body).get("value") or {}
        if not isinstance(value, dict):
            raise BadRequest("Error unmarshaling request: 'value' is not a JSON object")
        code = value.get("code")
        if not code or not isinstance(code, str):
            raise MissingCode()
        action_dir = self.workdir / "action"
        if action_dir.exists():
            shutil.rmtree(action_dir)
        if value.get("binary"):
            self._extract(code, action_dir)
        else:
            action_dir.mkdir(parents=True)
            (action_dir / "__main__.py").write_text(code, encoding="utf-8")
        try:
            return await self._start(action_dir, value)
        except BaseException:
            shutil.rmtree(action_dir, ignore_errors=True)
            raise

    def _extract(self, code: str, action_dir: Path) -> None:
        """A zip is extracted safely; other bytes are the program itself (as upstream saves
        a binary that is not an archive as the action's executable)."""
        try:
            data = base64.b64decode("".join(code.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"cannot decode the request: {exc}") from exc
        if data[:2] == b"PK":
            archive.extract(data, action_dir, max_bytes=self.config.max_zip_bytes,
                            max_entries=self.config.max_zip_entries)
        else:
            action_dir.mkdir(parents=True)
            (action_dir / "__main__.py").write_bytes(data)

    async def _start(self, action_dir: Path, value: dict[str, Any]) -> ActionProcess:
        if not (action_dir / "__main__.py").is_file():
            logs.stderr("Zip file does not include __main__.py")
            raise ActionStartError(
                "Cannot start action: the zip file does not include __main__.py.")
        env = value.get("env") or {}
        if not isinstance(env, dict):
            raise BadRequest("Error unmarshaling request: 'env' is not a JSON object")
        init_env = {str(k): _env_value(v) for k, v in env.items()}
        process = ActionProcess(action_dir, str(value.get("main") or "main"),
                                child_environment(init_env))
        await process.start()
        return process

    async def handle_run(self, request: web.Request) -> web.Response:
        activation = None
        try:
            body = _parse(await request.read())
            if self.action is None:
                raise NotInitialized()
            staged = parse_staged(body.pop(STAGED_FIELD, None))
            activation = Activation(
                value=body.get("value", {}),
                env={f"__OW_{k.upper()}": _env_value(v) for k, v in body.items() if k != "value"},
                deadline=deadline_of(body.get("deadline")),
                annotation=self.action.annotation, staged=staged)
            result = await self.pipeline(activation)
        except RuntimeFailure as exc:
            result = to_result(exc)
        finally:
            logs.sentinels()
        return _response(result, activation)

    async def _call_action(self, activation: Activation) -> Result:
        """The pipeline's endpoint: one round trip to the action process."""
        if self.action is None:
            raise NotInitialized()
        reply = await self.action.call(activation.message(), activation.deadline)
        if "result" in reply:
            return Result(200, reply["result"], reply.get("produced") or {},
                          reply.get("observed") or {})
        if "artifact_error" in reply:
            raise ArtifactError(reply["artifact_error"])
        raise NotAJsonResult()

    async def close(self) -> None:
        if self.action is not None:
            await self.action.kill()
        if self.config.workdir is None:
            shutil.rmtree(self.workdir, ignore_errors=True)


PROXY = web.AppKey("proxy", Proxy)


def build_app(config: Config) -> web.Application:
    app = web.Application(client_max_size=config.max_body_bytes)
    proxy = Proxy(config)
    app[PROXY] = proxy
    app.router.add_post("/init", proxy.handle_init)
    app.router.add_post("/run", proxy.handle_run)

    async def close_proxy(_: web.Application) -> None:
        await proxy.close()

    app.on_cleanup.append(close_proxy)
    return app


async def serve(config: Config) -> None:
    """Serve until SIGTERM/SIGINT; stdout stays reserved for action output and sentinels."""
    runner = web.AppRunner(build_app(config), access_log=None, handle_signals=False)
    await runner.setup()
    site: web.BaseSite
    if config.listen_fd is None:
        site = web.TCPSite(runner, config.host, config.port)
    else:
        site = web.SockSite(runner, socket.socket(fileno=config.listen_fd))
    await site.start()
    if sys.stderr.isatty() and config.listen_fd is None:
        logs.stderr(f"edgewhisk runtime listening on http://{config.host}:{config.port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    lifeline = None
    if config.lifeline_stdin:
        die_with_parent()
        lifeline = asyncio.ensure_future(_watch_lifeline(stop))
    try:
        await stop.wait()
    finally:
        if lifeline is not None:
            lifeline.cancel()
        with contextlib.suppress(Exception):
            # The action first: aiohttp's cleanup waits for the /run handlers in flight, and
            # a stopped proxy's action must not run on until its deadline.
            await runner.app[PROXY].close()
            await runner.cleanup()


async def _watch_lifeline(stop: asyncio.Event) -> None:
    """Stop when stdin reaches end of file: the owner that holds its write end has gone.

    Why a pipe and not a signal: the kernel closes the pipe however the owner dies (even
    SIGKILL), so a proxy started by a process backend never outlives its owner.
    """
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while await reader.read(4096):
            pass
    finally:
        transport.close()
    stop.set()
