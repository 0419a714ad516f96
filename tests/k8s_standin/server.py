#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TEST STAND-IN for the Kubernetes API. Not a Kubernetes server; only for the collection's tests.

Serves, on 127.0.0.1 only, just enough of the API for kubernetes.core (and the kubernetes Python
client's dynamic discovery) to run the pd_deploy role's apply and teardown paths:

- discovery: /version, /api, /apis, /api/v1, /apis/apps/v1
- Namespace, ConfigMap, Secret, Service, Deployment: get, list (labelSelector), create, delete,
  patch (server-side apply ``application/apply-patch+yaml`` with fieldManager; JSON merge and
  strategic merge treated as JSON merge), all honouring ``dryRun=All``
- Pod: list/get only; pods are derived from the Deployments (one per replica), scheduled as a real
  cluster would report it: replica i on invented node ``standin-node-<i>`` (``spec.nodeName``,
  ``status.hostIP``), and a running pod has its own ``status.podIP`` (kept per pod name; a new pod
  template means new pods, so new IPs)
- Ascend Operator (an Ascend cluster component, not part of Kubernetes): ascend_operator.py fills an
  existing ``rings-config-<Deployment>`` for Deployments labelled ``ring-controller.atlas`` that
  request NPUs, as the real operator does, before every request is served (off with
  ``--no-ascend-operator``); see that file for what it imitates
- Deployment status: Available ``--ready-delay`` seconds after its last spec change, or never for
  the Deployments named in ``--fail-deployments`` (their pods report CrashLoopBackOff)

Simplifications (deliberate): server-side apply replaces what the applying manager sent last time
(fine while one manager owns an object, which is what the tests exercise); no defaulting, no
admission, no watch. An apply that changes nothing returns the stored object unchanged (same
resourceVersion), so kubernetes.core reports changed=false just as with a real API server.

Usage: python3 server.py --kubeconfig PATH --port-file F [--port 0] [--ready-delay 1]
                         [--fail-deployments a,b] [--token T]
"""

import argparse
import copy
import datetime
import hashlib
import json
import os
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

try:
    import yaml
except ImportError:  # JSON bodies (what kubernetes.core sends) still work
    yaml = None

VERSION = {'major': '1', 'minor': '30', 'gitVersion': 'v1.30.0-ascend-mindie-standin',
           'platform': 'linux/amd64'}

# (group, version, plural) -> (kind, namespaced)
RESOURCES = {
    ('', 'v1', 'namespaces'): ('Namespace', False),
    ('', 'v1', 'configmaps'): ('ConfigMap', True),
    ('', 'v1', 'secrets'): ('Secret', True),
    ('', 'v1', 'services'): ('Service', True),
    ('', 'v1', 'pods'): ('Pod', True),
    ('apps', 'v1', 'deployments'): ('Deployment', True),
}
SERVER_META = ('uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields')


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_selector(text):
    """Kubernetes label selector -> list of (key, op, values)."""
    reqs = []
    for part in re.findall(r'(?:[^,(]|\([^)]*\))+', text or ''):
        part = part.strip()
        if not part:
            continue
        m = re.match(r'^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$', part)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(',') if v.strip()]))
            continue
        m = re.match(r'^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$', part)
        if m:
            reqs.append((m.group(1), '!=' if m.group(2) == '!=' else '=', [m.group(3)]))
            continue
        m = re.match(r'^(!?)([\w./-]+)$', part)
        if m:
            reqs.append((m.group(2), '!' if m.group(1) else 'exists', []))
            continue
        raise ValueError('unable to parse requirement: %r' % part)
    return reqs


def selector_matches(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        if op == '=' and labels.get(key) != values[0]:
            return False
        if op == '!=' and labels.get(key) == values[0]:
            return False
        if op == 'in' and labels.get(key) not in values:
            return False
        if op == 'notin' and labels.get(key) in values:
            return False
        if op == 'exists' and key not in labels:
            return False
        if op == '!' and key in labels:
            return False
    return True


class ApiError(Exception):
    def __init__(self, code, reason, message, name=None, plural=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.name, self.plural = name, plural

    def status(self):
        return {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
                'message': self.message, 'reason': self.reason,
                'details': {'name': self.name, 'kind': self.plural}, 'code': self.code}


class Store(object):
    def __init__(self, ready_delay, fail_deployments):
        self.lock = threading.RLock()
        self.objects = {}     # (plural, namespace, name) -> object
        self.applied = {}     # (plural, namespace, name, manager) -> last applied config
        self.changed_at = {}  # deployment key -> time of last spec change
        self.rv = 1
        self.ready_delay = ready_delay
        self.fail = set(fail_deployments)
        self.node_port = 30000
        self.requests = []    # (method, path) log for the tests
        self.pod_ips = {}     # pod name -> its IP (what the CNI gave it)
        self.ascend_operator = None  # a callable(store) run before each request (ascend_operator.sync)

    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    # -- derived state -------------------------------------------------------------------
    def _deployment_status(self, key, obj):
        replicas = obj.get('spec', {}).get('replicas', 1)
        elapsed = (datetime.datetime.now().timestamp() - self.changed_at.get(key, 0))
        ready = obj['metadata']['name'] not in self.fail and elapsed >= self.ready_delay
        gen = obj['metadata'].get('generation', 1)
        if ready:
            return {'observedGeneration': gen, 'replicas': replicas, 'updatedReplicas': replicas,
                    'readyReplicas': replicas, 'availableReplicas': replicas,
                    'conditions': [
                        {'type': 'Available', 'status': 'True', 'reason': 'MinimumReplicasAvailable',
                         'message': 'Deployment has minimum availability.'},
                        {'type': 'Progressing', 'status': 'True', 'reason': 'NewReplicaSetAvailable',
                         'message': 'ReplicaSet has successfully progressed.'}]}
        status = {'observedGeneration': gen, 'replicas': replicas, 'updatedReplicas': replicas,
                  'conditions': [{'type': 'Available', 'status': 'False', 'reason': 'MinimumReplicasUnavailable',
                                  'message': 'Deployment does not have minimum availability.'}]}
        if replicas:
            status['unavailableReplicas'] = replicas
        return status

    def with_status(self, plural, key, obj):
        obj = copy.deepcopy(obj)
        if plural == 'deployments':
            obj['status'] = self._deployment_status(key, obj)
        return obj

    def pods(self, namespace):
        out = []
        for (plural, ns, name), dep in sorted(self.objects.items()):
            if plural != 'deployments' or (namespace and ns != namespace):
                continue
            key = (plural, ns, name)
            template = dep['spec']['template']
            digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
            status = self._deployment_status(key, dep)
            ready = bool(status.get('availableReplicas'))
            for i in range(dep['spec'].get('replicas', 1)):
                containers = template['spec'].get('containers', [])
                pod_name = '%s-%s-%d' % (name, digest, i)
                if ready:
                    cstat = [{'name': c['name'], 'ready': True, 'restartCount': 0,
                              'state': {'running': {'startedAt': dep['metadata']['creationTimestamp']}}}
                             for c in containers]
                    conds = [{'type': 'Ready', 'status': 'True'}]
                elif name in self.fail:
                    cstat = [{'name': c['name'], 'ready': False, 'restartCount': 7,
                              'state': {'waiting': {'reason': 'CrashLoopBackOff',
                                                    'message': 'back-off 5m0s restarting failed container'}},
                              'lastState': {'terminated': {'exitCode': 1, 'reason': 'Error'}}}
                             for c in containers]
                    conds = [{'type': 'Ready', 'status': 'False', 'reason': 'ContainersNotReady',
                              'message': 'containers with unready status: [%s]'
                              % ' '.join(c['name'] for c in containers)}]
                else:
                    cstat = [{'name': c['name'], 'ready': False, 'restartCount': 0,
                              'state': {'waiting': {'reason': 'ContainerCreating'}}} for c in containers]
                    conds = [{'type': 'Ready', 'status': 'False', 'reason': 'ContainersNotReady'}]
                running = ready or name in self.fail
                pod_status = {'phase': 'Running' if running else 'Pending', 'hostIP': '198.18.200.%d' % (10 + i),
                              'conditions': conds, 'containerStatuses': cstat}
                if running:
                    if pod_name not in self.pod_ips:
                        count = len(self.pod_ips)
                        self.pod_ips[pod_name] = '198.18.%d.%d' % (224 + count // 250, count % 250 + 2)
                    pod_status['podIP'] = self.pod_ips[pod_name]
                    pod_status['podIPs'] = [{'ip': self.pod_ips[pod_name]}]
                out.append({
                    'apiVersion': 'v1', 'kind': 'Pod',
                    'metadata': {'name': pod_name, 'namespace': ns,
                                 'labels': dict(template['metadata'].get('labels', {}),
                                                **{'pod-template-hash': digest})},
                    'spec': dict(copy.deepcopy(template['spec']), nodeName='standin-node-%d' % i),
                    'status': pod_status})
        return out

    # -- operations ------------------------------------------------------------------------
    def get(self, plural, ns, name):
        key = (plural, ns, name)
        if plural == 'pods':
            for pod in self.pods(ns):
                if pod['metadata']['name'] == name:
                    return pod
        elif key in self.objects:
            return self.with_status(plural, key, self.objects[key])
        raise ApiError(404, 'NotFound', '%s "%s" not found' % (plural, name), name, plural)

    def list(self, plural, ns, selector):
        reqs = parse_selector(selector)
        if plural == 'pods':
            items = self.pods(ns)
        else:
            items = [self.with_status(plural, k, o) for k, o in sorted(self.objects.items())
                     if k[0] == plural and (not ns or k[1] == ns)]
        return [o for o in items if selector_matches(reqs, o['metadata'].get('labels'))]

    def _check_body(self, plural, ns, name, body, kind):
        if not isinstance(body, dict):
            raise ApiError(400, 'BadRequest', 'body must be an object')
        meta = body.setdefault('metadata', {})
        if name and meta.get('name', name) != name:
            raise ApiError(400, 'BadRequest', 'the name of the object (%s) does not match the name on the URL (%s)'
                           % (meta.get('name'), name))
        if not (meta.get('name') or name):
            raise ApiError(422, 'Invalid', '%s: metadata.name: Required value' % kind)
        meta['name'] = meta.get('name') or name
        if ns:
            if meta.get('namespace', ns) != ns:
                raise ApiError(400, 'BadRequest', 'the namespace of the object does not match the URL')
            meta['namespace'] = ns
            if ('namespaces', None, ns) not in self.objects:
                raise ApiError(404, 'NotFound', 'namespaces "%s" not found' % ns, ns, 'namespaces')
        body.setdefault('apiVersion', body.get('apiVersion'))
        body['kind'] = kind
        return body

    def _finish(self, plural, key, old, new, manager, operation, dry_run):
        """Store ``new`` (server fields filled in) unless it equals ``old``; return the result."""
        if plural == 'services':
            self._allocate(new, old)
        if old is not None:
            for field in SERVER_META:
                if field in old['metadata']:
                    new['metadata'][field] = copy.deepcopy(old['metadata'][field])
                else:
                    new['metadata'].pop(field, None)
            if new == old:
                return self.with_status(plural, key, old), False
            if {k: v for k, v in new.items() if k not in ('metadata', 'status')} != \
                    {k: v for k, v in old.items() if k not in ('metadata', 'status')}:
                new['metadata']['generation'] = old['metadata'].get('generation', 1) + 1
        else:
            new['metadata'].update({'uid': str(uuid.uuid4()), 'creationTimestamp': now(), 'generation': 1})
        managers = [m for m in (new['metadata'].get('managedFields') or []) if m.get('manager') != manager]
        managers.append({'manager': manager, 'operation': operation, 'apiVersion': new.get('apiVersion'),
                         'time': now(), 'fieldsType': 'FieldsV1'})
        new['metadata']['managedFields'] = managers
        new['metadata']['resourceVersion'] = str(self.rv + 1)
        new.pop('status', None)
        if dry_run:
            return self.with_status(plural, key, new), True
        self._next_rv()
        self.objects[key] = new
        if plural == 'deployments' and (old is None or new['metadata']['generation'] != old['metadata']['generation']):
            self.changed_at[key] = datetime.datetime.now().timestamp()
        return self.with_status(plural, key, new), True

    def _allocate(self, new, old):
        """Service clusterIP/nodePort: kept from the stored object, else allocated (as a real server)."""
        spec = new.setdefault('spec', {})
        old_spec = (old or {}).get('spec', {})
        spec.setdefault('clusterIP', old_spec.get('clusterIP') or '10.96.0.%d' % (len(self.objects) % 250 + 2))
        old_ports = {p.get('port'): p.get('nodePort') for p in old_spec.get('ports', [])}
        for port in spec.get('ports', []):
            if spec.get('type') == 'NodePort' and not port.get('nodePort'):
                if old_ports.get(port.get('port')):
                    port['nodePort'] = old_ports[port.get('port')]
                else:
                    self.node_port += 1
                    port['nodePort'] = self.node_port

    def create(self, plural, ns, body, manager, dry_run):
        kind = RESOURCES[self._gvk(plural)][0]
        body = self._check_body(plural, ns, None, body, kind)
        key = (plural, ns, body['metadata']['name'])
        if key in self.objects:
            raise ApiError(409, 'AlreadyExists', '%s "%s" already exists' % (plural, key[2]), key[2], plural)
        if kind == 'Secret' and 'stringData' in body:
            import base64
            body.setdefault('data', {}).update(
                {k: base64.b64encode(v.encode()).decode() for k, v in body.pop('stringData').items()})
        return self._finish(plural, key, None, body, manager or 'unknown', 'Update', dry_run)[0]

    def apply(self, plural, ns, name, body, manager, dry_run):
        if not manager:
            raise ApiError(422, 'Invalid', 'PATCH, fieldManager: Required value: is required for apply patch')
        kind = RESOURCES[self._gvk(plural)][0]
        body = self._check_body(plural, ns, name, body, kind)
        key = (plural, ns, name)
        old = self.objects.get(key)
        previous = self.applied.get(key + (manager,))
        if old is None:
            new = copy.deepcopy(body)
        else:
            # drop what this manager applied last time, then lay the new config over the rest
            new = copy.deepcopy(old)
            if previous:
                for top, value in previous.items():
                    if top in ('apiVersion', 'kind'):
                        continue
                    if top == 'metadata':
                        for mk in ('labels', 'annotations'):
                            for lk in (value.get(mk) or {}):
                                new['metadata'].get(mk, {}).pop(lk, None)
                    else:
                        new.pop(top, None)
            new = merge_patch(new, {k: v for k, v in body.items() if k != 'metadata'})
            for mk in ('labels', 'annotations'):
                if body['metadata'].get(mk):
                    new['metadata'].setdefault(mk, {}).update(body['metadata'][mk])
                elif mk in new['metadata'] and not new['metadata'][mk]:
                    new['metadata'].pop(mk)
        result, changed = self._finish(plural, key, old, new, manager, 'Apply', dry_run)
        if not dry_run:
            self.applied[key + (manager,)] = copy.deepcopy(body)
        return result

    def merge(self, plural, ns, name, patch, manager, dry_run):
        key = (plural, ns, name)
        if key not in self.objects:
            raise ApiError(404, 'NotFound', '%s "%s" not found' % (plural, name), name, plural)
        old = self.objects[key]
        new = merge_patch(old, patch)
        return self._finish(plural, key, old, new, manager or 'unknown', 'Update', dry_run)[0]

    def delete(self, plural, ns, name, dry_run):
        key = (plural, ns, name)
        if key not in self.objects:
            raise ApiError(404, 'NotFound', '%s "%s" not found' % (plural, name), name, plural)
        obj = self.with_status(plural, key, self.objects[key])
        if not dry_run:
            del self.objects[key]
            self.changed_at.pop(key, None)
            for akey in [k for k in self.applied if k[:3] == key]:
                del self.applied[akey]
            self._next_rv()
        return obj

    @staticmethod
    def _gvk(plural):
        for gvk in RESOURCES:
            if gvk[2] == plural:
                return gvk
        raise ApiError(404, 'NotFound', 'the server could not find the requested resource')


def discovery(path):
    if path == '/version':
        return VERSION
    if path == '/api':
        return {'kind': 'APIVersions', 'versions': ['v1'],
                'serverAddressByClientCIDRs': [{'clientCIDR': '0.0.0.0/0', 'serverAddress': '127.0.0.1'}]}
    if path == '/apis':
        return {'kind': 'APIGroupList', 'apiVersion': 'v1', 'groups': [
            {'name': 'apps', 'versions': [{'groupVersion': 'apps/v1', 'version': 'v1'}],
             'preferredVersion': {'groupVersion': 'apps/v1', 'version': 'v1'}}]}
    for prefix, group in (('/api/v1', ''), ('/apis/apps/v1', 'apps')):
        if path == prefix:
            resources = []
            for (g, v, plural), (kind, namespaced) in RESOURCES.items():
                if g != group:
                    continue
                verbs = ['get', 'list'] if kind == 'Pod' else ['create', 'delete', 'get', 'list', 'patch']
                resources.append({'name': plural, 'singularName': kind.lower(), 'namespaced': namespaced,
                                  'kind': kind, 'verbs': verbs})
                if kind == 'Deployment':
                    resources.append({'name': 'deployments/status', 'singularName': '', 'namespaced': True,
                                      'kind': 'Deployment', 'verbs': ['get']})
            return {'kind': 'APIResourceList', 'apiVersion': 'v1',
                    'groupVersion': (group + '/v1') if group else 'v1', 'resources': resources}
    return None


PATH_RE = re.compile(r'^/(?:api/v1|apis/(?P<group>[^/]+)/v1)'
                     r'(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$')


class Handler(BaseHTTPRequestHandler):
    server_version = 'ascend-mindie-k8s-standin/1'
    store = None
    token = None

    def log_message(self, fmt, *args):  # keep test output quiet; the store keeps a request log
        pass

    def _send(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(length) if length else b''
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            if yaml is None:
                raise ApiError(415, 'UnsupportedMediaType', 'YAML body needs PyYAML in the stand-in')
            return yaml.safe_load(raw)

    def _route(self, method):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with self.store.lock:
            self.store.requests.append((method, self.path))
            if self.store.ascend_operator:
                self.store.ascend_operator(self.store)
        if self.token and self.headers.get('Authorization') != 'Bearer ' + self.token:
            raise ApiError(401, 'Unauthorized', 'Unauthorized')
        if method == 'GET':
            found = discovery(url.path)
            if found is not None:
                return 200, found
        m = PATH_RE.match(url.path)
        if not m or (m.group('group') not in (None, 'apps')):
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
        plural, ns, name = m.group('plural'), m.group('ns'), m.group('name')
        gvk = (m.group('group') or '', 'v1', plural)
        if gvk not in RESOURCES:
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
        kind, namespaced = RESOURCES[gvk]
        if plural == 'namespaces' and ns:
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
        if namespaced and not ns and method != 'GET':
            raise ApiError(404, 'NotFound', 'namespaced resource needs a namespace')
        dry_run = query.get('dryRun') == 'All'
        manager = query.get('fieldManager')
        store = self.store
        with store.lock:
            if method == 'GET' and name:
                return 200, store.get(plural, ns, name)
            if method == 'GET':
                items = store.list(plural, ns, query.get('labelSelector'))
                return 200, {'kind': kind + 'List', 'apiVersion': 'apps/v1' if gvk[0] else 'v1',
                             'metadata': {'resourceVersion': str(store.rv)}, 'items': items}
            if kind == 'Pod':
                raise ApiError(405, 'MethodNotAllowed', 'the stand-in derives pods from Deployments')
            if method == 'POST' and not name:
                return 201, store.create(plural, ns, self._body(), manager, dry_run)
            if method == 'PATCH' and name:
                ctype = (self.headers.get('Content-Type') or '').split(';')[0].strip()
                body = self._body()
                if ctype == 'application/apply-patch+yaml':
                    return 200, store.apply(plural, ns, name, body, manager, dry_run)
                if ctype in ('application/merge-patch+json', 'application/strategic-merge-patch+json'):
                    return 200, store.merge(plural, ns, name, body, manager, dry_run)
                raise ApiError(415, 'UnsupportedMediaType', 'unsupported patch type %s' % ctype)
            if method == 'DELETE' and name:
                return 200, store.delete(plural, ns, name, dry_run)
        raise ApiError(405, 'MethodNotAllowed', 'method %s not supported on %s' % (method, url.path))

    def _handle(self, method):
        try:
            code, payload = self._route(method)
        except ApiError as exc:
            code, payload = exc.code, exc.status()
        except Exception as exc:  # report, do not kill the server thread silently
            code, payload = 500, ApiError(500, 'InternalError', 'stand-in error: %r' % exc).status()
        self._send(code, payload)

    def do_GET(self):
        self._handle('GET')

    def do_POST(self):
        self._handle('POST')

    def do_PATCH(self):
        self._handle('PATCH')

    def do_DELETE(self):
        self._handle('DELETE')

    def do_PUT(self):
        self._handle('PUT')


def write_kubeconfig(path, port, token):
    user = {'token': token} if token else {}
    config = {
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'standin',
        'clusters': [{'name': 'standin', 'cluster': {'server': 'http://127.0.0.1:%d' % port}}],
        'users': [{'name': 'standin', 'user': user}],
        'contexts': [{'name': 'standin', 'context': {'cluster': 'standin', 'user': 'standin'}}],
    }
    fd = os.open(path + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        json.dump(config, handle, indent=2)  # JSON is YAML: kubeconfig loaders accept it
    os.replace(path + '.tmp', path)


def make_server(port=0, ready_delay=1.0, fail_deployments=(), token=None, ascend_operator=True):
    store = Store(ready_delay, fail_deployments)
    if ascend_operator:
        import ascend_operator as operator  # pylint: disable=import-error,import-outside-toplevel
        store.ascend_operator = operator.sync
    handler = type('StandinHandler', (Handler,), {'store': store, 'token': token})
    httpd = ThreadingHTTPServer(('127.0.0.1', port), handler)
    httpd.daemon_threads = True
    return httpd, store


def main(argv=None):
    parser = argparse.ArgumentParser(description='TEST STAND-IN of the Kubernetes API (loopback only).')
    parser.add_argument('--kubeconfig', required=True, help='write a kubeconfig for this stand-in here')
    parser.add_argument('--port-file', required=True, help='write the chosen port here once listening')
    parser.add_argument('--port', type=int, default=0, help='0 = a random free port')
    parser.add_argument('--ready-delay', type=float, default=1.0,
                        help='seconds after a Deployment change until it reports Available')
    parser.add_argument('--fail-deployments', default='',
                        help='comma-separated Deployment names that never become Available')
    parser.add_argument('--token', default=None, help='require this bearer token (written to the kubeconfig)')
    parser.add_argument('--no-ascend-operator', action='store_true',
                        help='do not run the Ascend Operator stand-in (rings-config stays as created)')
    args = parser.parse_args(argv)
    fail = [n for n in args.fail_deployments.split(',') if n]
    httpd, _store = make_server(args.port, args.ready_delay, fail, args.token, not args.no_ascend_operator)
    port = httpd.server_address[1]
    write_kubeconfig(args.kubeconfig, port, args.token)
    with open(args.port_file + '.tmp', 'w') as handle:
        handle.write('%d\n' % port)
    os.replace(args.port_file + '.tmp', args.port_file)
    sys.stderr.write('k8s stand-in (TEST ONLY) listening on 127.0.0.1:%d\n' % port)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
