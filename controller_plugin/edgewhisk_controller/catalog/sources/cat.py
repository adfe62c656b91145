"""``/whisk.system/utils/cat``: ``lines`` joined with newlines as ``payload``."""

from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    lines = args.get("lines") or []
    if not isinstance(lines, list):
        return {"error": "Expected 'lines' to be an array."}
    return {"lines": lines, "payload": "\n".join(str(line) for line in lines)}
