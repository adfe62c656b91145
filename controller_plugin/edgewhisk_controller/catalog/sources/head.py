"""``/whisk.system/utils/head``: the first ``num`` (default 1) of ``lines``."""

from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    lines = args.get("lines") or []
    num = args.get("num") or 1
    if not isinstance(lines, list) or type(num) is not int or num < 0:
        return {"error": "Expected 'lines' to be an array and 'num' a non-negative integer."}
    return {"lines": lines[:num], "num": num}
