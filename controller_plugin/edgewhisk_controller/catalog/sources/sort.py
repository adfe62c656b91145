"""``/whisk.system/utils/sort``: ``lines`` sorted, and how many there are."""

from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    lines = args.get("lines") or []
    if not isinstance(lines, list):
        return {"error": "Expected 'lines' to be an array."}
    ordered = sorted(lines, key=str)  # JavaScript's Array.sort: by string value
    return {"lines": ordered, "length": len(ordered)}
