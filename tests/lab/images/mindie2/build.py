#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds the lab stand-in of a MindIE 2.x image (``.run`` install layout) for pd_deploy's lab runs.

TEST STAND-IN for a vendor image: it holds no MindIE code. ``/usr/local/Ascend/mindie/latest/mindie-service/bin/``
gets ``ms_controller``, ``ms_coordinator`` and ``mindieservice_daemon`` that act as MindIE's binaries do at
the points the deployment depends on (fact sheet mindie-deploy-flow.md 2.3-2.5, 5.3, 6):

- each reads its configuration where MindIE's does (Server ``conf/config.json`` or ``--config-file``, Controller
  ``$MINDIE_MS_CONTROLLER_CONFIG_FILE_PATH``, Coordinator ``$MINDIE_MS_COORDINATOR_CONFIG_FILE_PATH``), refuses
  a file wider than 0640 or without the keys it uses, and exits 1 saying why;
- the Controller refuses a global rank table that is not ``completed`` or lacks the Server group;
- then each answers the probe URLs of MindIE's probe.sh on the ports from its configuration, on the pod IP; with
  TLS on in its configuration (Server ``httpsEnabled``, Controller ``http_server_tls_enable``, Coordinator
  ``controller_server_tls_enable``; one set of files per component, which is how pd_deploy configures them) over
  TLS with client certificates required, the key password decrypted through the image's CertTools KMC.

``npu-smi`` and ``lspci`` stand-ins serve the single-container helper (NPUs = ASCEND_VISIBLE_DEVICES); MindIE's
CertTools are the test stand-in of ``tests/fixtures/mindie2-certtools/`` under ``scripts/``. Python's
``cryptography`` (pinned, pip from PyPI, in ``/usr/local/lib/python3.11/dist-packages``): the collection's in-pod
certificate step (roles/pki/files/mindie_gen_cert.py) needs it when TLS is on, as on a vendor image.
Image: ``/var/cache/ascend-lab/images/mindie/<TAG>/`` (lab image convention). Prints the image directory.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

VERSION = "3"  # 2: MindIE's CertTools (the test stand-in) under scripts/; 3: Python cryptography, TLS
# What the in-pod certificate step imports (and its dependencies cffi, pycparser); Python 3.11 like the base.
CRYPTOGRAPHY = "cryptography==46.0.7"
PYTHON = (3, 11)
TAG = os.environ.get("MINDIE2_IMAGE_TAG", "2.1.RC1-800I-A2-py311")
CACHE = os.environ.get("ATLAS_LAB_CACHE", "/var/cache/ascend-lab")
DEST = os.path.join(CACHE, "images", "mindie", TAG)
SERVICE = "usr/local/Ascend/mindie/latest/mindie-service"

