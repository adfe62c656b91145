"""The exit codes of every ``edgewhisk`` command, and the one error a command raises to use them.

    0  done
    1  refused or unreachable: the controller said no (an HTTP error, a failed activation, a
       refused preload), could not be reached, or the output pipe closed early
    2  usage: the command line, or a file or value it names, is wrong; nothing was sent

Why typed: commands raise :class:`CliError` (or let the client's ``ClientError`` through) and
``main`` prints one line and exits with the code, so no command prints a traceback or picks
its own numbers. The README and ``edgewhisk --help`` list the same three codes.
"""

from __future__ import annotations

OK = 0
REFUSED = 1
USAGE = 2

EPILOG = ("exit status: 0 done; 1 refused by the controller, unreachable, or a failed "
          "activation; 2 usage: a wrong argument or file (nothing was sent)")


class CliError(Exception):
    """A refusal worth one line on stderr; ``code`` is the exit status (1 or 2)."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.code = code


def usage(message: str) -> CliError:
    """A :class:`CliError` with the usage status: the command line is wrong."""
    return CliError(message, USAGE)
