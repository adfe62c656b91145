"""``edgewhisk flow diagram``: a Composer flow's pipeline, from its steps' annotations.

    edgewhisk flow diagram FLOW.json --actions DIR [--actions DIR ...] [--png FILE] [--json]

``FLOW.json`` is what Composer's ``compose FLOW.js`` writes (or its ``--ast``); each action
step is read from the first ``DIR`` that holds ``NAME.py`` (``flow_graph.py``). It prints the
steps (where each may run, its artifacts in and out, with the step an artifact comes from, its
gates) and, with ``--png``, draws the diagram (``flow_diagram.py``). Nothing is sent anywhere:
it reads files only, so it works before anything is deployed.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from functools import partial
from pathlib import Path

from .action import DEFAULT_IMPORT_TIMEOUT, annotation_of
from .exits import OK, usage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="flow_command", metavar="SUBCOMMAND", required=True)
    diagram = sub.add_parser(
        "diagram", help="a flow's pipeline from its steps' edgewhisk annotations (text, PNG)",
        description="Print (and with --png draw) the pipeline of a compiled Composer flow: "
                    "each step's placement policies, artifacts and gates.")
    diagram.add_argument("file", metavar="FLOW.json",
                         help="the composition as `compose FLOW.js` writes it")
    diagram.add_argument("--actions", metavar="DIR", action="append", type=Path, default=[],
                         help="a folder of the steps' files NAME.py (repeatable; the first "
                              "holding NAME.py wins)")
    diagram.add_argument("--png", metavar="FILE", type=Path, default=None,
                         help="also draw the diagram into this PNG file")
    diagram.add_argument("--json", action="store_true",
                         help="print the steps and artifact moves as JSON instead of text")
    diagram.add_argument("--import-timeout", metavar="SECONDS", type=float,
                         default=DEFAULT_IMPORT_TIMEOUT,
                         help="give up importing a step's file after this many seconds")


def run(args: argparse.Namespace) -> int:
    from . import flow_graph

    png: Path | None = args.png
    if png is not None and (png.suffix.lower() != ".png" or not png.parent.is_dir()):
        raise usage(f"--png {png}: a .png file in an existing folder")
    pipeline = flow_graph.load(Path(args.file), args.actions,
                               partial(annotation_of, import_timeout=args.import_timeout))
    if args.json:
        print(json.dumps(asdict(pipeline), indent=2))
    else:
        print(flow_graph.text(pipeline))
    if png is not None:
        from .flow_diagram import draw

        draw(pipeline, png)
        print(f"wrote {png}")
    return OK
