"""``bench/_report.py``'s one table formatter, which every benchmark's tables go through: the
header's widths and alignment hold for every row, and a short row (a ratio row) stops early."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _report import table  # noqa: E402  (bench/ is a folder of scripts, not a package)


def test_a_table_aligns_its_cells_under_the_header_and_rules_it() -> None:
    text = table((("side", -6), ("rate", 6), ("p50", 5)),
                 [["one", "12", "0.50"], ["two", "1234567", "0.25"], ["2/1", "0.50"]])
    assert text.splitlines() == ["side     rate   p50",
                                 "-" * 19,
                                 "one        12  0.50",
                                 "two    1234567  0.25",  # too wide: pushed, never cut
                                 "2/1      0.50"]
