"""Run the whole test suite in the documented order and print one summary line.

Stages: ansible-test sanity, pytest unit tests, ansible-lint (production profile), every molecule
scenario under extensions/molecule/ (each on its own simulated lab), then the reliability and
security suite in tests/integration/ (real playbooks on the lab), then pd_deploy against the lab's real
Kubernetes control plane (tests/k8s/: RBAC, conflicts, faults, scheduling, teardown), pods on that control
plane run by the node agents (tests/lab_k8s/), then the AWX stage in tests/awx/ (the execution environment
build context, and site.yml as AWX jobs through ansible-runner on a lab of its own). Every stage runs even
when an earlier one failed, so one run shows everything that is broken; the exit code is non-zero
when anything failed.
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MOLECULE_DIR = os.path.join(ROOT, "extensions", "molecule")
# Scenarios that are not standalone (shared playbooks) carry no molecule.yml and are not listed.


def scenarios():
    found = []
    for name in sorted(os.listdir(MOLECULE_DIR)):
        if os.path.isfile(os.path.join(MOLECULE_DIR, name, "molecule.yml")):
            found.append(name)
    # default creates the lab base that every other scenario reuses: run it first.
    if "default" in found:
        found.remove("default")
        found.insert(0, "default")
    return found


def run(cmd, log_name):
    os.makedirs(os.path.join(ROOT, ".build", "logs"), exist_ok=True)
    log_path = os.path.join(ROOT, ".build", "logs", log_name + ".log")
    print("==> %s  (log: %s)" % (" ".join(cmd), os.path.relpath(log_path, ROOT)), flush=True)
    start = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True)
        out = []
        for line in proc.stdout:
            log.write(line)
            out.append(line)
            if os.environ.get("SUITE_VERBOSE"):
                sys.stdout.write(line)
        rc = proc.wait()
    elapsed = time.time() - start
    if rc != 0 and not os.environ.get("SUITE_VERBOSE"):
        # Show the tail of a failing stage so CI output is enough to act on.
        sys.stdout.write("".join(out[-80:]))
    print("<== rc=%d in %.0fs" % (rc, elapsed), flush=True)
    return rc, "".join(out)


def pytest_counts(output):
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    tail = output.strip().splitlines()[-1:] or [""]
    for number, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", tail[0]):
        counts["error" if word.startswith("error") else word] += int(number)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stages", default="sanity,unit,lint,build,molecule,integration,k8s,k8s_pods,awx")
    parser.add_argument("--scenario", action="append", help="run only these molecule scenarios")
    args = parser.parse_args()
    stages = args.stages.split(",")
    passed, failed, skipped = 0, 0, 0
    failures = []

    def record(name, ok):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            failures.append(name)

    if "sanity" in stages:
        rc = run(["bash", "tests/scripts/sanity.sh"], "sanity")[0]
        record("ansible-test sanity", rc == 0)
    if "unit" in stages:
        rc, out = run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", "2", "tests/unit"], "unit")
        counts = pytest_counts(out)
        passed += counts["passed"]
        failed += counts["failed"] + counts["error"]
        skipped += counts["skipped"]
        if rc != 0:
            failures.append("pytest tests/unit")
            if counts["failed"] + counts["error"] == 0:
                failed += 1
    if "lint" in stages:
        rc = run(["ansible-lint", "--profile", "production"], "ansible-lint")[0]
        record("ansible-lint --profile production", rc == 0)
    if "build" in stages:
        rc = run(["bash", "tests/scripts/build_check.sh"], "build")[0]
        record("collection build, install and playbook syntax", rc == 0)
    if "molecule" in stages:
        for name in args.scenario or scenarios():
            rc, out = run(["molecule", "test", "-s", name], "molecule-" + name)
            # A scenario that cannot run here (pd_deploy_real without a cluster) says so in one line.
            skip = re.search(r"SKIPPED %s: (.*)" % re.escape(name), out)
            if rc == 0 and skip:
                reason = skip.group(1)
                print("molecule %s skipped: %s" % (name, reason))
                skipped += 1
                continue
            record("molecule " + name, rc == 0)

    # The playbooks on the lab (tests/integration), pd_deploy against the lab's real control plane
    # (tests/k8s), pods on it run by the lab's node agents (tests/lab/k8s/AGENT.md), site.yml as AWX
    # jobs (tests/awx).
    for stage, path in (("integration", "tests/integration"), ("k8s", "tests/k8s"), ("k8s_pods", "tests/lab_k8s"),
                        ("awx", "tests/awx")):
        if stage not in stages:
            continue
        rc, out = run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", path], stage)
        counts = pytest_counts(out)
        passed += counts["passed"]
        failed += counts["failed"] + counts["error"]
        skipped += counts["skipped"]
        if rc != 0:
            failures.append("pytest " + path)
            if counts["failed"] + counts["error"] == 0:
                failed += 1

    if failures:
        print("failed stages: " + ", ".join(failures))
    line = "suite: %d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
