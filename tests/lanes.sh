#!/usr/bin/env bash
# `make test`: the suite in two lanes at once. Why: most of its time is spent waiting on
# servers, child processes and timers (run as one lane, it kept about 0.6 of one core busy on
# a 2-core machine). The system lane runs, one after the other, the tests that use what the
# whole machine shares -- containers, images, network namespaces; several count what is left
# behind, so nothing else may create any meanwhile -- and then the MXNet tests (.venv); the
# other lane runs every other test on numpy 2 (.venv-core). Each line carries its lane's
# name; the exit status is the other lane's if it failed, else the system lane's. A lane that
# failed has its FAILED and ERROR lines said again last: CI keeps only the end of what a run
# printed, and the lane that ended first has its summary far above it.
#
# usage: tests/lanes.sh CORE_PYTHON AI_PYTHON SYSTEM_PATH...
set -uo pipefail
core=$1 ai=$2
shift 2
system=("$@")
ignore=("${system[@]/#/--ignore=}")

logs=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$logs"' INT TERM
trap 'rm -rf "$logs"' EXIT
{ "$core" -m pytest -m "not mxnet and not fleet" "${system[@]}" \
    && "$ai" -m pytest -m "mxnet and not fleet"; } 2>&1 | sed -u 's/^/[system] /' | tee "$logs/system" &
lane=$!
"$core" -m pytest -m "not mxnet and not fleet" "${ignore[@]}" 2>&1 | sed -u 's/^/[other]  /' | tee "$logs/other"
other=$?
wait "$lane"
system_status=$?
for lane in system other; do
    grep -E '^\[[a-z]+\] +(FAILED|ERROR) ' "$logs/$lane"
done
echo "lanes: other exited $other, system $system_status"
exit $(( other ? other : system_status ))
