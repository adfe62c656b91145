"""Entry point of the ``edgewhisk`` console script: one table of subcommands.

Every parser of the tree is a :class:`Parser`: each one answers ``--version``, shows every
flag's default in its help, and ends its help with the exit codes (``exits.py``). ``main`` is
the one place where failures become exit codes: a :class:`CliError` or a ``ClientError`` (the
controller refused or could not be reached) is one line on stderr, an output pipe closed by
its reader (``edgewhisk action list | head -1``) ends quietly, Ctrl-C ends with 130; none of
them prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import edgewhisk
from edgewhisk_client import ClientError, NotConfigured

from . import exits

VERSION = f"edgewhisk {edgewhisk.__version__}"
INTERRUPTED = 130


class Command(NamedTuple):
    module: str
    help: str


# The one registry of subcommands: name -> module with add_arguments(parser) and run(args).
COMMANDS: dict[str, Command] = {
    "action": Command("edgewhisk_cli.action_commands",
                      "create, update, invoke, list, get, delete and build actions"),
    "activation": Command("edgewhisk_cli.activation", "list activations; their results and logs"),
    "namespace": Command("edgewhisk_cli.namespace", "list, create and delete namespaces; rotate "
                                                    "keys (on a running controller)"),
    "artifact": Command("edgewhisk_cli.artifact", "list, upload, download, delete artifacts"),
    "runtime": Command("edgewhisk_runtime.cli", "serve the OpenWhisk action runtime"),
    "controller": Command("edgewhisk_controller.cli", "serve the OpenWhisk-compatible controller"),
    "invoker": Command("edgewhisk_invoker.cli", "run an edge invoker; manage its device tokens"),
    "demo": Command("edgewhisk_cli.demo", "run an example end to end: the personal assistant, "
                                         "or the field technicians (field-technician)"),
    "bench": Command("edgewhisk_cli.bench", "run a benchmark from bench/"),
    "flow": Command("edgewhisk_cli.flow_commands", "a Composer flow's pipeline diagram, from "
                                                  "its steps' annotations"),
}


class DefaultsHelp(argparse.HelpFormatter):
    """Adds ``(default: X)`` to a flag's help unless it says its default already or has none
    worth saying (None, False, an empty list)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        quiet = action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings
        if quiet or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ``edgewhisk`` parser: ``--version``, defaults in the help, the exit codes in the
    epilog. ``add_subparsers`` makes children of the same class (argparse's rule), so the
    whole tree, the controller's and the agent's subcommands included, gets them; ``commands``
    keeps the subcommand groups so the tree can be walked (the tests do)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelp)
        kwargs.setdefault("epilog", exits.EPILOG)
        super().__init__(*args, **kwargs)
        self.commands: list[argparse._SubParsersAction[Parser]] = []
        if "-" in self.prefix_chars:
            self.add_argument("--version", action="version", version=VERSION,
                              help="print the version of edgewhisk and exit")

    # typeshed states add_subparsers as two overloads; this passes everything through.
    def add_subparsers(self, **kwargs: Any) -> argparse._SubParsersAction[Parser]:  # type: ignore[override]
        group = super().add_subparsers(**kwargs)
        self.commands.append(group)
        return group


def build_parser(selected: str | None = None, *, everything: bool = False) -> Parser:
    """Build the parser; only the selected subcommand's module is imported (all of them with
    ``everything``, to walk the whole tree)."""
    parser = Parser(
        prog="edgewhisk",
        description="edgewhisk: serverless edge AI on Apache OpenWhisk (see README.md).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        if everything or name == selected:
            importlib.import_module(command.module).add_arguments(child)
    return parser


def command_words(args: argparse.Namespace) -> str:
    """``edgewhisk action create``: the words naming the command that ran."""
    words = ["edgewhisk", args.command]
    sub = getattr(args, f"{args.command}_command", None)
    return " ".join([*words, sub] if isinstance(sub, str) else words)


def chosen(parser: Parser, args: argparse.Namespace) -> Parser:
    """The subcommand's parser that parsed ``args`` (``edgewhisk action invoke``): an unknown
    flag is reported with that command's usage, not the top one's (argparse's own choice)."""
    for group in parser.commands:
        child = group.choices.get(getattr(args, group.dest, None) or "")
        if child is not None:
            return chosen(child, args)
    return parser


def exit_code(error: exits.CliError | ClientError) -> int:
    """2 for what the command line got wrong (nothing was sent), else 1."""
    if isinstance(error, exits.CliError):
        return error.code
    return exits.USAGE if isinstance(error, NotConfigured) else exits.REFUSED


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(selected if selected in COMMANDS else None)
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        chosen(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        module = importlib.import_module(COMMANDS[args.command].module)
        code = int(module.run(args) or 0)
        sys.stdout.flush()
        return code
    except (exits.CliError, ClientError) as error:
        print(f"{command_words(args)}: error: {error}", file=sys.stderr)
        return exit_code(error)
    except BrokenPipeError:
        # The reader went away (`| head`): send what is left to nowhere, so the interpreter's
        # own flush at exit does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exits.REFUSED
    except KeyboardInterrupt:
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
