"""The ``edgewhisk`` command as a whole: every parser of its tree (the controller's and the
agent's subcommands included) answers ``--version``, documents every flag and its default, and
ends its help with the exit codes; a usage error is status 2."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import edgewhisk
import pytest
from edgewhisk_cli import exits
from edgewhisk_cli.main import Parser, build_parser

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")


def _tree(parser: Parser, words: tuple[str, ...] = ("edgewhisk",)
          ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield words, parser
    for group in parser.commands:
        for name, child in group.choices.items():
            yield from _tree(child, (*words, name))


PARSERS = dict(_tree(build_parser(everything=True)))
FLAGGED = {words: parser for words, parser in PARSERS.items() if "-" in parser.prefix_chars}


def _flags(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Its options, as ``--help`` lists them (help and version are argparse's own)."""
    for group in parser._action_groups:  # noqa: SLF001 - argparse keeps no public list
        for action in group._group_actions:  # noqa: SLF001
            if action.option_strings and not isinstance(
                    action, argparse._HelpAction | argparse._VersionAction):  # noqa: SLF001
                yield action


def test_the_tree_is_walked_whole() -> None:
    assert ("edgewhisk", "action", "create") in PARSERS
    assert ("edgewhisk", "controller", "namespace", "create") in PARSERS
    assert ("edgewhisk", "invoker", "token", "create") in PARSERS
    assert len(PARSERS) > 30


@pytest.mark.parametrize("words", list(FLAGGED), ids=" ".join)
def test_every_flag_has_help_that_names_its_default(words: tuple[str, ...]) -> None:
    parser = FLAGGED[words]
    text = parser.format_help()
    for action in _flags(parser):
        flag = "/".join(action.option_strings)
        assert action.help and action.help != argparse.SUPPRESS, f"{flag} has no help"
        quiet = action.default in (None, False, [], argparse.SUPPRESS)
        if not quiet:
            shown = parser.formatter_class(parser.prog)._get_help_string(action)  # noqa: SLF001
            assert shown and "default" in shown, f"{flag}: its default is not in the help"
    assert exits.EPILOG.split(":")[0] in text


@pytest.mark.parametrize("argv", [["--version"], ["action", "create", "--version"],
                                  ["activation", "poll", "--version"],
                                  ["controller", "namespace", "create", "--version"],
                                  ["invoker", "token", "ls", "--version"]],
                         ids=" ".join)
def test_version_everywhere(argv: list[str]) -> None:
    done = subprocess.run([str(EDGEWHISK), *argv], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, f"edgewhisk {edgewhisk.__version__}\n")


@pytest.mark.parametrize("argv", [["action", "create"], ["activation", "list", "--limit", "x"],
                                  ["namespace"], ["no-such-command"]],
                         ids=" ".join)
def test_a_usage_error_is_status_2(argv: list[str]) -> None:
    done = subprocess.run([str(EDGEWHISK), *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == exits.USAGE
    assert "usage: edgewhisk" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("argv", [["action", "invoke", "hello", "--bogus"],
                                  ["--bogus", "action", "invoke", "hello"],
                                  ["controller", "namespace", "create", "x", "--bogus"]],
                         ids=" ".join)
def test_an_unknown_flag_is_reported_by_the_subcommand_given_it(argv: list[str]) -> None:
    """argparse reports unknown flags with the top parser's usage; the user asked about one
    subcommand, so its usage and its name are what they get."""
    done = subprocess.run([str(EDGEWHISK), *argv], capture_output=True, text=True, timeout=60)
    words = " ".join(["edgewhisk", *(a for a in argv if a not in ("hello", "x", "--bogus"))])
    assert done.returncode == exits.USAGE and done.stdout == ""
    assert done.stderr.startswith(f"usage: {words} [-h]"), done.stderr
    assert done.stderr.endswith(f"{words}: error: unrecognized arguments: --bogus\n")


def test_help_lists_the_exit_codes() -> None:
    done = subprocess.run([str(EDGEWHISK), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "exit status: 0 done; 1 refused" in text and "2 usage" in text


@pytest.mark.parametrize("argv", [["action", "list"], ["activation", "list"],
                                  ["namespace", "list"], ["artifact", "ls"],
                                  ["invoker", "token", "ls"]], ids=" ".join)
def test_without_an_api_host_or_key_every_command_is_a_usage_error(argv: list[str],
                                                                    tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "WSK_CONFIG_FILE": str(tmp_path / "absent")}
    done = subprocess.run([str(EDGEWHISK), *argv], capture_output=True, text=True, timeout=60,
                          env=env)
    assert done.returncode == exits.USAGE, done.stderr
    assert done.stderr == (f"edgewhisk {argv[0]} {argv[1]}: error: --apihost and --auth not "
                           f"given and not set in {tmp_path / 'absent'} (write APIHOST=... and "
                           "AUTH=... there, as `wsk property set` does, or name another file "
                           "in $WSK_CONFIG_FILE)\n")
