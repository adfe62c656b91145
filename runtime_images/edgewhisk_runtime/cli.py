"""``edgewhisk runtime``: ``serve`` the action proxy; ``image`` is delegated to :mod:`.images`.

Why the delegation is lazy: ``serve`` runs in every action container and must not pay for the
image tooling (or fail if it is absent); ``image ...`` arguments are parsed by
``edgewhisk_runtime.images.add_arguments`` only when that subcommand is asked for.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from edgewhisk_runtime import archive, eventloop


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="runtime_command", metavar="SUBCOMMAND", required=True)
    serve = sub.add_parser("serve", help="serve POST /init and /run (the OpenWhisk action proxy)",
                           description="Serve the OpenWhisk action runtime contract.")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    serve.add_argument("--listen-fd", type=int, default=None, metavar="FD",
                       help="serve the listening TCP socket inherited as file descriptor FD "
                            "instead of binding --host/--port (a process backend binds it, so "
                            "no other process can take the port first)")
    serve.add_argument("--artifacts", type=Path, default=None,
                       help="artifact folder of the filesystem resolver and sink "
                            "(default $EDGEWHISK_ARTIFACTS, else ./artifacts)")
    serve.add_argument("--workdir", type=Path, default=None,
                       help="where the action is extracted (default: a temporary folder)")
    serve.add_argument("--max-zip-bytes", type=int, default=archive.DEFAULT_MAX_BYTES,
                       help="largest total uncompressed size of an action zip "
                            f"(default {archive.DEFAULT_MAX_BYTES})")
    serve.add_argument("--max-zip-entries", type=int, default=archive.DEFAULT_MAX_ENTRIES,
                       help="most entries in an action zip "
                            f"(default {archive.DEFAULT_MAX_ENTRIES})")
    serve.add_argument("--lifeline-stdin", action="store_true",
                       help="exit when stdin reaches end of file: a process backend holds it "
                            "open, so the proxy never outlives its owner")
    eventloop.add_argument(serve)
    # Everything after "image" (options included, hence no prefix characters) is parsed
    # later by edgewhisk_runtime.images' own parser, so that module loads only when asked for.
    image = sub.add_parser("image", help="build the runtime images", add_help=False,
                           prefix_chars="\0",
                           description="Build the runtime images (edgewhisk_runtime.images).")
    image.add_argument("image_args", nargs="*",
                       help="arguments of 'edgewhisk runtime image' (try: image --help)")


def run(args: argparse.Namespace) -> int:
    if args.runtime_command == "serve":
        return serve(args)
    return image(args.image_args)


def serve(args: argparse.Namespace) -> int:
    from edgewhisk_runtime.server import Config
    from edgewhisk_runtime.server import serve as serve_forever

    config = Config(host=args.host, port=args.port, listen_fd=args.listen_fd,
                    artifacts=args.artifacts,
                    workdir=args.workdir, max_zip_bytes=args.max_zip_bytes,
                    max_zip_entries=args.max_zip_entries,
                    lifeline_stdin=args.lifeline_stdin)
    eventloop.run(serve_forever(config), args.loop)
    return 0


def image(argv: list[str]) -> int:
    images = importlib.import_module("edgewhisk_runtime.images")
    parser = argparse.ArgumentParser(prog="edgewhisk runtime image",
                                     description="Build the runtime images.")
    images.add_arguments(parser)
    return int(images.run(parser.parse_args(argv)) or 0)
