"""The peer: skippy-core (the paper authors' Python port of the Kubernetes scheduler).

Why this adapter: the issue asks for the peer "on the same nodes with the same number of
predicates and priorities". skippy models a node as labels plus a CPU/memory ``Capacity`` and a
pod as containers with requests; its ``Scheduler`` runs every predicate on every node (or, with
``percentage_of_nodes_to_score`` < 100, stops after Kubernetes' adaptive number of feasible
nodes, scanning round-robin), then every priority's map over the feasible nodes, its reduce
(scaling to 0..``max_priority`` = 10), a weighted sum and the max.

The mapping of our population: capabilities, networks and runtime kinds become node labels
(``capability.skippy.io/<cap>``, ``network.edgewhisk.io/<net>``, ``runtime.edgewhisk.io/<kind>``);
an unhealthy invoker carries ``node.kubernetes.io/unreachable`` (what Kubernetes' taint does);
role and site are ``locality.skippy.io/type`` and ``locality.skippy.io/site``; cached models are
container images already on the node (``images_on_nodes``), downloaded from ``registry`` at the
node's bandwidth.

Predicates and priorities: skippy's own where one exists (PodFitsResourcesPred,
CheckNodeLabelPresencePred, BalancedResourcePriority, LocalityPriority for transfer time);
otherwise a small subclass of skippy's ``Priority``/``Predicate`` in skippy's style (one
``map_node_score`` per node, skippy's scaling in ``reduce_mapped_score``), taking the term's
arguments so every soft term is its own priority.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from population import SITES, Population
from skippy.core.clustercontext import ClusterContext
from skippy.core.model import (
    Capacity,
    Container,
    ImageState,
    Node,
    Pod,
    PodSpec,
    ResourceRequirements,
)
from skippy.core.predicates import CheckNodeLabelPresencePred, PodFitsResourcesPred, Predicate
from skippy.core.priorities import (
    BalancedResourcePriority,
    LocalityPriority,
    Priority,
    _scale_scores,
    _scale_scores_inverse,
)
from skippy.core.scheduler import Scheduler
from workload import ACTION_CPU_MILLIS, ACTION_KIND, ACTION_MEMORY_MB, NAMESPACE, RUN_MS, Term

MIB = 1024 * 1024
FUNCTION_IMAGE = "edgewhisk/python3-ai:latest"
FUNCTION_IMAGE_BYTES = 400 * 1_000_000
UNREACHABLE = "node.kubernetes.io/unreachable"
TYPE = "locality.skippy.io/type"
SITE = "locality.skippy.io/site"
ACTION_LABEL = "edgewhisk.io/action"
ARCH = "beta.kubernetes.io/arch"
SAMPLED = 0  # percentage_of_nodes_to_score 0 = Kubernetes' adaptive default (50% - N/125, >= 5%)
ALL = 100  # skippy's own constructor default: score every feasible node


def image(artifact: str) -> str:
    """Artifact key -> a normalised image name (``models/model-01@1`` -> ``models/model-01:1``)."""
    return artifact.replace("@", ":")


def capability_label(cap: str) -> str:
    return f"capability.skippy.io/{cap}"


def network_label(net: str) -> str:
    return f"network.edgewhisk.io/{net}"


def kind_label(kind: str) -> str:
    return f"runtime.edgewhisk.io/{kind.replace(':', '-')}"


class BenchContext(ClusterContext):
    """skippy's cluster context over a fixed node list, a registry and its bandwidths."""

    def __init__(self, nodes: list[Node], images: dict[str, ImageState],
                 bandwidth: dict[str, dict[str, float]]) -> None:
        self._nodes, self._images, self._bandwidth = nodes, images, bandwidth
        super().__init__()

    def get_init_image_states(self) -> dict[str, ImageState]:
        return self._images

    def get_bandwidth_graph(self) -> dict[str, dict[str, float]]:
        return self._bandwidth

    def list_nodes(self) -> list[Node]:
        return self._nodes

    def get_next_storage_node(self, node: Node) -> str | None:
        return None


