"""ProgressLog: a few readable lines per large transfer, none for small ones."""

from __future__ import annotations

from edgewhisk_tunnel.progress import MB, ProgressLog


def _feed(log: ProgressLog, ref: str, size: int, step: int) -> None:
    for done in range(0, size, step):
        log(ref, done, size)
    log(ref, size, size)


def test_a_large_transfer_reports_every_tenth_and_its_end() -> None:
    lines: list[str] = []
    _feed(ProgressLog(lines.append, prefix="u1-phone: artifact"), "g/base@1", 200 * MB, MB)
    assert lines[0] == "u1-phone: artifact g/base@1: 0.0/200.0 MB (0%)"
    assert [line.split("(")[1].split(")")[0] for line in lines] == [
        f"{p}%" for p in range(0, 101, 10)]
    assert lines[-1].startswith("u1-phone: artifact g/base@1: 200.0/200.0 MB (100%) at ")
    assert lines[-1].endswith(" MB/s")


def test_small_transfers_stay_quiet_and_transfers_are_told_apart() -> None:
    lines: list[str] = []
    log = ProgressLog(lines.append)
    _feed(log, "g/readings@1", 20_000, 1000)
    assert lines == []
    log("g/a@1", 0, 8 * MB)
    log("g/b@1", 0, 8 * MB)
    log("g/a@1", 8 * MB, 8 * MB)
    assert [line.split(":")[0] for line in lines] == ["artifact g/a@1", "artifact g/b@1",
                                                      "artifact g/a@1"]
