"""Bad cluster options are refused before the controller starts (exit 2, naming the
option, nothing created); an unreachable Redis fails the start with a message naming it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from edgewhisk_devkit import Controller, StartError, edgewhisk_command


@pytest.mark.parametrize("options, error", [
    (("--cluster-redis", "redis://127.0.0.1:1"),
     "--cluster-redis needs --db http://... (CouchDB)"),
    (("--db", "http://127.0.0.1:1", "--cluster-redis", "http://x"),
     "--cluster-redis must be a redis://HOST:PORT or rediss:// URL, got 'http://x'"),
    (("--db", "http://127.0.0.1:1", "--cluster-redis", "redis://127.0.0.1:1",
      "--cluster-id", "a b"), "--cluster-id must be 1-64 letters"),
    (("--db", "http://127.0.0.1:1", "--cluster-shard"), "--cluster-shard needs --cluster-redis"),
    (("--reconnect-cap", "-1"), "the reconnect cap must not be negative, got -1.0"),
    (("--reconnect-cap", "nan"), "the reconnect cap must not be negative, got nan"),
])
def test_bad_cluster_options_are_refused(tmp_path: Path, options: tuple[str, ...],
                                         error: str) -> None:
    done = subprocess.run(edgewhisk_command("controller", "--port", "0", "--data",
                                            str(tmp_path / "data"), *options),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and error in done.stderr, done.stderr
    assert not (tmp_path / "data").exists()


def test_an_unreachable_redis_fails_the_start_naming_it(tmp_path: Path, db: str) -> None:
    controller = Controller(tmp_path / "data", "--db", db, "--cluster-redis",
                            "redis://127.0.0.1:1", start_timeout_s=30)
    with pytest.raises(StartError) as failed:
        controller.start()
    assert "the cluster's Redis at redis://127.0.0.1:1 cannot be reached" in failed.value.log
