#!/usr/bin/python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simulated hccn_tool for the Atlas lab.

Each NPU port of a lab node is a real veth end (``npu<phy_id>``) cabled to a host bridge that plays
the switch, so everything here reads or changes real kernel state: ``-ip -g`` the real address,
``-link -g`` the real carrier, ``-ping`` sends real ICMP from the port. Output follows the reference
(ascend-tools.md section 8): results on stdout, errors on stderr, rc 100 after a lossy ping, and the
tool is single-instance per node ("hccn_tool is busy, please try again").
"""
import errno
import fcntl
import ipaddress
import json
import os
import re
import subprocess
import sys

PROFILE = os.environ.get("ATLAS_LAB_PROFILE", "/etc/atlas-lab/profile.json")
HCCN_CONF = os.environ.get("ATLAS_LAB_HCCN_CONF", "/etc/hccn.conf")
LOCK_FILE = os.environ.get("ATLAS_LAB_HCCN_LOCK", "/run/atlas-lab/hccn_tool.lock")
PING = os.environ.get("ATLAS_LAB_PING", "ping")
IP = os.environ.get("ATLAS_LAB_IP", "ip")

RC_OK = 0
RC_FAIL = 1          # low byte of the driver's generic 0x4001-class errors
RC_PING_LOSS = 100   # DRV ds_net_ext.c: ping error after printing the results
BUSY = "hccn_tool is busy, please try again"
OK_TEXT = "Cmd executed successfully!"
# Packet payload defaults to 4096 bytes and may be 0..65507 (reference 8.2).
DEFAULT_PKT = 4096
PING_COUNT = 3


class HccnError(Exception):
    def __init__(self, message, rc=RC_FAIL):
        Exception.__init__(self, message)
        self.rc = rc


def load_profile():
    with open(PROFILE) as fh:
        return json.load(fh)


def read_conf(path=None):
    conf = {}
    try:
        with open(path or HCCN_CONF) as fh:
            for line in fh:
                line = line.strip()
                if "=" in line and not line.startswith("#"):
                    key, value = line.split("=", 1)
                    conf[key] = value
    except IOError as exc:
        if exc.errno != errno.ENOENT:
            raise
    return conf


def write_conf(updates, path=None):
    """Rewrite hccn.conf like the tool does after a successful -s: keep order, replace or append keys."""
    path = path or HCCN_CONF
    lines = []
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except IOError as exc:
        if exc.errno != errno.ENOENT:
            raise
    seen = set()
    out = []
    for line in lines:
        key = line.split("=", 1)[0] if "=" in line else None
        if key in updates:
            out.append("%s=%s" % (key, updates[key]))
            seen.add(key)
        else:
            out.append(line)
    for key, value in updates.items():
        if key not in seen:
            out.append("%s=%s" % (key, value))
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as fh:
        fh.write("\n".join(out) + "\n")
    os.rename(tmp, path)


def run(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    out, err = proc.communicate()
    return proc.returncode, out, err


def link_info(iface):
    rc, out, err = run([IP, "-j", "addr", "show", "dev", iface])
    if rc != 0:
        raise HccnError("Command execute failed!")
    data = json.loads(out)[0]
    return data


def link_up(info):
    return info.get("operstate") == "UP"


def ipv4(info):
    for addr in info.get("addr_info", []):
        if addr.get("family") == "inet":
            return addr["local"], addr["prefixlen"]
    return None, None


def format_ping(phy_id, address, ping_rc, ping_out, count):
    """Map iputils ping output to hccn_tool lines; return (text, rc)."""
    replies = {}
    for m in re.finditer(r"icmp_seq=(\d+)\s.*?time=([\d.]+)\s*ms", ping_out):
        replies[int(m.group(1))] = float(m.group(2))
    lines = ["device %d PING %s" % (phy_id, address)]
    lost = 0
    for seq in range(count):
        # iputils counts icmp_seq from 1, the device from 0.
        if seq + 1 in replies:
            lines.append("recv seq=%d,time=%.6fms" % (seq, replies[seq + 1]))
        else:
            lines.append("recv time out seq=%d" % seq)
            lost += 1
    received = count - lost
    lines.append("%d packets transmitted, %d received, %.2f%% packet loss"
                 % (count, received, 100.0 * lost / count if count else 0.0))
    return "\n".join(lines) + "\n", (RC_PING_LOSS if lost else RC_OK)


def cmd_ping(port, args, doc):
    address = args.get("address")
    if not address:
        raise HccnError("Execute failed: address is required.")
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise HccnError("Execute failed: invalid address %s." % address)
    pkt = int(args.get("pkt", DEFAULT_PKT))
    if not 0 <= pkt <= 65507:
        raise HccnError("Execute failed: pkt must be 0..65507.")
    info = link_info(port["iface"])
    if not link_up(info):
        raise HccnError("Execute failed: Link status is down.")
    local, _prefix = ipv4(info)
    if local is None:
        raise HccnError("Get ipconf failed, because no ip was preset there!")
    count = PING_COUNT
    # The two dies of one A3 NPU cannot reach each other over RoCE (reference 8.7).
    peer = [p for p in doc["ports"] if p["address"] == address]
    npu = doc.get("npu") or {}
    same_npu = (npu.get("generation") == "a3" and peer and peer[0]["phy_id"] // 2 == port["phy_id"] // 2
                and peer[0]["phy_id"] != port["phy_id"])
    if same_npu:
        text, rc = format_ping(port["phy_id"], address, 1, "", count)
    else:
        rc, out, err = run([PING, "-n", "-I", port["iface"], "-c", str(count), "-i", "0.2", "-W", "1",
                            "-s", str(pkt), address])
        text, rc = format_ping(port["phy_id"], address, rc, out, count)
    sys.stdout.write(text)
    return rc


def cmd_lldp(port, args, doc):
    info = link_info(port["iface"])
    if not link_up(info):
        raise HccnError("Execute failed: Link status is down.")
    sw = doc.get("switch", {})
    lines = [
        "Chassis ID TLV", "\tMAC: %s" % sw.get("mac", "00:e0:fc:00:00:01"),
        "Port ID TLV", "\tIfname: %s" % port["switch_port"],
        "Time to Live TLV", "\t121",
        "Port Description TLV", "\tto-%s-npu%d" % (doc["node"], port["phy_id"]),
        "System Name TLV", "\t%s" % sw.get("name", "lab-leaf-1"),
        "System Description TLV",
        "\tVersatile Routing Platform Software",
        "VRP (R) software, Version 8.211 (CE9860 V200R021C10SPC600)",
        "",
        "HUAWEI CE9860-4C-EI",
        "",
        "System Capabilities TLV", "\tSystem capabilities:  Bridge, Router",
        "\tEnabled capabilities: Bridge, Router",
        "Management Address TLV", "\tIPv4: %s" % sw.get("mgmt_ip", "0.0.0.0"),
        "\tIfindex: 1",
        "Port VLAN ID TLV", "\tPVID: %d" % int(port.get("vlan", 1)),
        "Maximum Frame Size TLV", "\t9216",
        "End of LLDPDU TLV",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return RC_OK


def cmd_ip(port, args, doc, op):
    n = port["phy_id"]
    if op == "-g":
        local, prefix = ipv4(link_info(port["iface"]))
        if local is None:
            raise HccnError("Get ipconf failed, because no ip was preset there!")
        mask = str(ipaddress.IPv4Network("0.0.0.0/%d" % prefix).netmask)
        sys.stdout.write("ipaddr:%s\nnetmask:%s\n" % (local, mask))
        return RC_OK
    address, netmask = args.get("address"), args.get("netmask")
    try:
        iface = ipaddress.IPv4Interface("%s/%s" % (address, netmask))
    except ValueError:
        raise HccnError("Execute failed: invalid address or netmask.")
    apply_address(port, str(iface.ip), iface.network.prefixlen, str(iface.network))
    write_conf({"address_%d" % n: address, "netmask_%d" % n: netmask})
    sys.stdout.write(OK_TEXT + "\n")
    return RC_OK


def apply_address(port, address, prefix, network):
    """Give the port its address plus a source-routed table so replies leave through this port."""
    iface, table, pref = port["iface"], str(100 + port["phy_id"]), str(1000 + port["phy_id"])
    steps = [
        [IP, "addr", "flush", "dev", iface],
        [IP, "addr", "add", "%s/%d" % (address, prefix), "dev", iface],
        [IP, "route", "flush", "table", table],
        [IP, "route", "add", network, "dev", iface, "src", address, "table", table],
        [IP, "route", "add", "unreachable", "default", "table", table],
    ]
    for step in steps:
        rc, out, err = run(step)
        # Flushing an empty table may fail harmlessly; every "add" must succeed.
        if rc != 0 and "add" in step[1:3]:
            raise HccnError("Command execute failed!")
    run([IP, "rule", "del", "pref", pref])
    rc, out, err = run([IP, "rule", "add", "pref", pref, "from", address, "lookup", table])
    if rc != 0:
        raise HccnError("Command execute failed!")


def cmd_simple(port, args, doc, cmd, op):
    n = port["phy_id"]
    conf = read_conf()
    if cmd == "-link":
        sys.stdout.write("link status: %s\n" % ("UP" if link_up(link_info(port["iface"])) else "DOWN"))
        return RC_OK
    if cmd == "-net_health":
        info = link_info(port["iface"])
        detect = conf.get("netdetect_%d" % n)
        if not link_up(info):
            word = "Fault"
        elif not detect:
            word = "Init"
        else:
            rc, out, err = run([PING, "-n", "-I", port["iface"], "-c", "1", "-W", "1", detect])
            word = "Success" if rc == 0 else "Receive timeout"
        sys.stdout.write("net health status: %s\n" % word)
        return RC_OK
    if cmd == "-netdetect":
        if op == "-s":
            write_conf({"netdetect_%d" % n: _need(args, "address")})
            sys.stdout.write(OK_TEXT + "\n")
            return RC_OK
        if "netdetect_%d" % n not in conf:
            raise HccnError("Get netdetect failed, because no netdetect ip was preset there!")
        sys.stdout.write("netdetect addr: %s\n" % conf["netdetect_%d" % n])
        return RC_OK
    if cmd == "-gateway":
        if op == "-s":
            write_conf({"gateway_%d" % n: _need(args, "gateway")})
            sys.stdout.write(OK_TEXT + "\n")
            return RC_OK
        if "gateway_%d" % n not in conf:
            raise HccnError("Get gateway failed, because no gateway was preset there!")
        sys.stdout.write("default gateway:%s, Iface:eth%d\n" % (conf["gateway_%d" % n], n))
        return RC_OK
    if cmd == "-tls":
        if op == "-s":
            value = _need(args, "enable")
            if value not in ("0", "1"):
                raise HccnError("Execute failed: enable must be 0 or 1.")
            write_conf({"tls_enable_%d" % n: value})
            sys.stdout.write(OK_TEXT + "\n")
            return RC_OK
        sys.stdout.write("dev_id:%d, tls switch[%s](0:disable, 1:enable), tls preconfigured[1](0:non-preset, "
                         "1:preset), tls alarm time threshold[60]days\n" % (n, conf.get("tls_enable_%d" % n, "0")))
        return RC_OK
    if cmd == "-speed":
        up = link_up(link_info(port["iface"]))
        sys.stdout.write("Speed: 200000 Mb/s\n" if up else "Speed: Unknown!\n")
        return RC_OK
    if cmd == "-mtu":
        with open("/sys/class/net/%s/mtu" % port["iface"]) as fh:
            sys.stdout.write("mtu:%s\n" % fh.read().strip())
        return RC_OK
    if cmd == "-fec":
        sys.stdout.write("fec mode: rs FEC mode\n")
        return RC_OK
    if cmd == "-stat":
        base = "/sys/class/net/%s/statistics" % port["iface"]
        lines = ["packet statistics:"]
        for name in sorted(os.listdir(base)):
            with open(os.path.join(base, name)) as fh:
                lines.append("%s:%s" % (name, fh.read().strip()))
        sys.stdout.write("\n".join(lines) + "\n")
        return RC_OK
    raise HccnError("Command execute failed!")


def _need(args, key):
    if key not in args:
        raise HccnError("Execute failed: %s is required." % key)
    return args[key]


GET_ONLY = ("-link", "-net_health", "-speed", "-mtu", "-fec", "-stat", "-lldp", "-ping")
SETTABLE = ("-ip", "-netdetect", "-gateway", "-tls")
USAGE = ("Usage: hccn_tool -i <device_id> -<command> -g|-s [args]\n"
         "commands: -ip -link -net_health -netdetect -gateway -ping -lldp -tls -speed -mtu -fec -stat\n")


def parse(argv):
    if len(argv) < 4 or argv[0] != "-i":
        raise HccnError("Invalid parameter.\n" + USAGE.rstrip())
    try:
        dev = int(argv[1])
    except ValueError:
        raise HccnError("Invalid parameter: device id %r.\n" % argv[1] + USAGE.rstrip())
    cmd, op, rest = argv[2], argv[3], argv[4:]
    if cmd not in GET_ONLY + SETTABLE:
        raise HccnError("Invalid parameter: %s.\n" % cmd + USAGE.rstrip())
    if op not in ("-g", "-s") or (op == "-s" and cmd not in SETTABLE):
        raise HccnError("Invalid parameter: %s %s.\n" % (cmd, op) + USAGE.rstrip())
    if len(rest) % 2:
        raise HccnError("Invalid parameter: arguments must be name value pairs.")
    args = dict(zip(rest[0::2], rest[1::2]))
    return dev, cmd, op, args


def acquire_lock():
    """The real tool is single-instance: a second overlapping call on the node is refused."""
    d = os.path.dirname(LOCK_FILE)
    if d and not os.path.isdir(d):
        os.makedirs(d)
    fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError):
        os.close(fd)
        return None
    return fd


def main(argv):
    try:
        dev, cmd, op, args = parse(argv)
    except HccnError as exc:
        sys.stderr.write(str(exc) + "\n")
        return exc.rc
    lock = acquire_lock()
    if lock is None:
        sys.stderr.write(BUSY + "\n")
        return RC_FAIL
    try:
        doc = load_profile()
        ports = {p["phy_id"]: p for p in doc.get("ports", [])}
        if dev not in ports:
            raise HccnError("The device is not exist!")
        port = ports[dev]
        if cmd == "-ping":
            return cmd_ping(port, args, doc)
        if cmd == "-lldp":
            return cmd_lldp(port, args, doc)
        if cmd == "-ip":
            return cmd_ip(port, args, doc, op)
        return cmd_simple(port, args, doc, cmd, op)
    except HccnError as exc:
        sys.stderr.write(str(exc) + "\n")
        return exc.rc
    finally:
        os.close(lock)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
