"""A controller that stalls (a long pause, a frozen VM) instead of dying and is taken over
leaves at once when it runs again, instead of finishing, a second time, the work its taker now
finishes (one live again before the grace ends is not taken over: ``test_under_way.py``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from signal import SIGCONT, SIGSTOP

from edgewhisk_controller.cluster.node import FENCED_EXIT
from edgewhisk_devkit import UNLIMITED, Cluster, Redis

from .test_restart import _until


def test_a_controller_taken_over_while_stalled_leaves_when_it_runs_again(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c1 is held (SIGSTOP) until c0 has taken it over, then let go: it exits at once with
    ``FENCED_EXIT`` (before, it went on as if nothing had happened, beside its taker), and
    started again it joins as a new incarnation and stays."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster:
        os.kill(cluster[1].pid, SIGSTOP)
        try:
            _until(lambda: "took over controller c1" in cluster[0].log(), 30.0)
        finally:
            os.kill(cluster[1].pid, SIGCONT)
        status = cluster[1].child.wait_exit(15.0)
        cluster[1].stop()
        fenced_log = cluster[1].log()
        cluster[1].start()
        time.sleep(2.0)  # several of its publications: a fence would have ended it
        assert cluster[1].child.process is not None
        assert cluster[1].child.process.poll() is None
        with cluster[1].client() as c1:
            assert c1.namespaces() is not None
    assert status == FENCED_EXIT
    assert "took this controller (c1, incarnation" in fenced_log
