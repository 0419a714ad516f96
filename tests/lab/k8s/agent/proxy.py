# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Userspace service proxy of a lab node (what kube-proxy's userspace mode did).

For every TCP Service port it listens on ``clusterIP:port`` (the cluster IP is added to the node's
loopback, so the node's pods reach it through their default route to the node, while the node does
not answer ARP for it) and, for NodePort Services, on ``<node mgmt IP>:nodePort``. Each connection
goes to a random Ready endpoint (the Endpoints object the endpoints controller keeps).
"""
import random
import socket
import subprocess
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Listener(threading.Thread):
    def __init__(self, address, port, label):
        threading.Thread.__init__(self, name="proxy-%s:%d" % (address, port))
        self.daemon = True
        self.label = label
        self.endpoints = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(128)
        self.closed = False

    def run(self):
        while not self.closed:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                break
            threading.Thread(target=self.forward, args=(conn,), daemon=True).start()

    def forward(self, conn):
        candidates = list(self.endpoints)
        random.shuffle(candidates)
        for ip, port in candidates:
            try:
                up = socket.create_connection((ip, port), timeout=3)
            except OSError:
                continue
            up.settimeout(None)
            t = threading.Thread(target=pump, args=(up, conn), daemon=True)
            t.start()
            pump(conn, up)
            t.join()
            up.close()
            conn.close()
            return
        conn.close()  # no Ready endpoint: the connection is refused/closed like kube-proxy's REJECT

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def endpoint_targets(endpoints, svc_port):
    """Ready (ip, port) pairs of an Endpoints object for one Service port."""
    out = []
    for subset in (endpoints or {}).get("subsets") or []:
        ports = subset.get("ports") or []
        match = [p for p in ports if p.get("name", "") == svc_port.get("name", "")] or \
            (ports if len(ports) == 1 else [])
        for p in match:
            for addr in subset.get("addresses") or []:
                out.append((addr["ip"], int(p["port"])))
    return out


class ServiceProxy(object):
    def __init__(self, node_ip):
        self.node_ip = node_ip
        self.listeners = {}
        self.loopback = set()

    def update(self, services, endpoints):
        """services: Service objects; endpoints: {(namespace, name): Endpoints object}."""
        desired = {}
        for svc in services:
            spec, meta = svc.get("spec", {}), svc["metadata"]
            cip = spec.get("clusterIP")
            key = (meta["namespace"], meta["name"])
            for p in spec.get("ports") or []:
                if p.get("protocol", "TCP") != "TCP":
                    continue
                targets = endpoint_targets(endpoints.get(key), p)
                label = "%s/%s:%s" % (key[0], key[1], p.get("name") or p["port"])
                if cip and cip != "None":
                    desired[(cip, int(p["port"]))] = (targets, label)
                if spec.get("type") in ("NodePort", "LoadBalancer") and p.get("nodePort"):
                    desired[(self.node_ip, int(p["nodePort"]))] = (targets, label)
        ips = {key[0] for key in desired if key[0] != self.node_ip}
        for ip in ips - self.loopback:
            subprocess.run(["ip", "addr", "add", ip + "/32", "dev", "lo"], stderr=subprocess.DEVNULL, check=False)
            self.loopback.add(ip)
        for key in list(self.listeners):
            if key not in desired:
                self.listeners.pop(key).close()
        for key, (targets, label) in desired.items():
            lst = self.listeners.get(key)
            if lst is None:
                try:
                    lst = Listener(key[0], key[1], label)
                except OSError as exc:
                    sys.stderr.write("proxy: cannot listen on %s:%d for %s: %s\n" % (key[0], key[1], label, exc))
                    continue
                lst.start()
                self.listeners[key] = lst
            lst.endpoints = targets
        for ip in self.loopback - ips:
            subprocess.run(["ip", "addr", "del", ip + "/32", "dev", "lo"], stderr=subprocess.DEVNULL, check=False)
            self.loopback.discard(ip)

    def close(self):
        for lst in self.listeners.values():
            lst.close()
        self.listeners = {}
        for ip in self.loopback:
            subprocess.run(["ip", "addr", "del", ip + "/32", "dev", "lo"], stderr=subprocess.DEVNULL, check=False)
        self.loopback = set()
