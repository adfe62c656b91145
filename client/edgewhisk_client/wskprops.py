"""``~/.wskprops``: the API host and key every command that talks to the controller defaults to.

Why read ``wsk``'s file: a user who set up the ``wsk`` CLI (``wsk property set --apihost ...
--auth ...``) has already told us where the controller is and who they are; asking again would
make ``edgewhisk`` the odd tool out. The rules are ``wsk``'s own:
- the file is ``$WSK_CONFIG_FILE`` when that is set, else ``~/.wskprops``; a missing file is
  simply no defaults;
- one ``KEY=VALUE`` per line; blank lines and ``#`` comments are skipped; the value is
  everything after the first ``=`` with surrounding whitespace removed; a later line wins;
- an API host without a scheme means HTTPS (``wsk`` prefixes ``https://``).
Flags still win over the file (:func:`add_api_arguments` only supplies the defaults).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .exceptions import NotConfigured

CONFIG_ENV = "WSK_CONFIG_FILE"
DEFAULT_FILE = "~/.wskprops"


@dataclass(frozen=True)
class WskProps:
    """The properties the ``edgewhisk`` commands use (``None`` when the file has no value)."""

    apihost: str | None
    auth: str | None
    path: Path


def props_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``wsk`` would read its properties from."""
    env = os.environ if environ is None else environ
    configured = env.get(CONFIG_ENV)
    return Path(configured).expanduser() if configured else Path(DEFAULT_FILE).expanduser()


def parse(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines -> dict (later lines win); malformed lines are ignored like ``wsk``."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if key.strip():
            values[key.strip()] = value.strip()
    return values


def api_url(apihost: str) -> str:
    """An ``APIHOST`` as a base URL: ``host:port`` -> ``https://host:port``; no trailing slash."""
    host = apihost.strip().rstrip("/")
    if "://" not in host:
        host = "https://" + host
    return host


def load(environ: Mapping[str, str] | None = None) -> WskProps:
    """Read the properties file; an absent or unreadable file gives no defaults."""
    path = props_path(environ)
    try:
        values = parse(path.read_text())
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError):
        values = {}
    return WskProps(apihost=values.get("APIHOST") or None, auth=values.get("AUTH") or None,
                    path=path)


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    """``--apihost``, ``--auth`` (defaults from the properties file) and ``--json``."""
    props = load()
    where = f"APIHOST in {props.path}"
    parser.add_argument("--apihost", default=props.apihost,
                        help=f"controller API host, e.g. https://host:port (default: {where})")
    parser.add_argument("--auth", default=props.auth,
                        help=f"API key UUID:KEY (default: AUTH in {props.path})")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def require_api(args: argparse.Namespace) -> tuple[str, str]:
    """(base URL, key) from parsed arguments; :class:`NotConfigured` naming what is missing
    and where it could have come from."""
    missing = [flag for flag, value in (("--apihost", args.apihost), ("--auth", args.auth))
               if not value]
    if missing:
        path = props_path()
        raise NotConfigured(f"{' and '.join(missing)} not given and not set in {path} "
                            f"(write APIHOST=... and AUTH=... there, as `wsk property set` "
                            f"does, or name another file in ${CONFIG_ENV})")
    return api_url(args.apihost), args.auth
