#!/usr/bin/env bash
# The README's main job: playbooks/site.yml end to end on the simulated Atlas lab (2 P + 2 D nodes,
# Atlas 800I A2) with its real Kubernetes control plane (built from Debian's source, tests/lab/k8s) and
# node agents that run the pods: MindIE 3.x (PyMotor) is deployed by the least-privilege deployer
# account and the smoke stage ends with a request answered through NodePort -> Coordinator -> Prefill
# -> Decode. Give DEMO_KUBECONFIG to deploy to another cluster instead. The lab stays up afterwards
# (inspect it: python tests/lab/atlas_lab.py --lab-id demo kubectl get pods -o wide); `make demo-down`
# removes it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
lab=(python tests/lab/atlas_lab.py --lab-id demo)
# Re-running the demo reuses a lab that is already up (and converges on it).
if [ -f /var/lib/ascend-lab/demo/state.json ]; then
  echo "lab demo is already up; reusing it (make demo-down removes it)"
else
  "${lab[@]}" up --prefill 2 --decode 2 --profile a2-64g --k8s --k8s-namespace mindie
fi
inventory=$("${lab[@]}" inventory)
work="$root/.build/demo"
mkdir -p "$work"
kubeconfig=${DEMO_KUBECONFIG:-/var/lib/ascend-lab/demo/k8s/deployer.kubeconfig}
if [ ! -f "$kubeconfig" ]; then
  echo "no kubeconfig at $kubeconfig: the demo lab was brought up without its control plane (an older" \
    "demo); run 'make demo-down' and 'make demo' again, or give DEMO_KUBECONFIG" >&2
  exit 1
fi
export K8S_AUTH_KUBECONFIG=$kubeconfig
export MINDIE_REPORT_DIR="$work/reports"
# The demo CA password is made up per lab and given through a file that only root can read.
pwfile="$work/ca-password.yml"
if [ ! -f "$pwfile" ]; then
  umask 077
  printf 'mindie_ca_password: "Demo-%s"\n' "$(openssl rand -hex 12)" >"$pwfile"
fi
# MindIE 3.x (PyMotor): the lab image with the mindie-motor wheel and the lab's fake engine (built once,
# cached under /var/cache/ascend-lab).
image_dir=$(python tests/lab/images/mindie-motor/build.py | tail -1)
extra=(-e "@tests/scripts/demo-mindie3.yml" -e "mindie_image=mindie-motor:$(basename "$image_dir")")
ansible-playbook -i inventories/lab -i "$inventory" -e "@$pwfile" "${extra[@]}" playbooks/site.yml "$@"
