#!/usr/bin/env bash
# Installs the container engine the image tests use: podman with runc, driven through
# podman's Docker-compatible API by the `docker` SDK. Idempotent; needs root (see README
# for what a non-root user does instead).
set -euo pipefail

need=()
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "host-setup: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

# Podman's default runtime (crun) fails here on cgroups and rlimits; runc works.
conf=/etc/containers/containers.conf
if ! grep -q 'runtime = "runc"' "$conf" 2>/dev/null; then
    mkdir -p /etc/containers
    cat > "$conf" <<'CONF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
[engine.runtimes]
runc = ["/usr/sbin/runc"]
CONF
    echo "host-setup: wrote $conf (runc, cgroupfs)"
fi
