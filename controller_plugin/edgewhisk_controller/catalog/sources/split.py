"""``/whisk.system/utils/split``: ``payload`` split into ``lines`` at ``separator`` (default:
line breaks)."""

import re
from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    if "payload" not in args:
        return {"error": "Expected an argument 'payload'."}
    payload = args["payload"]
    text = payload if isinstance(payload, str) else str(payload)
    separator = args.get("separator")
    lines = text.split(separator) if isinstance(separator, str) and separator \
        else re.split(r"\r?\n", text)
    return {"lines": lines, "payload": payload}
