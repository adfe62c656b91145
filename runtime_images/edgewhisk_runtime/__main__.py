"""``python -m edgewhisk_runtime serve --port 8080``: the runtime CLI without the console script.

The container's entry point uses this form, so it needs nothing but the package installed.
"""

from __future__ import annotations

import argparse
import sys

from edgewhisk_runtime import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgewhisk_runtime",
                                     description="The edgewhisk OpenWhisk action runtime.")
    cli.add_arguments(parser)
    return cli.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
