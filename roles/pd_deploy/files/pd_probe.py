#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exec probe for MindIE components that keeps working with TLS on (stdlib only, runs in the pod).

Usage: pd_probe.py <startup|readiness|liveness> <component>[,<component>...]

Each component's endpoint is the one MindIE's own probe.sh uses. With PD_TLS_ENABLED=true the
request goes over HTTPS to the Pod IP, verifies the component's certificate against the deployment
CA (the certificate was issued at boot with the Pod IP in its SAN) and presents the probe's own
client certificate (issued at boot, plaintext key in a pod-private tmpfs). Exit 0 only when every
component answers 200; otherwise print why to stderr (kubelet shows it in the pod's events).
"""
import os
import ssl
import sys

try:
    from http.client import HTTPConnection, HTTPSConnection
except ImportError:  # pragma: no cover
    sys.exit('pd_probe: python3 is required')

ENDPOINTS = {
    # component: {probe kind: path}, port from PD_PORT_<COMPONENT>
    'server': {'startup': '/v2/health/ready', 'readiness': '/v2/health/ready', 'liveness': '/v2/health/ready'},
    'controller': {'startup': '/v1/startup', 'readiness': '/v1/health', 'liveness': '/v1/health'},
    'coordinator': {'startup': '/v1/startup', 'readiness': '/v1/readiness', 'liveness': '/v1/health'},
}


def _context():
    ctx = ssl.create_default_context(cafile=os.environ['PD_PROBE_CA'])
    cert = os.environ.get('PD_PROBE_CERT', '')
    key = os.environ.get('PD_PROBE_KEY', '')
    if cert and os.path.exists(cert):
        password = None
        pwfile = os.environ.get('PD_PROBE_KEY_PASSWORD_FILE', '')
        if pwfile and os.path.exists(pwfile):
            with open(pwfile) as handle:
                password = handle.read().rstrip('\n') or None
        ctx.load_cert_chain(cert, key or None, password=password)
    return ctx


def check(kind, component, env=None):
    env = os.environ if env is None else env
    path = ENDPOINTS[component][kind]
    port = int(env['PD_PORT_' + component.upper()])
    host = env.get('POD_IP') or '127.0.0.1'
    timeout = float(env.get('PD_PROBE_HTTP_TIMEOUT', '5'))
    if env.get('PD_TLS_ENABLED') == 'true':
        conn = HTTPSConnection(host, port, timeout=timeout, context=_context())
    else:
        conn = HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request('GET', path)
        status = conn.getresponse().status
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError('HTTP %d' % status)


def main(argv):
    if len(argv) != 3 or argv[1] not in ('startup', 'readiness', 'liveness'):
        sys.stderr.write(__doc__)
        return 2
    failed = []
    for component in argv[2].split(','):
        if component not in ENDPOINTS:
            sys.stderr.write('pd_probe: unknown component %r\n' % component)
            return 2
        try:
            check(argv[1], component)
        except Exception as exc:  # any failure is a failed probe, with the reason
            failed.append('%s %s %s: %s' % (component, argv[1], ENDPOINTS[component][argv[1]], exc))
    if failed:
        sys.stderr.write('; '.join(failed) + '\n')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