DAEMON = r'''#!/usr/bin/python3
"""TEST STAND-IN for MindIE 2.x binaries (ascend.mindie lab image)."""
import http.server, json, os, socketserver, ssl, stat, sys, threading

def die(msg):
    print("%s: %s" % (NAME, msg), flush=True)
    sys.exit(1)

def load(path):
    if not path or not os.path.isfile(path):
        die("config file %r not found" % path)
    if stat.S_IMODE(os.stat(path).st_mode) & ~0o640:
        die("%s: mode %o is wider than 0640" % (path, stat.S_IMODE(os.stat(path).st_mode)))
    with open(path) as fh:
        return json.load(fh)

def need(cfg, path, kind, fname):
    node = cfg
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            die("%s: missing %s" % (fname, path))
        node = node[part]
    if kind is int and (not isinstance(node, int) or isinstance(node, bool)):
        die("%s: %s must be an integer" % (fname, path))
    if kind is str and not isinstance(node, str):
        die("%s: %s must be a string" % (fname, path))
    return node

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        ok = self.path in PATHS
        body = json.dumps({"component": NAME, "ok": ok}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_GET

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

def tls_context(files):
    """MindIE serves TLS with mutual authentication when its config enables it: certificate, key, the key's
    password decrypted with the KMC key store the config names (here: the CertTools stand-in's KMC), CA."""
    if not files:
        return None
    base = os.environ.get("MIES_INSTALL_PATH", ".")
    path = {k: os.path.join(base, v) for k, v in files.items()}
    for k, v in sorted(path.items()):
        if not os.path.isfile(v):
            die("TLS is on but its %s %s does not exist" % (k, v))
    sys.path.insert(0, os.path.join(base, "scripts"))
    import config_mindie_server_tls_cert as kmc  # the image's CertTools (stand-in): its KMC
    try:
        password = kmc.decrypt(path["passwd"], path["ksf"])
    except Exception as exc:  # noqa: any failure to open the password is MindIE's start failure
        die("cannot decrypt the key password %s with %s: %s" % (path["passwd"], path["ksf"], exc))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(path["cert"], path["key"], password=password)
        ctx.load_verify_locations(cafile=path["ca"])
    except (ssl.SSLError, OSError) as exc:
        die("TLS material does not load: %s" % exc)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the CA file holds the issuing intermediate
    return ctx

def tls_items(items):
    """Files of a MindIE 2.x tls_items block (Controller / Coordinator keys)."""
    return {"cert": items["tls_cert"], "key": items["tls_key"], "passwd": items["tls_passwd"], "ca": items["ca_cert"],
            "ksf": items.get("kmc_ksf_master") or items.get("kmcKsfMaster")}

def serve(ip, ports, ctx=None):
    servers = [S((ip, int(p)), H) for p in ports]
    if ctx is not None:
        for s in servers:
            s.socket = ctx.wrap_socket(s.socket, server_side=True)
    print("%s: serving on %s ports %s%s" % (NAME, ip, ports, " (TLS)" if ctx else ""), flush=True)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()

NAME = os.path.basename(sys.argv[0])
ip = os.environ.get("POD_IP") or "127.0.0.1"
conf = os.path.join(os.environ.get("MIES_INSTALL_PATH", "."), "conf")
if NAME == "mindieservice_daemon":
    PATHS = {"/v2/health/ready"}
    path = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--config-file" else os.path.join(conf, "config.json")
    cfg = load(path)
    if need(cfg, "ServerConfig.inferMode", str, "config.json") not in ("standard", "dmi"):
        die("config.json: inferMode must be standard or dmi")
    ports = [need(cfg, "ServerConfig." + k, int, "config.json") for k in ("port", "managementPort", "metricsPort")]
    world = need(cfg, "BackendConfig.ModelDeployConfig.ModelConfig", list, "config.json")[0]["worldSize"]
    if any(len(ids) != world for ids in need(cfg, "BackendConfig.npuDeviceIds", list, "config.json")):
        die("config.json: npuDeviceIds lists must have worldSize entries")
    sc = cfg["ServerConfig"]
    files = {"cert": sc.get("tlsCert"), "key": sc.get("tlsPk"), "passwd": sc.get("tlsPkPwd"),
             "ca": os.path.join(sc.get("tlsCaPath") or "", (sc.get("tlsCaFile") or [""])[0]),
             "ksf": sc.get("kmcKsfMaster")} if sc.get("httpsEnabled") else None
    serve(os.environ.get("MIES_CONTAINER_IP") or ip if len(sys.argv) < 2 else "127.0.0.1", sorted(set(ports)),
          tls_context(files))
elif NAME == "ms_controller":
    PATHS = {"/v1/startup", "/v1/health"}
    cfg = load(os.environ.get("MINDIE_MS_CONTROLLER_CONFIG_FILE_PATH", os.path.join(conf, "ms_controller.json")))
    port = need(cfg, "http_server.port", int, "ms_controller.json")
    for k in ("deploy_mode", "role_decision_methods", "transfer_type"):
        need(cfg, k, str, "ms_controller.json")
    table_path = os.environ.get("GLOBAL_RANK_TABLE_FILE_PATH") or need(cfg, "global_rank_table_file_path", str, "x")
    if "/.." in table_path:
        die("rank table path %s contains '..'" % table_path)
    table = load(table_path)
    groups = {g.get("group_id"): g for g in table.get("server_group_list", [])}
    if table.get("status") != "completed" or "2" not in groups or not groups["2"].get("server_list"):
        die("global rank table %s is not completed or has no Server group" % table_path)
    print("ms_controller: %d Server(s) in the rank table" % len(groups["2"]["server_list"]), flush=True)
    tls = cfg.get("tls_config") or {}
    serve(ip if os.environ.get("POD_IP") else "127.0.0.1", [port],
          tls_context(tls_items(tls["http_server_tls_items"]) if tls.get("http_server_tls_enable") else None))
elif NAME == "ms_coordinator":
    PATHS = {"/v1/startup", "/v1/readiness", "/v1/health", "/v1/models", "/v1/chat/completions"}
    cfg = load(os.environ.get("MINDIE_MS_COORDINATOR_CONFIG_FILE_PATH", os.path.join(conf, "ms_coordinator.json")))
    http = need(cfg, "http_config", dict, "ms_coordinator.json")
    ports = []
    for k in ("predict_port", "manage_port", "status_port"):
        v = need(cfg, "http_config." + k, str, "ms_coordinator.json")
        if not v.isdigit():
            die("ms_coordinator.json: http_config.%s must be a string of digits" % k)
        ports.append(v)
    args = sys.argv[1:]
    if len(args) >= 2:
        ports[0] = args[1]  # the .run-era Coordinator takes predict/manage ports from argv
    if len(args) >= 4:
        ports[1] = args[3]
    tls = cfg.get("tls_config") or {}
    serve(args[0] if args else ip, sorted(set(int(p) for p in ports)),
          tls_context(tls_items(tls["controller_server_tls_items"]) if tls.get("controller_server_tls_enable") else None))
else:
    die("unknown binary")
'''