def build_context(population: Population) -> BenchContext:
    """The population as skippy nodes (labels, capacity) with their cached images."""
    nodes = []
    to_node: dict[str, float] = {}
    for i, name in enumerate(population.ids):
        labels = {key: "true" for key in (
            *(capability_label(c) for c in population.capabilities[i]),
            *(network_label(n) for n in population.networks[i]),
            *(kind_label(k) for k in population.kinds[i]))}
        labels.update({f"edgewhisk.io/{k}": v for k, v in population.labels(i).items()})
        labels[TYPE] = "edge" if population.edge[i] else "cloud"
        labels[SITE] = SITES[population.site[i]]
        labels[ARCH] = "arm64" if "arm64" in population.capabilities[i] else "amd64"
        if not population.healthy[i]:
            labels[UNREACHABLE] = "true"
        cpu, memory = int(population.cpu_millis[i]), int(population.memory_mb[i]) * MIB
        nodes.append(Node(name, Capacity(cpu, memory), Capacity(cpu, memory), labels))
        to_node[name] = float(population.bandwidth_mbps[i]) * 125_000  # bytes/s
    sizes = {image(a): b for a, b in population.artifact_bytes.items()}
    sizes[FUNCTION_IMAGE] = FUNCTION_IMAGE_BYTES
    states = {name: ImageState({"amd64": size, "arm64": size}) for name, size in sizes.items()}
    context = BenchContext(nodes, states, {"registry": to_node})
    for i, name in enumerate(population.ids):
        for artifact in population.cached[i]:
            state = states[image(artifact)]
            state.num_nodes += 1
            context.images_on_nodes[name][image(artifact)] = state
    return context


class AnyLabelPresentPred(Predicate):
    """At least one of ``labels`` is on the node (NetworkMembership, strict)."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__()
        self.labels = labels

    def passes_predicate(self, context: ClusterContext, pod: Pod, node: Node) -> bool:
        return any(label in node.labels for label in self.labels)


class NodeLabelPriority(Priority):
    """Preferred node affinity: max priority where ``key`` (= ``value``, if given) is set."""

    def __init__(self, key: str, value: str | None = None) -> None:
        super().__init__()
        self.key, self.value = key, value

    def map_node_score(self, context: ClusterContext, pod: Pod, node: Node) -> int:
        found = node.labels.get(self.key)
        hit = found is not None and (self.value is None or found == self.value)
        return context.max_priority if hit else 0


class SiteLatencyPriority(Priority):
    """Proximity: site-to-site latency from ``site`` to the node's site, lower is better."""

    def __init__(self, site: str, latency_ms: dict[str, dict[str, float]]) -> None:
        super().__init__()
        self.row = latency_ms[site]

    def map_node_score(self, context: ClusterContext, pod: Pod, node: Node) -> int:
        return int(self.row[node.labels[SITE]] * 1000)  # microseconds

    def reduce_mapped_score(self, context: ClusterContext, pod: Pod, nodes: list[Node],
                            node_scores: list[int]) -> list[int]:
        return _scale_scores_inverse(node_scores, context.max_priority)


class ImageTransferPriority(LocalityPriority):
    """ArtifactLocality: time to download one image from the registry (0 if on the node)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def get_size(self, context: ClusterContext, pod: Pod, node: Node) -> int:
        if self.name in context.images_on_nodes[node.name]:
            return 0
        return context.get_image_state(self.name).size[node.labels[ARCH]]

    def get_target_node(self, context: ClusterContext, pod: Pod, node: Node) -> str:
        return "registry"


class ImagePresentPriority(Priority):
    """CachedArtifact: max priority where the image is already on the node."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def map_node_score(self, context: ClusterContext, pod: Pod, node: Node) -> int:
        return context.max_priority if self.name in context.images_on_nodes[node.name] else 0


class WarmPodPriority(Priority):
    """WarmContainer: pods of the same action already on the node (scaled to 0..10)."""

    def map_node_score(self, context: ClusterContext, pod: Pod, node: Node) -> int:
        action = pod.spec.labels[ACTION_LABEL]
        return sum(1 for p in node.pods if p.spec.labels.get(ACTION_LABEL) == action)

    def reduce_mapped_score(self, context: ClusterContext, pod: Pod, nodes: list[Node],
                            node_scores: list[int]) -> list[int]:
        return _scale_scores(node_scores, context.max_priority)


class DeadlineSlackPriority(Priority):
    """DeadlineFeasibility (soft): slack = deadline - (queue + run time); no artifacts to move."""

    def __init__(self, within_ms: float) -> None:
        super().__init__()
        self.within_ms = within_ms

    def map_node_score(self, context: ClusterContext, pod: Pod, node: Node) -> int:
        cores = max(1.0, node.capacity.cpu_millis / 1000)
        queue_ms = len(node.pods) * RUN_MS / cores
        return int(self.within_ms - (queue_ms + RUN_MS))

    def reduce_mapped_score(self, context: ClusterContext, pod: Pod, nodes: list[Node],
                            node_scores: list[int]) -> list[int]:
        return _scale_scores(node_scores, context.max_priority)


