"""Entry point of the ``edgewhisk`` console script: one table of subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NamedTuple

import edgewhisk


class Command(NamedTuple):
    module: str
    help: str


# The one registry of subcommands: name -> module with add_arguments(parser) and run(args).
COMMANDS: dict[str, Command] = {
    "action": Command("edgewhisk_cli.action", "inspect and build annotated actions"),
    "runtime": Command("edgewhisk_runtime.cli", "serve the OpenWhisk action runtime"),
    "demo": Command("edgewhisk_cli.demo", "run the personal-assistant example end to end"),
    "bench": Command("edgewhisk_cli.bench", "run a benchmark from bench/"),
    "controller": Command("edgewhisk_controller.cli", "serve the OpenWhisk-compatible controller"),
    "invoker": Command("edgewhisk_invoker.cli", "run an edge invoker; manage its device tokens"),
    "artifact": Command("edgewhisk_cli.artifact", "list, upload, download, delete artifacts"),
}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; only the selected subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="edgewhisk",
        description="edgewhisk: serverless edge AI on Apache OpenWhisk (see README.md).")
    parser.add_argument("--version", action="version", version=f"edgewhisk {edgewhisk.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        if name == selected:
            importlib.import_module(command.module).add_arguments(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(selected if selected in COMMANDS else None)
    args = parser.parse_args(args_list)
    module = importlib.import_module(COMMANDS[args.command].module)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
