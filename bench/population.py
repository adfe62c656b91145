"""The node population of the placement benchmark, synthesised from the Borg 2011 machines.

Why synthesised this way: the paper (section 5, Figure 4) built its cluster from the Google
Borg 2011 trace's machine configurations: 12,583 machines in ten (platform, CPU, memory)
classes, with CPU and memory normalised to the largest machine. The trace says nothing about
edge devices, so everything edge-specific (role, capabilities, networks, sites, owners, cached
models, link bandwidth) is drawn by ONE seeded generator: the same seed gives the same cluster,
for our engine and for the peer alike.

Absolute sizes (documented scale): 1.0 CPU = 32 cores (32,000 millicores) and 1.0 memory =
128 GiB, so the commonest Borg machine (0.50, 0.50) is 16 cores / 64 GiB.

Other node counts (100 ... 50,000) keep the trace's class proportions: the count of each class
is its share of N, rounded by largest remainder so the classes add up to exactly N; the
attribute draws then follow the same per-role distributions. The machine order is shuffled
(seeded), so a scheduler that scans nodes in order (Kubernetes' sampling) meets a mix.

Attributes (per machine, independent draws):
- role: edge with probability EDGE_SHARE[platform] (small platform A machines are mostly edge).
- site: one of EDGE_SITES (edge) or CLOUD_SITES (cloud); the site-to-site latency matrix comes
  from seeded coordinates on a 2,000 km square (cloud regions at the corners) at 5 us/km plus
  1 ms (same site: 0.5 ms).
- owner: edge machines belong to a user (about five devices per user), cloud machines to nobody.
- capabilities: independent Bernoulli draws with the per-role probabilities in CAPABILITIES.
- networks: one to three of NETWORKS.
- bandwidth: edge log-normal around 50 Mbit/s, cloud uniform 1-10 Gbit/s.
- cached models: each of ARTIFACTS with probability 10% (edge) / 20% (cloud).
- kinds: python:3 on 95%, nodejs:default on 60%, blackbox on 30%.
- healthy: 98%.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# The Google Borg 2011 machine configurations (the project's shared data, copied here so the
# benchmark needs nothing outside the repository).
BORG_CSV = Path(__file__).resolve().parent / "data" / "borg2011_machine_configs.csv"
CORES_PER_CPU_UNIT = 32  # 1.0 normalised CPU = 32 cores
GIB_PER_MEMORY_UNIT = 128  # 1.0 normalised memory = 128 GiB
BORG_MACHINES = 12_583

EDGE_SHARE = {"A": 0.9, "B": 0.5, "C": 0.1}
EDGE_SITES = tuple(f"edge-{i:02d}" for i in range(40))
CLOUD_SITES = ("cloud-a", "cloud-b", "cloud-c", "cloud-d")
SITES = EDGE_SITES + CLOUD_SITES
NETWORKS = tuple(f"net-{i:02d}" for i in range(16))
# capability -> (probability on an edge machine, probability on a cloud machine)
CAPABILITIES = {
    "gpu": (0.05, 0.30), "tpu": (0.00, 0.10), "coral": (0.30, 0.00), "camera": (0.50, 0.00),
    "microphone": (0.40, 0.00), "glucose-sensor": (0.20, 0.00), "arm64": (0.70, 0.10),
    "npu": (0.15, 0.00), "ssd": (0.30, 0.80), "fpga": (0.02, 0.05),
}
ARTIFACTS = tuple(f"models/model-{i:02d}@1" for i in range(20))
KINDS = {"python:3": 0.95, "nodejs:default": 0.60, "blackbox": 0.30}
HEALTHY_SHARE = 0.98
DEVICES_PER_USER = 5


@dataclass(frozen=True)
class MachineClass:
    machines: int
    platform: str
    cpu: float
    memory: float


def borg_classes(path: Path = BORG_CSV) -> list[MachineClass]:
    """The ten machine classes of the trace, as the CSV lists them."""
    with path.open(newline="") as f:
        return [MachineClass(int(r["machines"]), r["platform"], float(r["cpu"]), float(r["memory"]))
                for r in csv.DictReader(f)]


def class_counts(classes: list[MachineClass], nodes: int) -> list[int]:
    """How many machines of each class a cluster of ``nodes`` has (largest remainder)."""
    total = sum(c.machines for c in classes)
    exact = [c.machines * nodes / total for c in classes]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(classes)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: nodes - sum(counts)]:
        counts[i] += 1
    return counts


@dataclass
class Population:
    """Columnar node attributes (index i = the i-th machine, in registration order)."""

    ids: list[str]
    platform: np.ndarray  # str per machine
    cpu_millis: np.ndarray  # int64
    memory_mb: np.ndarray  # int64
    edge: np.ndarray  # bool
    site: np.ndarray  # int index into SITES
    owner: list[str | None]
    capabilities: list[frozenset[str]]
    networks: list[frozenset[str]]
    bandwidth_mbps: np.ndarray  # float64
    cached: list[frozenset[str]]
    kinds: list[frozenset[str]]
    healthy: np.ndarray  # bool
    site_latency_ms: np.ndarray  # len(SITES) x len(SITES)
    artifact_bytes: Mapping[str, int]

    def __len__(self) -> int:
        return len(self.ids)

    def labels(self, i: int) -> dict[str, str]:
        """The node's labels (role, site, zone, platform, arch, owner)."""
        labels = {"role": "edge" if self.edge[i] else "cloud", "site": SITES[self.site[i]],
                  "zone": f"zone-{self.site[i] % 8}", "platform": str(self.platform[i]),
                  "arch": "arm64" if "arm64" in self.capabilities[i] else "amd64"}
        owner = self.owner[i]
        if owner is not None:
            labels["owner"] = owner
        return labels

    def invoker_fields(self, i: int) -> dict[str, Any]:
        """Machine ``i`` as keyword arguments of the controller's ``InvokerState``."""
        return {
            "id": self.ids[i], "kinds": self.kinds[i], "memory_mb": int(self.memory_mb[i]),
            "free_memory_mb": int(self.memory_mb[i]), "in_flight": 0,
            "healthy": bool(self.healthy[i]), "namespaces": None,
            "role": "edge" if self.edge[i] else "cloud", "owner": self.owner[i],
            "site": SITES[self.site[i]], "labels": self.labels(i),
            "capabilities": self.capabilities[i], "networks": self.networks[i],
            "bandwidth_mbps": float(self.bandwidth_mbps[i]), "cached": self.cached[i],
            "cpus": float(self.cpu_millis[i]) / 1000,
        }

    def summary(self) -> str:
        edge = int(self.edge.sum())
        return (f"{len(self)} machines ({edge} edge, {len(self) - edge} cloud), "
                f"{int(self.cpu_millis.sum()) // 1000} cores, "
                f"{int(self.memory_mb.sum()) // 1024 // 1024} TiB")