def predicate(term: Term) -> Predicate:
    """Our hard term as a skippy predicate."""
    if term.plugin == "Health":
        return CheckNodeLabelPresencePred([UNREACHABLE], False)
    if term.plugin == "ResourcesFit":
        return PodFitsResourcesPred()
    if term.plugin == "RuntimeKind":
        return CheckNodeLabelPresencePred([kind_label(term.args["kind"])])
    if term.plugin == "Capability":
        return CheckNodeLabelPresencePred([capability_label(c) for c in term.args["capabilities"]])
    if term.plugin == "NetworkMembership":
        return AnyLabelPresentPred([network_label(n) for n in term.args["networks"]])
    raise ValueError(f"no skippy predicate for {term.plugin}")


def priority(term: Term, population: Population) -> Priority:
    """Our soft term as a skippy priority."""
    p, a = term.plugin, term.args
    if p == "BalancedLoad":
        return BalancedResourcePriority()
    if p == "Capability":
        return NodeLabelPriority(capability_label(a["capabilities"][0]))
    if p == "NetworkMembership":
        return NodeLabelPriority(network_label(a["networks"][0]))
    if p == "NodeSelector":
        key, value = a["node"].split("=", 1)
        return NodeLabelPriority(f"edgewhisk.io/{key}", value)
    if p == "Proximity":
        latency = {s: {t: float(population.site_latency_ms[i, j]) for j, t in enumerate(SITES)}
                   for i, s in enumerate(SITES)}
        return SiteLatencyPriority(a["site"], latency)
    if p == "ArtifactLocality":
        return ImageTransferPriority(image(a["artifacts"][0]))
    if p == "CachedArtifact":
        return ImagePresentPriority(image(a["artifacts"][0]))
    if p == "WarmContainer":
        return WarmPodPriority()
    if p == "DeadlineFeasibility":
        return DeadlineSlackPriority(1000 * a["within_s"])
    raise ValueError(f"no skippy priority for {p}")


def make_pod(action: str, n: int) -> Pod:
    resources = ResourceRequirements({"cpu": ACTION_CPU_MILLIS, "memory": ACTION_MEMORY_MB * MIB})
    spec = PodSpec([Container(FUNCTION_IMAGE, resources)],
                   {ACTION_LABEL: action, "edgewhisk.io/kind": ACTION_KIND})
    return Pod(f"{action.replace('/', '-')}-{n}", NAMESPACE, spec)


@dataclass
class Run:
    latencies: list[float]  # seconds per decision
    wall: float
    cpu: float  # CPU seconds of the loop
    feasible: int  # feasible nodes skippy found for the first pod
    chosen: set[str]


def run(context: BenchContext, population: Population, hard: list[Term], soft: list[Term],
        percentage: int, max_placements: int, max_seconds: float, actions: list[str],
        on_progress: Callable[[int], None] | None = None) -> Run:
    """Schedule pods until ``max_placements`` or ``max_seconds`` (at least 2).

    The pods placed are removed again afterwards, so every point starts from the same state.
    """
    scheduler = Scheduler(context, percentage_of_nodes_to_score=percentage,
                          predicates=[predicate(t) for t in hard],
                          priorities=[(1.0, priority(t, population)) for t in soft])
    latencies: list[float] = []
    placed: list[tuple[Pod, Node]] = []
    feasible = -1
    start, cpu_start = time.perf_counter(), time.process_time()
    while len(latencies) < max_placements and (time.perf_counter() - start < max_seconds
                                               or len(latencies) < 2):
        pod = make_pod(actions[len(latencies) % len(actions)], len(latencies))
        t0 = time.perf_counter()
        result = scheduler.schedule(pod)
        latencies.append(time.perf_counter() - t0)
        if result.suggested_host is None:
            raise RuntimeError(f"skippy found no node for {pod.name}")
        if feasible < 0:
            feasible = result.feasible_nodes
        placed.append((pod, result.suggested_host))
        if on_progress is not None:
            on_progress(len(latencies))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    for pod, node in placed:
        context.remove_pod_from_node(pod, node)
        context.remove_pod_images_from_node(pod, node)
    return Run(latencies, wall, cpu, feasible, {node.name for _, node in placed})
