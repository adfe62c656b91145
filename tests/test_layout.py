"""The folder tree is the architecture, and the arrows go one way (docs/architecture.md).

setup.cfg lists every package; a package imports only the packages the table below allows;
inside the controller a module imports only from its own subpackage or a lower layer; and no
imports go in a circle: not between the modules of a package, not between the subpackages
(and modules) of any package. Every import counts, wherever it stands: at module level, under
``TYPE_CHECKING``, inside a function. A violation names the importing file, the line and the
rule it breaks.
"""

from __future__ import annotations

import ast
import configparser
import functools
import graphlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANYTHING = frozenset({"*"})

# What each package may import of ours. A package named here that setup.cfg does not list yet
# (one being created on another branch) is not checked; one setup.cfg lists that is not named
# here fails the test.
PACKAGES: dict[str, frozenset[str]] = {
    "edgewhisk": frozenset(),  # the SDK
    "edgewhisk_json": frozenset(),  # the strict JSON reader of bodies, frames and answers
    "edgewhisk_tunnel": frozenset({"edgewhisk_json"}),  # the tunnel's wire schema, transfers
    "edgewhisk_client": frozenset(),  # the REST client
    "edgewhisk_runtime": frozenset({"edgewhisk", "edgewhisk_json"}),
    "edgewhisk_examples": frozenset({"edgewhisk"}),
    "edgewhisk_controller": frozenset({"edgewhisk", "edgewhisk_runtime", "edgewhisk_tunnel",
                                       "edgewhisk_json"}),
    "edgewhisk_invoker": frozenset({"edgewhisk", "edgewhisk_runtime", "edgewhisk_tunnel",
                                    "edgewhisk_client", "edgewhisk_json"}),
    "edgewhisk_devkit": frozenset({"edgewhisk_client", "edgewhisk_runtime"}),
    "edgewhisk_cli": ANYTHING,  # the `edgewhisk` command and its demo sit on top
}

# Inside the controller, bottom to top. A layer's members import neither each other nor
# anything above them; "__init__" is the package's own __init__.py. Finer than "auth,
# preprocess, artifacts" and "config, keys, middleware, api, app, cli" where one of those reads
# another (the artifact planner reads what preprocess compiled; keys reads config; ...).
CONTROLLER = "edgewhisk_controller"
CONTROLLER_LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer) for layer in (
    {"exceptions", "eventloop", "background"},
    {"schema", "stores", "blobs", "placement"},
    {"auth", "preprocess"},
    {"artifacts", "catalog"},
    {"invokers"},
    {"tunnel"},
    {"cluster"},  # several controllers as one: peers' devices, routing over Redis Streams
    {"dispatch"},  # the activation flow: dispatcher, conductor, triggers, fan-out
    {"config"},
    {"keys"},
    {"observe"},  # metrics, health, logs: reads the fleet and the dispatcher at their seams
    {"middleware", "api", "console"},
    {"app"},
    {"cli"},
    {"__init__"},
))


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def _package_dirs() -> dict[str, Path]:
    lines = _setup_cfg()["options"]["package_dir"].strip().splitlines()
    pairs = (line.split("=") for line in lines if line.strip())
    return {name.strip(): ROOT / folder.strip() for name, folder in pairs}


def _packages_on_disk() -> set[str]:
    found = set()
    for top, folder in _package_dirs().items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            found.add(".".join((top, *parts)))
    return found


def test_setup_cfg_lists_every_package_on_disk() -> None:
    listed = set(_setup_cfg()["options"]["packages"].split())
    assert _packages_on_disk() == listed


# -- every import of every module ------------------------------------------------------------

@dataclass(frozen=True)
class Import:
    importer: str  # the importing module, e.g. edgewhisk_controller.dispatch.dispatcher
    target: str  # the module imported (``from pkg import sub``: pkg.sub when that is one)
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.importer} imports {self.target}"


@functools.cache
def _modules() -> dict[str, Path]:
    """Every module of every package setup.cfg maps to a folder, by dotted name."""
    modules = {}
    for top, folder in _package_dirs().items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((top, *parts))] = path
    return modules


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        yield sub if sub in _modules() else base


@functools.cache
def _imports() -> tuple[Import, ...]:
    """Every import of ours in every module, wherever it stands in the file."""
    found: list[Import] = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.extend(Import(module, target, path, node.lineno)
                             for target in _targets(module, path, node)
                             if _top(target) in _ours() and target != module)
    return tuple(dict.fromkeys(found))  # `from a import b, c` of one module counts once


