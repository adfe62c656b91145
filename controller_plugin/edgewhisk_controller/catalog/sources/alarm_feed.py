"""The ``/whisk.system/alarms`` feed actions (``alarm``, ``interval``, ``once``).

As a feed action (apache/openwhisk:docs/feeds.md): ``lifecycleEvent`` (CREATE, READ, UPDATE,
DELETE, PAUSE, UNPAUSE), ``triggerName`` (``/ns/trigger``) and ``authKey`` (the trigger
owner's key), plus the schedule's parameters. It tells the controller's alarm provider
(``/api/v1/namespaces/{ns}/alarms/{trigger}``) with that key, so it can only schedule the key's
own triggers. ``alarm_kind`` is the feed's own parameter (``final``: an invocation cannot
change it).
"""

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

LIFECYCLE = ("lifecycleEvent", "triggerName", "authKey", "alarm_kind")
METHODS = {"CREATE": "PUT", "UPDATE": "PUT", "READ": "GET", "DELETE": "DELETE",
           "PAUSE": "POST", "UNPAUSE": "POST"}


def main(args: dict[str, Any]) -> dict[str, Any]:
    event = str(args.get("lifecycleEvent", "")).upper()
    if event not in METHODS:
        return {"error": f"lifecycleEvent must be one of {', '.join(METHODS)}"}
    parts = str(args.get("triggerName", "")).strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        return {"error": "triggerName must be a fully qualified trigger name: /namespace/name"}
    key = args.get("authKey")
    if not isinstance(key, str) or ":" not in key:
        return {"error": "authKey must be the trigger owner's key (uuid:key)"}
    ns, trigger = (urllib.parse.quote(part, safe="") for part in parts)
    url = f"{os.environ['__OW_API_HOST']}/api/v1/namespaces/{ns}/alarms/{trigger}"
    body: Any = None
    if event in ("CREATE", "UPDATE"):
        url += f"?kind={args.get('alarm_kind')}" + ("&overwrite=true" if event == "UPDATE" else "")
        body = {k: v for k, v in args.items() if k not in LIFECYCLE}
    elif event in ("PAUSE", "UNPAUSE"):
        body = {"status": "paused" if event == "PAUSE" else "active"}
    return _call(METHODS[event], url, key, body)


def _call(method: str, url: str, key: str, body: Any) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": "Basic " + base64.b64encode(key.encode()).decode(),
        "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as error:
        try:
            reason = json.loads(error.read()).get("error", error.reason)
        except ValueError:
            reason = error.reason
        return {"error": f"The alarm service refused the {method}: {reason}"}
    except OSError as error:
        return {"error": f"The alarm service cannot be reached: {error}"}
