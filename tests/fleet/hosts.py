"""The fleet of ``make test-fleet``: three hosts booting systemd, deployed by ansible/site.yml.

Why these hosts: the roles install, enable, harden and restart systemd units, so a host must
boot a real init. Each is a podman container running ``/lib/systemd/systemd`` as pid 1
(``--systemd=always``; image ``host.Containerfile``) with ``CAP_SYS_ADMIN`` so that systemd can
build the units' sandboxes (``ProtectSystem=``, ``PrivateTmp=`` ...: without it systemd skips
them and says so in the journal) and no other added privilege. Each joins one network namespace
of the NAT topology the e2e tests build (:mod:`e2e.netns`, ``--network ns:PATH``): the
controller host in "cloud" (10.77.0.1), the edge hosts behind the masquerading router that drops
every inbound connection, so their agents can reach the controller only through the tunnel they
dial. Ansible reaches the hosts through ``podman exec`` (the ``containers.podman.podman``
connection of the ``ansible`` package), as it would reach a device through a bastion.

The control node (this test process) builds the wheelhouse the play copies to every host
(``pip wheel``: the project's wheel and its dependencies' wheels; the hosts reach no index) and
keeps the TLS folder where the play makes its CA. Everything is removed at the end, pass or
fail: containers (by name, and a session sweep by label), namespaces, folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from e2e import netns
from edgewhisk_runtime import images

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PLAYBOOKS = ROOT / "ansible"
BIN = Path(sys.executable).parent
IMAGE = "localhost/edgewhisk-fleet-host:bookworm"
LABEL = "edgewhisk.fleet"
POUCHDB = ROOT / ".services" / "node_modules"
BOOT_TIMEOUT_S = 60.0
PLAY_TIMEOUT_S = 900
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.MULTILINE)
EDGES = {"edge1": {"invoker_owner": "alice", "invoker_networks": ["alice_home"]},
         "edge2": {"invoker_owner": "bob", "invoker_networks": ["bob_home"],
                   "invoker_backend": "docker", "edgewhisk_extras": "docker"}}
# the edge host whose agent runs actions in containers of its own podman (--backend docker)
DOCKER_EDGE = "edge2"
NESTED_STORE = "rw,exec,suid,dev,size=3g"   # its podman's image store: a tmpfs (see _start)


def podman(*args: str, timeout: float = 120) -> str:
    """``podman ARGS``' stdout; a failure raises with its stderr."""
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def build_image() -> None:
    """The host image, on the runtime image's debootstrapped base (made first if missing);
    podman's layer cache makes a repeat cost seconds."""
    images.ensure_base(ROOT / ".build", lambda line: None)
    podman("build", "-q", "--build-arg", f"BASE={images.BASE_IMAGE}", "-f",
           str(HERE / "host.Containerfile"), "-t", IMAGE, str(HERE), timeout=600)


def build_wheels(folder: Path, *, deps: bool = True, epoch: int | None = None) -> list[Path]:
    """``pip wheel`` of this checkout into ``folder`` (with its dependencies, the docker extra's
    too, unless ``deps`` is false); ``epoch`` sets SOURCE_DATE_EPOCH, so a rebuild of the same
    source differs."""
    env = {**os.environ, **({"SOURCE_DATE_EPOCH": str(epoch)} if epoch else {})}
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--progress-bar", "off",
                           *(() if deps else ("--no-deps",)), "-w", str(folder), f"{ROOT}[docker]"],
                          capture_output=True, text=True, timeout=600, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"pip wheel failed: {done.stderr}")
    return sorted(folder.glob("edgewhisk-*.whl"))


@dataclass
class Host:
    """One booted container; commands run in it with ``podman exec``."""

    name: str        # its inventory name and hostname
    container: str
    namespace: netns.Namespace

    def exec(self, *command: str, check: bool = True) -> str:
        done = subprocess.run(["podman", "exec", self.container, *command],
                              capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(command)} failed: {done.stderr}")
        return done.stdout

    def unit(self, unit: str, *properties: str) -> dict[str, str]:
        """``systemctl show UNIT -p ...`` as a dict."""
        out = self.exec("systemctl", "show", unit, *(f"-p{p}" for p in properties))
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, unit: str) -> str:
        return self.exec("journalctl", "-u", unit, "--no-pager", "-n", "80", check=False)


def build_runtime_archive(path: Path) -> str:
    """The python3-ai runtime image of these sources (built or reused, as the container tests
    do), saved to ``path`` for the play to copy to the docker edge host; its name."""
    image = images.build_image(tag=None, progress=lambda line: None)
    podman("save", "-q", "-o", str(path), image, timeout=300)
    return image


def _start(name: str, namespace: netns.Namespace, prefix: str, *options: str) -> Host:
    """One host booting systemd. The docker edge host runs ``--privileged``: its podman makes
    containers (mounts, cgroups, netavark's bridge and nftables), which CAP_SYS_ADMIN alone
    does not allow in a container (``podman load`` there failed). Its image store is a tmpfs:
    overlay, podman's storage driver, cannot stack on the host container's own overlay root
    ("'overlay' is not supported over overlayfs"); a tmpfs is also gone with the container."""
    container = f"{prefix}{name}"
    privilege = (("--privileged", "--tmpfs", f"/var/lib/containers:{NESTED_STORE}")
                 if name == DOCKER_EDGE else ("--cap-add", "SYS_ADMIN"))
    podman("run", "-d", "--name", container, "--hostname", name, "--label", LABEL,
           "--network", f"ns:{netns.NETNS_DIR / namespace.name}",
           "--systemd=always", *privilege, *options, IMAGE)
    return Host(name, container, namespace)


