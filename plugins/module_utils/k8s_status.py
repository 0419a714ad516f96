# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""When a Deployment counts as Available, and why a pod is not Ready, from the objects the API returns
(plain dicts). The deploy stage's waits call these through plugins/filter/k8s.py."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

COMPONENT_LABEL = "app.kubernetes.io/component"


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _true(conditions, kind):
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions or [])


def expected_deployments(objects, components):
    """Names of the rendered Deployments of these components, in render order."""
    return [o["metadata"]["name"] for o in objects or []
            if o.get("kind") == "Deployment"
            and (o.get("metadata", {}).get("labels") or {}).get(COMPONENT_LABEL) in components]


def deployment_available(deployment):
    """Available, the controller has seen the newest spec, and every replica is updated and available."""
    st = deployment.get("status") or {}
    meta, spec = deployment.get("metadata") or {}, deployment.get("spec") or {}
    replicas = _int(spec.get("replicas"), 1)
    return (_true(st.get("conditions"), "Available")
            and _int(st.get("observedGeneration")) >= _int(meta.get("generation"), 1)
            and _int(st.get("updatedReplicas")) >= replicas
            and _int(st.get("availableReplicas")) >= replicas)


def not_available(deployments, expected):
    """The expected names whose Deployment is missing or not (yet) Available, in the given order."""
    ready = set(d["metadata"]["name"] for d in deployments or [] if deployment_available(d))
    return [name for name in expected if name not in ready]


# Probe failures and back-offs name what a pod's own status does not (a MindIE 3.x Coordinator's readiness
# body shows only there).
POD_EVENT_REASONS = ("Unhealthy", "BackOff", "Failed")


def _cut(text, size):
    text = str(text)
    return text if len(text) <= size else text[:size] + "..."


def pod_reasons(pod, event_message=None):
    """Why one pod is not Ready: its failing conditions (with the scheduler's message), the states of its
    init and app containers that have a reason, their last exit and restarts, and the newest probe-failure
    event's message."""
    st = pod.get("status") or {}
    why = []
    for c in st.get("conditions") or []:
        if c.get("status") != "True":
            why.append("%s=%s%s%s" % (c.get("type"), c.get("status"), (" " + c["reason"]) if c.get("reason") else "",
                                      (": " + _cut(c["message"], 400)) if c.get("message") else ""))
    for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
        for state, detail in (cs.get("state") or {}).items():
            # a finished init container (exit 0) is not a reason
            if isinstance(detail, dict) and detail.get("reason") and not (state == "terminated"
                                                                          and detail.get("exitCode") == 0):
                why.append("%s %s %s%s" % (cs.get("name"), state, detail["reason"],
                                           (": " + _cut(detail["message"], 200)) if detail.get("message") else ""))
        last = (cs.get("lastState") or {}).get("terminated")
        if last is not None:
            why.append(("%s last exit %s %s" % (cs.get("name"), last.get("exitCode", "?"), last.get("reason", ""))).rstrip())
        if cs.get("restartCount"):
            why.append("%s restarts %s" % (cs.get("name"), cs["restartCount"]))
    if event_message:
        why.append("probe: " + _cut(event_message, 400))
    return why


def pods_not_ready(pods, events=()):
    """One line per pod that is not Ready: ``name on node (phase, reasons...)``.

    ``events``: the namespace's events, when the caller may read them; the newest probe failure or
    back-off of each pod is added to its line. The deploy stage's wait and the smoke stage both use this.
    """
    latest = {}
    for ev in events or []:
        obj = ev.get("involvedObject") or {}
        if ev.get("reason") in POD_EVENT_REASONS and obj.get("name"):
            latest[obj["name"]] = ev.get("message", "")
    lines = []
    for pod in pods or []:
        meta, st = pod.get("metadata") or {}, pod.get("status") or {}
        if _true(st.get("conditions"), "Ready"):
            continue
        why = pod_reasons(pod, latest.get(meta.get("name")))
        node = (pod.get("spec") or {}).get("nodeName") or "no node"
        lines.append("%s on %s (%s%s)" % (meta.get("name"), node, st.get("phase", "Unknown"),
                                          (", " + ", ".join(why)) if why else ""))
    return lines


def object_refs(resources):
    """Only the identity of each object (apiVersion, kind, namespace, name)."""
    return [{"apiVersion": o.get("apiVersion"), "kind": o.get("kind"),
             "namespace": (o.get("metadata") or {}).get("namespace"), "name": (o.get("metadata") or {}).get("name")}
            for o in resources or []]


def node_state(node):
    """A Node's Ready condition in words ('not found' for no object)."""
    if not node:
        return "not found"
    ready = [c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
    if not ready:
        return "no Ready condition (no kubelet ever reported)"
    return "Ready=%s%s" % (ready[0].get("status"), (" (%s)" % ready[0]["reason"]) if "reason" in ready[0] else "")


def stuck_pod_lines(pods, node_states):
    """One line per pod left after a teardown: Terminating or its phase, and its node's state."""
    lines = []
    for pod in pods or []:
        meta, node = pod.get("metadata") or {}, (pod.get("spec") or {}).get("nodeName") or ""
        state = " Terminating" if "deletionTimestamp" in meta else " (%s)" % (pod.get("status") or {}).get("phase", "?")
        where = " on node %s [%s]" % (node, node_states.get(node, "?")) if node else " (not scheduled)"
        lines.append("pod %s%s%s" % (meta.get("name"), state, where))
    return lines


def secret_key(path):
    """A Secret key for a file path ('/' is not allowed in keys); the pod volume's items restore it."""
    return path.replace("/", "__")


def secret_data(slurped):
    """slurp results looped over (component, path) -> {component: {key: base64 content}}."""
    out = {}
    for r in slurped or []:
        component, path = r["item"][0], r["item"][1]
        out.setdefault(component, {})[secret_key(path)] = r["content"]
    return out


def secret_items(data):
    """{component: {key: ...}} -> {component: [{key, path}]} for the Secret volumes' items, keys sorted."""
    return dict((component, [{"key": k, "path": k.replace("__", "/")} for k in sorted(files)])
                for component, files in (data or {}).items())
