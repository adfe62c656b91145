"""``/whisk.system/utils/namespace``: the namespace the activation runs for."""

import os
from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    return {"namespace": os.environ.get("__OW_NAMESPACE")}