def _booted(host: Host) -> None:
    """Until systemd finished booting (``degraded`` counts: a unit the host does not need)."""
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while True:
        state = host.exec("systemctl", "is-system-running", check=False).strip()
        if state in ("running", "degraded"):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{host.name} did not boot in {BOOT_TIMEOUT_S}s: {state}")
        time.sleep(0.5)


def remove_containers(prefix: str) -> list[str]:
    """Remove every fleet container (labelled) whose name starts with ``prefix``: one fleet's,
    or this run's (``netns.run_prefix()``); their names."""
    listed = podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}").split()
    names = [name for name in listed if name.startswith(prefix)]
    for name in names:
        with contextlib.suppress(RuntimeError):
            podman("rm", "-f", "-t", "5", name)
    return names


@dataclass
class Fleet:
    """The hosts, the topology they live in and the control node's folders."""

    topology: netns.Topology
    controller: Host
    edges: list[Host]
    root: Path            # the control node's side: wheelhouse, tls, ansible's home
    runtime_image: str    # the python3-ai image the docker edge host gets (saved in root)

    @property
    def hosts(self) -> list[Host]:
        return [self.controller, *self.edges]

    @property
    def wheelhouse(self) -> Path:
        return self.root / "wheelhouse"

    @property
    def runtime_archive(self) -> Path:
        return self.root / "python3-ai.tar"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def api_host(self) -> str:
        return f"https://{self.topology.cloud.address}:3233"

    def inventory(self) -> Path:
        """A YAML inventory (written as JSON, which YAML reads) of the three hosts."""
        cloud = self.topology.cloud.address
        podman_vars = {"ansible_connection": "containers.podman.podman",
                       "ansible_python_interpreter": "/usr/bin/python3"}
        inventory = {"all": {
            "vars": {**podman_vars, "edgewhisk_become": False,
                     "edgewhisk_wheelhouse": str(self.wheelhouse),
                     "edgewhisk_tls_dir": str(self.tls)},
            "children": {
                "controller": {
                    "hosts": {self.controller.name: {"ansible_host": self.controller.container}},
                    "vars": {"controller_public_host": cloud,
                             "controller_db_url": "http://127.0.0.1:5984"}},
                "edge_invokers": {
                    "hosts": {edge.name: {"ansible_host": edge.container, **EDGES[edge.name]}
                              for edge in self.edges},
                    "vars": {"invoker_controller": f"wss://{cloud}:3233",
                             "invoker_battery": "none", "invoker_store_cap": "300MB",
                             "invoker_runtime_image": self.runtime_image,
                             "invoker_runtime_image_archive": str(self.runtime_archive)}}}}}
        path = self.root / "inventory.yml"
        path.write_text(json.dumps(inventory, indent=1))
        return path

    def play(self, *args: str) -> Play:
        """``ansible-playbook -i INVENTORY site.yml ARGS`` from ansible/, its output parsed."""
        home = self.root / "ansible-home"
        env = {**os.environ, "ANSIBLE_HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
               "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
               "ANSIBLE_ROLES_PATH": str(PLAYBOOKS / "roles")}
        done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(self.inventory()),
                               "site.yml", *args], cwd=PLAYBOOKS, env=env, capture_output=True,
                              text=True, timeout=PLAY_TIMEOUT_S)
        output = done.stdout + done.stderr
        runs = len(list(self.root.glob("play-*.log")))
        (self.root / f"play-{runs + 1}.log").write_text(output)  # kept with pytest's tmp
        return Play(done.returncode, output)

    def key(self) -> str:
        """The namespace key the play wrote on the controller host (APIHOST/AUTH file)."""
        props = self.controller.exec("cat", "/opt/edgewhisk/etc/wskprops")
        return re.findall(r"(?m)^AUTH=(.+)$", props)[0]

    def logs(self) -> str:
        units = [(self.controller, "edgewhisk-controller"), (self.controller, "pouchdb")]
        units += [(edge, "edgewhisk-invoker") for edge in self.edges]
        return "\n".join(f"--- {host.name} {unit}\n{host.journal(unit)}" for host, unit in units)


@dataclass
class Play:
    returncode: int
    output: str

    def recap(self) -> dict[str, dict[str, int]]:
        """host -> {ok, changed, unreachable, failed} from PLAY RECAP."""
        return {m[0]: dict(zip(("ok", "changed", "unreachable", "failed"),
                               map(int, m[1:]), strict=True))
                for m in RECAP.findall(self.output)}


@contextlib.contextmanager
def fleet(root: Path) -> Iterator[Fleet]:
    """The image and the wheelhouse built, the topology and three booted hosts; all removed
    at the end whatever happened."""
    build_image()
    build_wheels(root / "wheelhouse")
    node = shutil.which("node")
    assert node, "node (Node.js) is needed for the controller host's pouchdb-server"
    mounts = ("-v", f"{node}:/usr/local/bin/node:ro",
              "-v", f"{POUCHDB}:/opt/pouchdb/node_modules:ro")
    topology = netns.build(edges=2)
    prefix = topology.prefix
    try:
        runtime_image = build_runtime_archive(root / "python3-ai.tar")
        controller = _start("cloud", topology.cloud, prefix, *mounts)
        edges = [_start(f"edge{n}", edge, prefix) for n, edge in
                 enumerate(topology.edges, start=1)]
        built = Fleet(topology, controller, edges, root, runtime_image)
        for host in built.hosts:
            _booted(host)
        yield built
    finally:
        remove_containers(prefix)
        topology.close()
        (root / "python3-ai.tar").unlink(missing_ok=True)  # 500 MB: not kept with pytest's tmp
