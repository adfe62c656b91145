"""The console's live feed (server-sent events) ends with the controller: a stream still open
when it stops is finished, not cut off after the requests' grace."""

from __future__ import annotations

from pathlib import Path

import requests

from ..api.harness import Controller


def test_an_open_event_stream_ends_cleanly_when_the_controller_stops(tmp_path: Path) -> None:
    """A console page open during a stop: its stream ends with the response's last chunk and
    nothing is logged as failed. Before, the handler waited for a record until the
    requests' grace cut it (the stream ended mid-response: ``ChunkedEncodingError``), and a
    record stored during the grace was written to the closing socket (a 500 logged)."""
    with Controller(tmp_path / "data").start() as controller:
        page = requests.Session()
        login = page.post(f"{controller.api_host}/console/login", data={"key": controller.auth})
        assert login.status_code == 200 and login.url.endswith("/console/")
        stream = page.get(f"{controller.api_host}/console/events", stream=True, timeout=30)
        assert stream.status_code == 200
        assert stream.headers["Content-Type"] == "text/event-stream"
        status = controller.stop()
        body = b"".join(stream.iter_content(None))  # the last chunk came, or this raises
        log = controller.log()
    assert status == 0
    assert body == b""
    assert "/console/events failed" not in log
