"""``edgewhisk namespace list|create|delete|rotate-key``: namespaces of a running controller.

    edgewhisk namespace list [--all]          the key's namespaces (wsk namespace list); every
                                              namespace with an admin key
    edgewhisk namespace create NAME           a new namespace; prints its key once (admin)
    edgewhisk namespace delete NAME           an empty namespace, its key, its records (admin)
    edgewhisk namespace rotate-key [NAME]     a new key for the key's own namespace, or for
                                              NAME (admin); prints it once

Why through the API: ``edgewhisk controller namespace create`` needs the controller's data
folder; these work from anywhere the API is reachable. Who may do what is the controller's
``api/admin.py``: an admin key (made on the store, ``edgewhisk controller namespace create
NAME --admin``) manages every namespace; any key may rotate itself.
"""

from __future__ import annotations

import argparse

from edgewhisk_client import Client
from edgewhisk_client.display import table

from . import options
from .exits import OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="namespace_command", metavar="SUBCOMMAND", required=True)
    listing = sub.add_parser("list", help="list the key's namespaces (every one with --all)")
    listing.add_argument("--all", action="store_true",
                         help="every namespace of the controller (needs an admin key)")
    create = sub.add_parser("create", help="create a namespace and print its key (admin)")
    create.add_argument("name", metavar="NAME", help="the new namespace")
    delete = sub.add_parser("delete", help="delete an empty namespace and its key (admin)")
    delete.add_argument("name", metavar="NAME", help="the namespace to delete")
    rotate = sub.add_parser("rotate-key", help="replace a namespace's key and print the new one")
    rotate.add_argument("name", metavar="NAME", nargs="?", default=None,
                        help="the namespace (default: the key's own; another needs an admin key)")
    for child in sub.choices.values():
        options.add_connection(child)


def run(args: argparse.Namespace) -> int:
    return options.dispatch(args, _COMMANDS, args.namespace_command)


def _list(client: Client, args: argparse.Namespace) -> int:
    if not args.all:
        names = client.namespaces()
        options.show(args, names, "\n".join(names))
        return OK
    namespaces = client.namespace_keys.list()
    options.show(args, namespaces, table(("NAMESPACE", "KEY UUID", "ADMIN"), [
        (n["name"], n["uuid"], "yes" if n["admin"] else "no") for n in namespaces]))
    return OK


def _create(client: Client, args: argparse.Namespace) -> int:
    answer = client.namespace_keys.create(args.name)
    options.show(args, answer, answer["key"])  # the key alone: KEY=$(edgewhisk namespace ...)
    return OK


def _rotate(client: Client, args: argparse.Namespace) -> int:
    answer = client.namespace_keys.rotate_key(args.name)
    options.show(args, answer, answer["key"])
    return OK


def _delete(client: Client, args: argparse.Namespace) -> int:
    answer = client.namespace_keys.delete(args.name)
    options.show(args, answer, f"ok: deleted namespace {args.name} "
                               f"({answer['deleted']['activations']} activation records)")
    return OK


_COMMANDS: dict[str, options.Command] = {
    "list": _list, "create": _create, "delete": _delete, "rotate-key": _rotate}
