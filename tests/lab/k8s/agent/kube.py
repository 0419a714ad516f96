# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Kubernetes API client for the node agent (kubeconfig with client certificate or token)."""
import base64
import http.client
import json
import os
import socket
import ssl
import tempfile
import threading
import urllib.parse


class ApiError(Exception):
    def __init__(self, status, message, body=None):
        Exception.__init__(self, "HTTP %s: %s" % (status, message))
        self.status = status
        self.body = body or {}


class Kube(object):
    def __init__(self, kubeconfig):
        with open(kubeconfig) as fh:
            text = fh.read()
        try:
            cfg = json.loads(text)  # the lab writes JSON kubeconfigs: no third-party module needed
        except ValueError:
            import yaml  # pylint: disable=import-outside-toplevel
            cfg = yaml.safe_load(text)
        ctx_name = cfg.get("current-context")
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name) if ctx_name \
            else cfg["contexts"][0]["context"]
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        base = os.path.dirname(os.path.abspath(kubeconfig))
        url = urllib.parse.urlparse(cluster["server"])
        self.host, self.port = url.hostname, url.port or 443
        ctx_ssl = ssl.create_default_context()
        if cluster.get("certificate-authority-data"):
            ctx_ssl.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        elif cluster.get("certificate-authority"):
            ctx_ssl.load_verify_locations(os.path.join(base, cluster["certificate-authority"]))
        self.token = user.get("token")
        cert, key = user.get("client-certificate"), user.get("client-key")
        if user.get("client-certificate-data"):
            # ssl wants files: a private temporary copy, removed right after loading
            tmpdir = tempfile.mkdtemp(prefix="kube-")
            try:
                cert, key = os.path.join(tmpdir, "c"), os.path.join(tmpdir, "k")
                for path, field in ((cert, "client-certificate-data"), (key, "client-key-data")):
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                    os.write(fd, base64.b64decode(user[field]))
                    os.close(fd)
                ctx_ssl.load_cert_chain(cert, key)
            finally:
                for name in os.listdir(tmpdir):
                    os.unlink(os.path.join(tmpdir, name))
                os.rmdir(tmpdir)
        elif cert:
            ctx_ssl.load_cert_chain(os.path.join(base, cert), os.path.join(base, key))
        self.ssl = ctx_ssl
        self.local = threading.local()

    def _conn(self, fresh=False, timeout=30):
        if fresh:
            return http.client.HTTPSConnection(self.host, self.port, context=self.ssl, timeout=timeout)
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ssl,
                                                                 timeout=timeout)
        return conn

    def _headers(self, content_type):
        headers = {"Accept": "application/json", "User-Agent": "ascend-lab-node-agent"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        return headers

    def request(self, method, path, body=None, content_type="application/json", params=None):
        if params:
            path += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=self._headers(content_type if data else None))
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {"message": raw.decode(errors="replace")}
        if resp.status >= 300:
            raise ApiError(resp.status, doc.get("message", resp.reason), doc)
        return doc

    def watch(self, path, **params):
        """Yield the events of a watch (ends when the server closes it after timeoutSeconds)."""
        params["watch"] = "1"
        conn = self._conn(fresh=True, timeout=int(params.get("timeoutSeconds", 30)) + 15)
        self.watching = conn
        try:
            conn.request("GET", path + "?" + urllib.parse.urlencode(params), headers=self._headers(None))
            resp = conn.getresponse()
            if resp.status >= 300:
                raw = resp.read()
                raise ApiError(resp.status, raw.decode(errors="replace")[:300])
            while True:
                line = resp.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            self.watching = None
            conn.close()

    def stop_watch(self):
        """Ends a running watch at once (called from a signal handler)."""
        conn = getattr(self, "watching", None)
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def get(self, path, **params):
        return self.request("GET", path, params=params or None)

    def get_or_none(self, path):
        try:
            return self.get(path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def patch_merge(self, path, body):
        return self.request("PATCH", path, body, "application/merge-patch+json")

    def patch_strategic(self, path, body):
        return self.request("PATCH", path, body, "application/strategic-merge-patch+json")
