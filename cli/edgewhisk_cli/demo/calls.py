"""The demo's calls to the controller: the client's answers, or a :class:`DemoError` that
names the step that failed.

Why a layer at all: the demo reports a failure as "<step>: <what went wrong>" with the logs
worth reading (the activation's own, or the controller's when it did not answer), and an
activation that ran but failed is a failed step, not a result to print.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from edgewhisk_client import Activation, Client, ClientError, HttpError


class DemoError(Exception):
    """A step failed; ``str()`` says which and why, ``detail`` holds logs worth reading."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@contextmanager
def answering(name: str, controller_log: Callable[[], str]) -> Iterator[None]:
    """Run the calls of step ``name``; a refusal or no answer becomes a DemoError."""
    try:
        yield
    except HttpError as exc:
        raise DemoError(f"{name}: HTTP {exc.status}: {exc.error}") from exc
    except ClientError as exc:
        raise DemoError(f"{name}: the controller did not answer: {exc}",
                        controller_log()) from exc


def invoke(client: Client, action: str, params: dict[str, Any], name: str,
           controller_log: Callable[[], str]) -> Activation:
    """A blocking invoke (the record polled if it outlives the wait); a failed activation
    (application or platform error) raises DemoError with its logs."""
    with answering(name, controller_log):
        done = client.actions.invoke(action, params)
    if not done.success:
        outcome = done.response
        error = outcome.get("result", {}).get("error", outcome)
        raise DemoError(f"{name}: activation {done.id} failed ({outcome.get('status')}): "
                        f"{error}", "\n".join(done.logs))
    return done
