"""The long soak: ``tests/soak``'s scenario for N minutes (the default test run has a short one).

A controller and two edge agents in network namespaces behind a masquerading router
(``tests/e2e/netns.py``; ``--loopback``: one agent, everything on 127.0.0.1), a mixed load of
blocking and non-blocking invokes of idempotent and non-idempotent actions whose runs are
counted by their side effects, and one fault at a time every few seconds: the controller
SIGKILLed and restarted on the same data, an agent SIGKILLed and restarted, an edge's uplink
set down and up (``ip link``), random loss on it (nftables ``numgen random mod 100 < 30
drop``). This kernel has no ``sch_netem``, so there is no netem delay or loss. At the end, the
invariants table (``tests/soak/scenario.py``): every acknowledged activation has a record;
non-idempotent ones ran at most once; idempotent ones at least once; nothing hung past its
timeout. Exits 1 if one did not hold. Needs root (namespaces) unless ``--loopback``.

    edgewhisk bench soak --minutes 30
    python bench/soak.py --minutes 1 --loopback
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))  # the scenario and the namespaces are the tests' own code

from e2e import netns  # noqa: E402
from e2e.tls import make_certificates  # noqa: E402
from soak import scenario  # noqa: E402
from soak.platform import Platform, action_kinds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="load time (default 10)")
    parser.add_argument("--loopback", action="store_true",
                        help="one agent on loopback instead of two behind a NAT")
    parser.add_argument("--clients", type=int, default=6, help="concurrent clients (default 6)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args(argv)
    if not args.minutes > 0 or args.clients < 1:
        parser.error("--minutes must be positive and --clients at least 1")
    seconds = args.minutes * 60
    where = "loopback" if args.loopback else "network namespaces behind a NAT"
    print(f"soak: {args.minutes:g} min, {args.clients} clients, {where}; no sch_netem on this "
          "kernel: cuts are ip link down/up, loss is nftables numgen, no delay", file=sys.stderr)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="edgewhisk-soak-") as folder:
        root = Path(folder)
        if args.loopback:
            host = netns.Host()
            platform = Platform(root, host, {"edge1": host})
            try:
                platform.start(action_kinds(["edge1"]))
                report = scenario.run(platform, seconds, clients=args.clients, seed=args.seed)
            finally:
                host.close()
        else:
            topology = netns.build(edges=2)
            try:
                tls = make_certificates(root / "tls", [topology.cloud.address])
                platform = Platform(root, topology.cloud, scenario.topology_edges(topology), tls)
                platform.start(action_kinds(list(platform.edges)))
                report = scenario.run(platform, seconds, clients=args.clients,
                                      topology=topology, seed=args.seed)
            finally:
                topology.close()
    print(report.table())
    for name, found in report.violations.items():
        for line in found[:20]:
            print(f"VIOLATED {name}: {line}")
    print(f"wall time {time.monotonic() - started:.0f} s")
    return 0 if report.held else 1


if __name__ == "__main__":
    sys.exit(main())
