# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds the lab test image ``lab-pyhttp:<VERSION>`` (the node agent's own tests use it).

Image directory (lab image convention, tests/lab/k8s/AGENT.md):
``/var/cache/ascend-lab/images/lab-pyhttp/<VERSION>/`` with ``rootfs/`` laid over the lab's Debian base
(which has python3) and ``image.json``. The server (``/srv/labhttp.py``) answers on $PORT (default 8080):
``/healthz`` (200, or 500 once ``/make-unhealthy`` created /tmp/unhealthy), ``/file?path=P`` (its text),
``/env`` (the environment as JSON), ``/id`` (uid, gid, groups, hostname, client address),
``/resolve?name=N``, ``/fetch?url=U`` (a request made from inside the pod), ``/stat?path=P`` (mode, owner
and whether P is writable). Prints the image directory.
Cached: a second run with the same version stamp returns at once.
"""
import json
import os
import shutil
import sys
import tempfile

VERSION = "3"
CACHE = os.environ.get("ATLAS_LAB_CACHE", "/var/cache/ascend-lab")
DEST = os.path.join(CACHE, "images", "lab-pyhttp", VERSION)

SERVER = r'''#!/usr/bin/python3
"""lab-pyhttp: a tiny HTTP server for the lab's pod tests."""
import http.server, json, os, socket, sys, urllib.parse, urllib.request

class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, doc):
        body = json.dumps(doc, sort_keys=True).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/healthz":
            bad = os.path.exists("/tmp/unhealthy")
            return self.reply(500 if bad else 200, {"ok": not bad})
        if url.path == "/make-unhealthy":
            open("/tmp/unhealthy", "w").close()
            return self.reply(200, {"ok": True})
        if url.path == "/file":
            try:
                with open(q.get("path", "")) as fh:
                    return self.reply(200, {"content": fh.read()})
            except OSError as exc:
                return self.reply(404, {"error": str(exc)})
        if url.path == "/env":
            return self.reply(200, dict(os.environ))
        if url.path == "/id":
            return self.reply(200, {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
                                    "hostname": socket.gethostname(), "client": self.client_address[0]})
        if url.path == "/stat":
            p = q.get("path", "/")
            try:
                st = os.stat(p)
            except OSError as exc:
                return self.reply(404, {"error": str(exc)})
            return self.reply(200, {"mode": oct(st.st_mode & 0o7777), "uid": st.st_uid, "gid": st.st_gid,
                                    "writable": os.access(p, os.W_OK)})
        if url.path == "/resolve":
            try:
                return self.reply(200, {"address": socket.gethostbyname(q.get("name", ""))})
            except OSError as exc:
                return self.reply(404, {"error": str(exc)})
        if url.path == "/fetch":
            try:
                with urllib.request.urlopen(q.get("url", ""), timeout=5) as resp:
                    return self.reply(200, {"status": resp.status, "body": resp.read().decode(errors="replace")})
            except (OSError, ValueError) as exc:
                return self.reply(502, {"error": str(exc)})
        return self.reply(200, {"hello": socket.gethostname()})

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.client_address[0], fmt % args))
        sys.stdout.flush()

port = int(os.environ.get("PORT", "8080"))
print("lab-pyhttp listening on %d" % port, flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", port), H).serve_forever()
'''


def main():
    stamp = os.path.join(DEST, ".version")
    if os.path.exists(stamp):
        with open(stamp) as fh:
            if fh.read().strip() == VERSION:
                print(DEST)
                return 0
    os.makedirs(os.path.dirname(DEST), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".lab-pyhttp.", dir=os.path.dirname(DEST))
    os.chmod(tmp, 0o755)
    os.makedirs(os.path.join(tmp, "rootfs", "srv"))
    with open(os.path.join(tmp, "rootfs", "srv", "labhttp.py"), "w") as fh:
        fh.write(SERVER)
    os.chmod(os.path.join(tmp, "rootfs", "srv", "labhttp.py"), 0o755)
    with open(os.path.join(tmp, "image.json"), "w") as fh:
        json.dump({"env": {"PORT": "8080"}, "workdir": "/srv", "entrypoint": ["/usr/bin/python3"],
                   "cmd": ["/srv/labhttp.py"]}, fh, indent=1)
    with open(os.path.join(tmp, ".version"), "w") as fh:
        fh.write(VERSION + "\n")
    if os.path.exists(DEST):
        shutil.rmtree(DEST)
    os.rename(tmp, DEST)
    print(DEST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
