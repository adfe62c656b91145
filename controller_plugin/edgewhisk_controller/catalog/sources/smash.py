"""``/whisk.system/utils/smash``: the input nested under the field ``$fieldName`` names."""

from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    parent = args.get("$fieldName")
    if not isinstance(parent, str):
        return {"error": "Expected an argument '$fieldName' of type 'string'."}
    return {parent: {k: v for k, v in args.items() if k != "$fieldName"}}
