"""``/whisk.system/utils/date``: the current date and time (UTC, ISO 8601 as JavaScript's
``Date`` serialises it)."""

import datetime
from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)
    return {"date": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"}