def _site_latency(rng: np.random.Generator) -> np.ndarray:
    edge_xy = rng.uniform(0, 2000, size=(len(EDGE_SITES), 2))
    cloud_xy = np.array([[0, 0], [0, 2000], [2000, 0], [2000, 2000]], dtype=float)
    xy = np.vstack([edge_xy, cloud_xy])
    km = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    latency = 1.0 + 0.005 * km
    np.fill_diagonal(latency, 0.5)
    return latency


def _subsets(rng: np.random.Generator, n: int, table: Mapping[str, tuple[float, float]],
             edge: np.ndarray) -> list[frozenset[str]]:
    names = list(table)
    p = np.array([[table[k][0] if e else table[k][1] for k in names] for e in (True, False)])
    draws = rng.random((n, len(names))) < np.where(edge[:, None], p[0], p[1])
    return [frozenset(names[j] for j in np.flatnonzero(row)) for row in draws]


def generate(nodes: int = BORG_MACHINES, seed: int = 0,
             classes: list[MachineClass] | None = None) -> Population:
    """A cluster of ``nodes`` machines with the trace's class proportions (see module doc)."""
    classes = classes if classes is not None else borg_classes()
    rng = np.random.default_rng(seed)
    counts = class_counts(classes, nodes)
    cls = np.repeat(np.arange(len(classes)), counts)
    rng.shuffle(cls)
    platform = np.array([classes[c].platform for c in cls])
    cpu = np.array([classes[c].cpu for c in cls])
    mem = np.array([classes[c].memory for c in cls])
    edge = rng.random(nodes) < np.array([EDGE_SHARE.get(p, 0.5) for p in platform])
    site = np.where(edge, rng.integers(0, len(EDGE_SITES), nodes),
                    len(EDGE_SITES) + rng.integers(0, len(CLOUD_SITES), nodes))
    users = max(1, int(edge.sum()) // DEVICES_PER_USER)
    user_of = rng.integers(0, users, nodes)
    owner = [f"u{user_of[i]:05d}" if edge[i] else None for i in range(nodes)]
    capabilities = _subsets(rng, nodes, CAPABILITIES, edge)
    how_many = rng.integers(1, 4, nodes)
    picks = np.argsort(rng.random((nodes, len(NETWORKS))), axis=1)
    networks = [frozenset(NETWORKS[j] for j in picks[i, : how_many[i]]) for i in range(nodes)]
    bandwidth = np.where(edge, rng.lognormal(np.log(50), 0.5, nodes), rng.uniform(1e3, 1e4, nodes))
    cached = _subsets(rng, nodes, {a: (0.10, 0.20) for a in ARTIFACTS}, edge)
    kinds = _subsets(rng, nodes, {k: (p, p) for k, p in KINDS.items()}, edge)
    healthy = rng.random(nodes) < HEALTHY_SHARE
    artifact_bytes = {a: int(s) for a, s in zip(ARTIFACTS, rng.integers(10, 500, len(ARTIFACTS))
                                                * 1_000_000, strict=True)}
    return Population(
        ids=[f"inv-{i:05d}" for i in range(nodes)], platform=platform,
        cpu_millis=np.rint(cpu * CORES_PER_CPU_UNIT * 1000).astype(np.int64),
        memory_mb=np.rint(mem * GIB_PER_MEMORY_UNIT * 1024).astype(np.int64),
        edge=edge, site=site, owner=owner, capabilities=capabilities, networks=networks,
        bandwidth_mbps=bandwidth, cached=cached, kinds=kinds, healthy=healthy,
        site_latency_ms=_site_latency(rng), artifact_bytes=artifact_bytes)


def iter_fields(population: Population) -> Iterator[dict[str, Any]]:
    for i in range(len(population)):
        yield population.invoker_fields(i)
