# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the pods' exec probe (roles/pd_deploy/files/pd_probe.py) the way kubelet does: as a process,
with the environment the manifests give it, against a local HTTPS server that asks for a client
certificate, with certificates made by the collection's own PKI code (the code the pods run at boot).
"""
import http.server
import os
import ssl
import subprocess
import sys
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki

PROBE = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                                     'roles', 'pd_deploy', 'files', 'pd_probe.py'))
KEY_PASSWORD = 'Probe#Key2026'


def _key():
    # 2048 bits keeps the test fast; the key size rules are tested in test_mindie_pki.py
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _leaf(ca_key, ca_cert, cn, ips):
    key = _key()
    info = {'subject': {'CN': cn}, 'expired_time': 30, 'serial_number': 'random', 'ips': ips, 'dns': []}
    return key, mindie_pki.build_leaf_cert(ca_key, ca_cert, key, info)


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """CA, a server certificate for 127.0.0.1, one for another IP, and the probe's client certificate."""
    d = tmp_path_factory.mktemp('pki')
    ca_key = _key()
    ca_cert = mindie_pki.build_ca_cert(ca_key, {'CN': 'probe-test-ca'}, 30)
    files = {'ca': d / 'ca.pem'}
    files['ca'].write_bytes(_pem(ca_cert))
    for name, cn, ips in (('server', 'server', ['127.0.0.1']), ('wrong_ip', 'server', ['127.0.0.2']),
                          ('client', 'probe', ['127.0.0.1'])):
        key, cert = _leaf(ca_key, ca_cert, cn, ips)
        files[name + '_cert'] = d / (name + '.pem')
        files[name + '_cert'].write_bytes(_pem(cert))
        files[name + '_key'] = d / (name + '.key.pem')
        if name == 'client':  # the probe's key may be encrypted, with its password in a file
            files[name + '_key'].write_bytes(mindie_pki.encrypt_key_pem(key, KEY_PASSWORD))
        else:
            files[name + '_key'].write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    files['client_password'] = d / 'client.pw'
    files['client_password'].write_text(KEY_PASSWORD + '\n')
    return files


class _Handler(http.server.BaseHTTPRequestHandler):
    statuses = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.seen.append(self.path)
        self.send_response(self.server.statuses.get(self.path, 200))
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def serve(pki):
    """serve(tls=True, cert='server', statuses={path: code}) -> (port, paths seen)."""
    servers = []

    def start(tls=True, cert='server', statuses=None):
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        httpd.statuses, httpd.seen = statuses or {}, []
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(pki[cert + '_cert']), str(pki[cert + '_key']))
            ctx.load_verify_locations(str(pki['ca']))
            ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS, as MindIE's components ask
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return httpd.server_address[1], httpd.seen

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def probe(args, port, pki, tls=True, client=True, **extra):
    env = {'PATH': os.environ.get('PATH', ''), 'POD_IP': '127.0.0.1', 'PD_PROBE_HTTP_TIMEOUT': '5',
           'PD_TLS_ENABLED': 'true' if tls else 'false', 'PD_PROBE_CA': str(pki['ca'])}
    for component in ('server', 'controller', 'coordinator'):
        env['PD_PORT_' + component.upper()] = str(port)
    if client:
        env.update(PD_PROBE_CERT=str(pki['client_cert']), PD_PROBE_KEY=str(pki['client_key']),
                   PD_PROBE_KEY_PASSWORD_FILE=str(pki['client_password']))
    env.update(extra)
    return subprocess.run([sys.executable, PROBE] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False)


@pytest.mark.parametrize('kind, paths', [
    ('startup', ['/v2/health/ready', '/v1/startup', '/v1/startup']),
    ('readiness', ['/v2/health/ready', '/v1/health', '/v1/readiness']),
    ('liveness', ['/v2/health/ready', '/v1/health', '/v1/health']),
])
def test_mutual_tls_probe_passes_and_asks_each_component_its_own_path(serve, pki, kind, paths):
    port, seen = serve()
    res = probe([kind, 'server,controller,coordinator'], port, pki)
    assert (res.returncode, res.stderr) == (0, '')
    assert seen == paths


def test_unhealthy_component_fails_the_probe_and_says_which(serve, pki):
    port, _seen = serve(statuses={'/v1/readiness': 503})
    res = probe(['readiness', 'server,coordinator'], port, pki)
    assert res.returncode == 1
    assert res.stderr.strip() == 'coordinator readiness /v1/readiness: HTTP 503'


def test_certificate_without_the_pod_ip_fails(serve, pki):
    port, seen = serve(cert='wrong_ip')
    res = probe(['liveness', 'server'], port, pki)
    assert res.returncode == 1
    assert 'server liveness /v2/health/ready' in res.stderr and 'CERTIFICATE_VERIFY_FAILED' in res.stderr
    assert seen == []


def test_probe_without_client_certificate_is_refused(serve, pki):
    port, seen = serve()
    res = probe(['liveness', 'controller'], port, pki, client=False)
    assert res.returncode == 1 and res.stderr.startswith('controller liveness /v1/health: ')
    assert seen == []


def test_wrong_key_password_fails(serve, pki, tmp_path):
    port, _seen = serve()
    wrong = tmp_path / 'pw'
    wrong.write_text('Not#ThePassw0rd\n')
    res = probe(['startup', 'server'], port, pki, PD_PROBE_KEY_PASSWORD_FILE=str(wrong))
    assert res.returncode == 1 and res.stderr.startswith('server startup /v2/health/ready: ')


def test_plain_http_when_tls_is_off(serve, pki):
    port, seen = serve(tls=False)
    res = probe(['readiness', 'controller'], port, pki, tls=False, client=False)
    assert (res.returncode, res.stderr) == (0, '')
    assert seen == ['/v1/health']


def test_nothing_listening_fails(pki):
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # a port that was just free: connection refused
    res = probe(['liveness', 'server'], port, pki)
    assert res.returncode == 1 and 'server liveness' in res.stderr


@pytest.mark.parametrize('args', [[], ['ready', 'server'], ['liveness']])
def test_usage_errors(pki, args):
    res = probe(args, 1, pki)
    assert res.returncode == 2 and 'Usage: pd_probe.py' in res.stderr


def test_unknown_component(pki):
    res = probe(['liveness', 'server,router'], 1, pki)
    assert res.returncode == 2 and "unknown component 'router'" in res.stderr
