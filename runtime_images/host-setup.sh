#!/usr/bin/env bash
# Installs what the tests need from the host: the container engine (podman with runc, driven
# through podman's Docker-compatible API by the `docker` SDK, debootstrap for the base image),
# the process backend's sandbox (bubblewrap), the tools of the NAT tests (ip, nft, openssl),
# the headless browser of the web console's tests (chromium, chromedriver) and the Redis that
# Composer's parallel/map combinators need (redis-server, redis-cli); wrk, the C load generator
# `edgewhisk bench scale` drives the controllers with (it falls back to Python clients).
# Idempotent; needs root (see README for what a non-root user does instead).
# With tool names as arguments (`host-setup.sh redis-server redis-cli`, what `make demo`
# runs) it installs only the packages of those tools and leaves the container engine alone.
set -euo pipefail

# tool -> the Debian package that provides it
declare -A packages=([podman]=podman [runc]=runc [debootstrap]=debootstrap [ip]=iproute2
                     [nft]=nftables [openssl]=openssl [bwrap]=bubblewrap [prlimit]=util-linux
                     [chromium]=chromium [chromedriver]=chromium-driver
                     [redis-server]=redis-server [redis-cli]=redis-tools [wrk]=wrk)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${!packages[@]}")
need=()
for tool in "${wanted[@]}"; do
    [ -n "${packages[$tool]:-}" ] || { echo "host-setup: unknown tool $tool" >&2; exit 2; }
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || need+=("${packages[$tool]}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "host-setup: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ $# -eq 0 ] || exit 0  # only the tools asked for

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
