"""The agent's kept code (``codes.Codes``): what a run brought completes the runs that omit
it; what is kept stays within its bounds, least recently used first out."""

from __future__ import annotations

from edgewhisk_invoker.codes import Codes
from edgewhisk_tunnel import Run, RunSpec


def run(key: str, code: str | None, *, omitted: bool = False) -> Run:
    spec = RunSpec(key=key, kind="python:3", code=code, binary=False, main="main", image=None,
                   env={}, memory_mb=128, timeout_ms=1000, concurrency=1)
    return Run("a1", spec, {}, {}, code_omitted=omitted)


def test_a_run_without_its_code_gets_the_code_kept_from_an_earlier_one() -> None:
    codes = Codes()
    assert codes.missing(run("k", None, omitted=True))
    assert not codes.missing(run("k", "code of k")) and codes.code(run("k", "code of k")) \
        == "code of k"
    warm = run("k", None, omitted=True)
    assert not codes.missing(warm) and codes.code(warm) == "code of k"
    assert codes.missing(run("other", None, omitted=True))


def test_nothing_is_kept_for_a_version_1_connection_or_an_image_action() -> None:
    codes = Codes()
    assert codes.code(run("k", "code"), keep=False) == "code"
    assert codes.code(run("image", None)) is None
    assert "k" not in codes and "image" not in codes


def test_the_least_recently_used_code_goes_first_within_both_bounds() -> None:
    codes = Codes(keys=2, size=10)
    codes.code(run("a", "aaaa"))
    codes.code(run("b", "bbbb"))
    assert codes.code(run("a", None, omitted=True)) == "aaaa"  # a used last
    codes.code(run("c", "cccc"))  # three keys: b goes
    assert ("a" in codes, "b" in codes, "c" in codes) == (True, False, True)
    codes.code(run("d", "dddddddd"))  # 4 + 8 bytes > 10: a goes, then c
    assert ("a" in codes, "c" in codes, "d" in codes) == (False, False, True)
    codes.code(run("huge", "x" * 11))  # larger than all that is kept: not kept
    assert "huge" not in codes and "d" in codes
