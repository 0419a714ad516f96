#!/usr/bin/env bash
# Proves that 'down' leaves ip netns, ip link, mounts and lab processes as they were: once after a
# normal run (with faults applied) and once after a simulated crash (state file gone, processes alive).
# Usage: sudo bash tests/lab/check_down_clean.sh [NODES_PER_ROLE]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
LAB="$PY tests/lab/atlas_lab.py --lab-id downcheck"
N=${1:-2}
snap=$(mktemp)
trap 'rm -f "$snap"' EXIT
$LAB down >/dev/null 2>&1 || true
$PY tests/lab/host_snapshot.py save "$snap"

start=$(date +%s.%N)
$LAB up --prefill "$N" --decode "$N" >/dev/null
echo "up of $((2 * N)) nodes: $(echo "$(date +%s.%N) - $start" | bc) s"
$LAB fault vlan decode-1 1 300 >/dev/null
$LAB fault link-down prefill-1 2 >/dev/null
$LAB fault entropy-low prefill-1 >/dev/null
$LAB fault sshd-stop decode-1 >/dev/null
start=$(date +%s.%N)
$LAB down
echo "down: $(echo "$(date +%s.%N) - $start" | bc) s"
$PY tests/lab/host_snapshot.py compare "$snap"

# Crash: the state file is lost while every node process still runs.
$LAB up --prefill 1 --decode 1 >/dev/null
rm -f /var/lib/ascend-lab/downcheck/state.json
$LAB down
$LAB down   # again: must be a no-op
$PY tests/lab/host_snapshot.py compare "$snap"

# With the Kubernetes control plane (up --k8s): its processes, ports (198.18.<n>.1:2379/2380/6443/
# 10257/10259) and state dir go too, after a normal down and after a crash. Needs the cached
# binaries (tests/lab/k8s/build.py); without them this part says so and is skipped.
if $PY tests/lab/k8s/build.py --check >/dev/null; then
  start=$(date +%s.%N)
  $LAB up --prefill 1 --decode 1 --k8s >/dev/null
  echo "up of 2 nodes + control plane: $(echo "$(date +%s.%N) - $start" | bc) s"
  $LAB kubectl get --raw /readyz >/dev/null
  [ -n "$(ss -Hltn | grep -E ' 198\.18\.[0-9]+\.1:6443 ')" ] || { echo "kube-apiserver is not listening" >&2; exit 1; }
  $LAB down
  [ ! -e /var/lib/ascend-lab/downcheck ] || { echo "down left /var/lib/ascend-lab/downcheck" >&2; exit 1; }
  $PY tests/lab/host_snapshot.py compare "$snap"
  # Crash: state.json lost while etcd, kube-apiserver, controller-manager and scheduler run.
  $LAB up --prefill 1 --decode 1 --k8s >/dev/null
  rm -f /var/lib/ascend-lab/downcheck/state.json
  $LAB down
  $LAB down
  [ ! -e /var/lib/ascend-lab/downcheck ] || { echo "down left /var/lib/ascend-lab/downcheck" >&2; exit 1; }
  $PY tests/lab/host_snapshot.py compare "$snap"
else
  echo "SKIPPED the --k8s part: the Kubernetes binaries are not built (python3 tests/lab/k8s/build.py)"
fi
