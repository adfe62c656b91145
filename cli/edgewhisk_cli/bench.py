"""``edgewhisk bench NAME [ARGS...]``: run ``bench/NAME.py`` of this checkout with ARGS.

Why by path (runpy) and not by import: the benchmarks are plain scripts beside the packages,
not part of the installed distribution, and each must also run as ``python bench/NAME.py``.
So ``edgewhisk bench`` needs a source checkout (an editable install, ``pip install -e .``); an
installed wheel has no ``bench/`` and says so (exit status 2) instead of failing obscurely.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
EXIT_USAGE = 2


def available() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="benchmark in the checkout's bench/ "
                                     f"({', '.join(available()) or 'none here'})")
    parser.add_argument("bench_args", nargs=argparse.REMAINDER,
                        help="arguments passed to the benchmark (e.g. --calls 1000)")


def run(args: argparse.Namespace) -> int:
    if not BENCH_DIR.is_dir():
        print(f"edgewhisk bench: needs a source checkout: the benchmarks are scripts in the "
              f"repository's bench/ folder, which an installed edgewhisk does not include "
              f"(looked for {BENCH_DIR}); clone the repository, `pip install -e .` and run "
              "`edgewhisk bench` from there", file=sys.stderr)
        return EXIT_USAGE
    script = BENCH_DIR / f"{args.name}.py"
    if not script.is_file():
        print(f"edgewhisk bench: no benchmark '{args.name}' in {BENCH_DIR} "
              f"(available: {', '.join(available()) or 'none'})", file=sys.stderr)
        return EXIT_USAGE
    saved = sys.argv, sys.path[:]
    sys.argv = [str(script), *args.bench_args]
    sys.path.insert(0, str(BENCH_DIR))  # as for `python bench/NAME.py`: its helpers import
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        sys.argv, sys.path[:] = saved
    return 0
