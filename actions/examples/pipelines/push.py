"""Pipeline step "push": preload a model version to the devices a selector picks, so they hold
it before they next go where the network is poor.

It calls the controller's preload API (``POST .../artifacts/NAME@VERSION/preload``, body
``{"devices": {...}}``: labels, owner, role, networks, capabilities, min_battery, charging)
with the activation's own key, as an OpenWhisk action calls its platform's API: deploy it
with ``-a provide-api-key true`` (the controller then passes ``__OW_API_KEY``; without it the
step says so). The answer lists each device picked and whether it was ``preloaded``,
``cached`` or ``refused`` (and why). ``@policy.fn(node="cloud")`` (preferred, not strict): a
control step of the platform, best run in the cloud rather than relayed by a device on a
metered link, but anywhere will do.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from edgewhisk import policy

TIMEOUT_S = 120


@policy.fn(node="cloud")
def main(args: dict[str, Any]) -> dict[str, Any]:
    key, host = os.environ.get("__OW_API_KEY"), os.environ.get("__OW_API_HOST")
    if not key or not host:
        return {"error": "push needs the platform's API: deploy it with -a provide-api-key true"}
    name, version = str(args["name"]), int(args["version"])
    path = (f"/api/v1/namespaces/_/artifacts/{urllib.parse.quote(name, safe='/')}@{version}"
            "/preload")
    request = urllib.request.Request(
        host.rstrip("/") + path, method="POST",
        data=json.dumps({"devices": args.get("devices", {})}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " + base64.b64encode(key.encode()).decode()})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            pushed = json.load(answer)
    except urllib.error.HTTPError as error:
        return {"error": f"preload of {name}@{version} refused: HTTP {error.code} "
                         f"{error.read().decode(errors='replace')[:500]}"}
    return {"artifact": pushed["artifact"], "devices": pushed["devices"]}
