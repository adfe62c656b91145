"""The demo's plain-text tables: a row too wide for a terminal is wrapped, not cut."""

from __future__ import annotations

from edgewhisk_cli.demo.report import Row, render


def test_a_table_within_its_width_is_one_line_per_row() -> None:
    table = render([Row("train", "cloud", "model@1", result="ok", time="1.0s")], width=100)
    assert table.splitlines()[2].split() == ["train", "cloud", "model@1", "-", "-", "-", "ok",
                                             "1.0s"]
    assert len(table.splitlines()) == 3


def test_a_wide_cell_wraps_onto_indented_lines_within_the_width() -> None:
    words = " ".join(f"word{i}" for i in range(60))
    lines = render([Row("deploy", result=words, time="3.4s"), Row("train", result="short")],
                   width=100).splitlines()
    assert max(map(len, lines)) <= 100
    assert lines[2].startswith("deploy") and lines[2].endswith("3.4s")
    continued = [line for line in lines[3:] if line.startswith(" ")]
    assert len(continued) >= 2 and lines[-1].startswith("train")
    column = lines[0].index("result")
    text = " ".join(line[column:].split("  ")[0].strip() for line in lines[2:-1])
    assert text == words


def test_a_table_that_cannot_wrap_usefully_is_left_whole() -> None:
    wide = [Row("x" * 110, result="a b c")]
    assert render(wide, width=100).splitlines()[2].startswith("x" * 110)


def test_without_a_width_a_row_stays_on_one_line() -> None:
    words = " ".join(f"word{i}" for i in range(60))
    assert len(render([Row("deploy", result=words)]).splitlines()) == 3
