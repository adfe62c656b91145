"""``/whisk.system/utils/echo``: returns its input (apache/openwhisk-catalog's ``echo``)."""

from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    return args