def _ours() -> set[str]:
    return set(_package_dirs()) | set(PACKAGES)


def _top(name: str) -> str:
    return name.split(".")[0]


# -- (a) the package table --------------------------------------------------------------------

@pytest.mark.parametrize("package", sorted(_package_dirs()))
def test_a_package_imports_only_what_the_table_allows(package: str) -> None:
    assert package in PACKAGES, f"setup.cfg lists {package}: add it to PACKAGES in {__file__}"
    allowed = PACKAGES[package] | {package}
    broken = [f"{i}: {package} may import only {', '.join(sorted(allowed))}"
              for i in _imports()
              if _top(i.importer) == package and ANYTHING.isdisjoint(allowed)
              and _top(i.target) not in allowed]
    if broken:
        pytest.fail("\n".join(broken), pytrace=False)


# -- (b) the layers inside the controller -----------------------------------------------------

def _group(module: str) -> str:
    """The controller subpackage or top-level module ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(group: str) -> int:
    return next(n for n, layer in enumerate(CONTROLLER_LAYERS) if group in layer)


def test_the_controller_layer_table_names_every_subpackage() -> None:
    on_disk = {_group(m) for m in _modules() if _top(m) == CONTROLLER}
    in_table = set().union(*CONTROLLER_LAYERS)
    assert on_disk == in_table, (f"on disk, not in CONTROLLER_LAYERS: {on_disk - in_table}; "
                                 f"in CONTROLLER_LAYERS, not on disk: {in_table - on_disk}")


def test_a_controller_module_imports_only_its_subpackage_or_lower_layers() -> None:
    broken = []
    for i in _imports():
        if _top(i.importer) != CONTROLLER or _top(i.target) != CONTROLLER:
            continue
        low, high = _group(i.target), _group(i.importer)
        if low != high and _layer(low) >= _layer(high):
            broken.append(f"{i}: a controller module imports only its own subpackage or a "
                          f"lower layer ({high} is layer {_layer(high)}, {low} layer "
                          f"{_layer(low)})")
    if broken:
        pytest.fail("\n".join(broken), pytrace=False)


# -- (c) no cycles ----------------------------------------------------------------------------

def _edges(node: Callable[[str], str | None]) -> dict[tuple[str, str], Import]:
    """The graph whose nodes ``node`` makes of modules (None: not in this graph), with one
    import that makes each edge."""
    edges: dict[tuple[str, str], Import] = {}
    for i in _imports():
        a, b = node(i.importer), node(i.target)
        if a is not None and b is not None and a != b:
            edges.setdefault((a, b), i)
    return edges


def _no_cycle(edges: dict[tuple[str, str], Import], what: str) -> None:
    """Fail naming the imports of one cycle among ``edges``, in order, if there is one."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    try:
        graphlib.TopologicalSorter(graph).prepare()
        return
    except graphlib.CycleError as exc:
        nodes = list(reversed(exc.args[1]))  # graphlib lists it against the arrows
    cycle = [str(edges[a, b]) for a, b in zip(nodes, nodes[1:], strict=False)]
    pytest.fail("\n".join([f"{what} import each other in a circle:", *cycle]), pytrace=False)


def test_no_cycle_between_packages() -> None:
    _no_cycle(_edges(_top), "the packages")


@pytest.mark.parametrize("package", sorted(_package_dirs()))
def test_no_cycle_between_the_modules_of_a_package(package: str) -> None:
    def module(name: str) -> str | None:
        return name if _top(name) == package and name in _modules() else None

    _no_cycle(_edges(module), f"the modules of {package}")


def _child(package: str, module: str) -> str | None:
    """The child of ``package`` (a module or subpackage) that ``module`` is or lies in;
    ``package`` itself for its __init__.py; None outside it."""
    if module == package:
        return package
    if not module.startswith(package + "."):
        return None
    return ".".join(module.split(".")[:package.count(".") + 2])


@pytest.mark.parametrize("package", sorted(_packages_on_disk()))
def test_no_cycle_between_the_subpackages_of_a_package(package: str) -> None:
    _no_cycle(_edges(functools.partial(_child, package)),
              f"the subpackages and modules of {package}")
