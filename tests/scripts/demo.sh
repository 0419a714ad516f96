#!/usr/bin/env bash
# The README's main job: playbooks/site.yml end to end on the simulated Atlas lab (2 P + 2 D nodes,
# Atlas 800I A2). No Kubernetes cluster exists on our machines, so the deploy stage talks to the
# test stand-in of the Kubernetes API on loopback (tests/k8s_standin); give DEMO_KUBECONFIG to use a
# real cluster instead. The lab stays up afterwards (inspect it, re-run); `make demo-down` removes it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
lab=(python tests/lab/atlas_lab.py --lab-id demo)
# Re-running the demo reuses a lab that is already up (and converges on it).
if [ -f /var/lib/ascend-lab/demo/state.json ]; then
  echo "lab demo is already up; reusing it (make demo-down removes it)"
else
  "${lab[@]}" up --prefill 2 --decode 2 --profile a2-64g
fi
inventory=$("${lab[@]}" inventory)
work="$root/.build/demo"
mkdir -p "$work"
if [ -n "${DEMO_KUBECONFIG:-}" ]; then
  kubeconfig=$DEMO_KUBECONFIG
else
  kubeconfig="$work/kubeconfig"
  if [ -f "$work/standin.pid" ] && kill -0 "$(cat "$work/standin.pid")" 2>/dev/null; then
    echo "Kubernetes API stand-in already running (pid $(cat "$work/standin.pid"))"
  else
    rm -f "$work/standin.port"
    python tests/k8s_standin/server.py --kubeconfig "$kubeconfig" --port-file "$work/standin.port" \
      >"$work/standin.log" 2>&1 &
    echo $! >"$work/standin.pid"
    for _ in $(seq 50); do [ -s "$work/standin.port" ] && break; sleep 0.1; done
    echo "Kubernetes API stand-in (test stand-in, not a cluster) on 127.0.0.1:$(cat "$work/standin.port")"
  fi
fi
export K8S_AUTH_KUBECONFIG=$kubeconfig
export MINDIE_REPORT_DIR="$work/reports"
# The demo CA password is made up per lab and given through a file that only root can read.
pwfile="$work/ca-password.yml"
if [ ! -f "$pwfile" ]; then
  umask 077
  printf 'mindie_ca_password: "Demo-%s"\n' "$(openssl rand -hex 12)" >"$pwfile"
fi
# MindIE 3.x (PyMotor) when the lab runs a real control plane (atlas_lab.py up --k8s): the lab image
# with mindie-motor and the fake engine; the smoke stage then answers through NodePort -> Coordinator
# -> Prefill -> Decode. With the API stand-in no pod runs, so there is nothing to ask: smoke is skipped.
extra=()
if [ -f /var/lib/ascend-lab/demo/k8s/deployer.kubeconfig ]; then
  image_dir=$(python tests/lab/images/mindie-motor/build.py | tail -1)
  extra+=(-e "@tests/scripts/demo-mindie3.yml" -e "mindie_image=mindie-motor:$(basename "$image_dir")")
else
  echo "Kubernetes API stand-in: the smoke stage is skipped (no pod runs to answer a request)"
  extra+=(--skip-tags smoke)
fi
ansible-playbook -i inventories/lab -i "$inventory" -e "@$pwfile" "${extra[@]}" playbooks/site.yml "$@"