NPU_SMI = r'''#!/bin/bash
# TEST STAND-IN for npu-smi (lab image): `npu-smi info -l` lists the container's NPUs.
ids="${ASCEND_VISIBLE_DEVICES:-}"
n=0; for _ in ${ids//,/ }; do n=$((n+1)); done
echo "        Total Count                    : $n"
i=0; for id in ${ids//,/ }; do
  echo ""; echo "        NPU ID                         : $id"; echo "        Chip Count                     : 1"; i=$((i+1))
done
'''

LSPCI = '#!/bin/bash\n# TEST STAND-IN for lspci -n (lab image): an Atlas 800I A2 NPU (PCI id 19e5:d802).\necho "01:00.0 1200: 19e5:d802 (rev 20)"\n'


def write(root, rel, text, mode):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, mode)


def main():
    stamp = os.path.join(DEST, "version")
    if os.path.exists(stamp) and open(stamp).read().strip() == VERSION:
        print(DEST)
        return 0
    if sys.version_info[:2] != PYTHON:
        sys.stderr.write("mindie2 image: run with Python %d.%d (the base image's python3)\n" % PYTHON)
        return 1
    os.makedirs(os.path.dirname(DEST), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".mindie2-", dir=os.path.dirname(DEST))
    root = os.path.join(tmp, "rootfs")
    sys.stderr.write("mindie2 image: installing %s into the image (pip)\n" % CRYPTOGRAPHY)
    try:
        subprocess.check_call([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install",
                               "--no-compile", "--only-binary", ":all:", "--target",
                               os.path.join(root, "usr/local/lib/python3.11/dist-packages"), CRYPTOGRAPHY])
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        sys.stderr.write("mindie2 image: cannot install %s with pip: %s\n" % (CRYPTOGRAPHY, exc))
        return 1
    write(root, "opt/mindie2-standin/daemon.py", DAEMON, 0o755)
    for name in ("ms_controller", "ms_coordinator", "mindieservice_daemon"):
        os.makedirs(os.path.join(root, SERVICE, "bin"), exist_ok=True)
        os.symlink("/opt/mindie2-standin/daemon.py", os.path.join(root, SERVICE, "bin", name))
    for d in (SERVICE + "/conf", SERVICE + "/logs", SERVICE + "/security", "usr/local/Ascend/mindie/latest/mindie-llm",
              "usr/local/Ascend/ascend-toolkit"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    write(root, "usr/local/bin/npu-smi", NPU_SMI, 0o755)
    # CertTools, where pd_deploy_kmc_tool looks (TLS with mindie_secret_format kmc): the test stand-in
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "fixtures", "mindie2-certtools",
                           "config_mindie_server_tls_cert.py")) as fh:
        write(root, SERVICE + "/scripts/config_mindie_server_tls_cert.py", fh.read(), 0o550)
    write(root, "usr/bin/lspci", LSPCI, 0o755)
    with open(os.path.join(tmp, "image.json"), "w") as fh:
        json.dump({"env": {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, "workdir": "/"}, fh)
    with open(os.path.join(tmp, "version"), "w") as fh:
        fh.write(VERSION + "\n")
    if os.path.exists(DEST):
        shutil.rmtree(DEST)
    os.rename(tmp, DEST)
    print(DEST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
