# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke helper verifies an https entrance with the pki role's components/*/ca/ca.pem, which holds
the deployment's intermediate CA alone (root -> intermediate -> server, as the pki role issues them)."""
import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.ascend.mindie.plugins.module_utils import inference_smoke as smoke


def _cert(name, key, issuer_name, issuer_key, ca, san_ip=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
    if san_ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip))]), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def test_https_with_the_intermediate_ca_alone(tmp_path):
    root_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for dummy in range(3))
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root")])
    root = _cert("root", root_key, root_name, root_key, True)
    inter = _cert("intermediate", inter_key, root.subject, root_key, True)
    leaf = _cert("server", leaf_key, inter.subject, inter_key, False, san_ip="127.0.0.1")
    (tmp_path / "chain.pem").write_bytes(_pem(leaf) + _pem(inter))
    (tmp_path / "key.pem").write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
    (tmp_path / "ca.pem").write_bytes(_pem(inter))  # what the pki role puts in components/*/ca/ca.pem
    (tmp_path / "other.pem").write_bytes(_pem(_cert("other", root_key, root_name, root_key, True)))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"status": "ok", "ready": True}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tmp_path / "chain.pem"), str(tmp_path / "key.pem"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "https://127.0.0.1:%d/readiness" % server.server_address[1]
        status, body = smoke.readiness(url, ca_file=str(tmp_path / "ca.pem"))
        assert status == 200 and smoke.is_ready(status, body), body
        # and it does verify: a CA that did not issue the chain is refused
        status, body = smoke.readiness(url, ca_file=str(tmp_path / "other.pem"))
        assert status is None and "CERTIFICATE_VERIFY_FAILED" in body
    finally:
        server.shutdown()
        server.server_close()
