# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hardware profiles of the simulated Atlas lab.

A profile says what a lab node pretends to be. ``render_node_profile`` turns a profile name plus the
node's place in the lab into the JSON document the simulators inside the node read
(``/etc/atlas-lab/profile.json``). Every number is derived deterministically from the node and NPU
index, so two runs of the lab print the same tables.
"""

import hashlib

# Bus ids as printed by real servers (reference samples 2.3 and 2.5).
A2_BUS_IDS = ["0000:C1:00.0", "0000:C2:00.0", "0000:81:00.0", "0000:82:00.0",
              "0000:01:00.0", "0000:02:00.0", "0000:41:00.0", "0000:42:00.0"]
A3_BUS_BASE = [0x9D, 0x99, 0x95, 0x91, 0x8D, 0x89, 0x85, 0x81]

PROFILES = {
    "a2-64g": {
        "description": "Atlas 800I A2, 8 x 910B3, 64 GB HBM each",
        "generation": "a2", "npus": 8, "chip_name": "910B3", "hbm_mb": 65536,
        "smi_version": "24.1.0.3", "product": "Atlas 800I A2",
    },
    "a2-32g": {
        "description": "Atlas 800I A2, 8 x 910B4, 32 GB HBM each",
        "generation": "a2", "npus": 8, "chip_name": "910B4", "hbm_mb": 32768,
        "smi_version": "25.5.2", "product": "Atlas 800I A2",
    },
    "a3": {
        "description": "Atlas 800I A3, 8 NPUs x 2 dies (16 devices), 64 GB HBM per die",
        "generation": "a3", "npus": 8, "chip_name": "Ascend910", "hbm_mb": 65536,
        "smi_version": "25.3.rc1", "product": "Atlas 800I A3",
    },
    "a2-4plane": {
        "description": "Atlas 800I A2, 8 x 910B3, four RoCE planes: devices i and i+4 share one subnet",
        "generation": "a2", "npus": 8, "chip_name": "910B3", "hbm_mb": 65536,
        "smi_version": "24.1.0.3", "product": "Atlas 800I A2", "planes": 4,
    },
    "a2-7npu": {
        "description": "Atlas 800I A2 with one NPU missing (7 x 910B3): wrong chip count",
        "generation": "a2", "npus": 7, "chip_name": "910B3", "hbm_mb": 65536,
        "smi_version": "24.1.0.3", "product": "Atlas 800I A2",
    },
    "a2-bad-health": {
        "description": "Atlas 800I A2 whose NPU 3 reports Health Alarm",
        "generation": "a2", "npus": 8, "chip_name": "910B3", "hbm_mb": 65536,
        "smi_version": "24.1.0.3", "product": "Atlas 800I A2", "bad_health": {3: "Alarm"},
    },
    "a1-910": {
        "description": "first-generation Atlas 800 (Model 9000): 8 x bare '910B' with non-zero DDR (910A trap)",
        "generation": "a1", "npus": 8, "chip_name": "910B", "hbm_mb": 32768, "ddr_mb": 15171,
        "smi_version": "23.0.0", "product": "Atlas 800 (Model 9000)",
    },
    "non-atlas": {
        "description": "a generic x86 server without NPUs (no npu-smi, no hccn_tool)",
        "generation": None, "npus": 0, "product": "PowerEdge R750", "manufacturer": "Dell Inc.",
    },
}

DEFAULT_VLAN = 100


def _jitter(*parts):
    """Deterministic small integer from the parts (stable across runs and Python versions)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return int(digest[:8], 16)


# Nodes per /24 of a plane: node i owns hosts 8i+1..8i+8, which keeps .254 (the 'switch') and .255 free.
NODES_PER_24 = 31
# A2 ports use the lab's whole /23 (two /24s: 62 nodes); each A3 die plane is one /24 (31 nodes).
A2_NETMASK = "255.255.254.0"
A3_NETMASK = "255.255.255.0"


def fabric_address(net_index, node_index, phy_id, generation):
    """Device IP of port phy_id.

    A2: one plane, 198.19.2n.0/23; nodes 0-30 in 198.19.2n.x, nodes 31-61 in 198.19.2n+1.x.
    A3: even dies in 198.19.2n.x, odd dies in 198.19.2n+1.x (one /24 each, nodes 0-30).
    """
    if generation == "a3":
        third = 2 * net_index + (phy_id % 2)
        slot, offset = node_index, phy_id // 2
    else:
        third = 2 * net_index + node_index // NODES_PER_24
        slot, offset = node_index % NODES_PER_24, phy_id
    if third > 2 * net_index + 1 or slot >= NODES_PER_24 or offset > 7:
        raise ValueError("no fabric address for node %d port %d (%s): at most %d nodes with this profile"
                         % (node_index, phy_id, generation, max_nodes(generation)))
    return "198.19.%d.%d" % (third, slot * 8 + offset + 1)


# Four-plane A2 (one subnet per switch plane, as real 8-port nodes use four /16s): plane p = phy % 4
# is a /25 of the lab's /23; node i owns hosts 2i+1 and 2i+2 of each plane, the 'switch' .126.
FOUR_PLANE_NETMASK = "255.255.255.128"


def four_plane_base(net_index, plane):
    return 2 * net_index + plane // 2, 128 * (plane % 2)


def four_plane_address(net_index, node_index, phy_id):
    third, base = four_plane_base(net_index, phy_id % 4)
    if node_index >= 2 * NODES_PER_24:
        raise ValueError("no four-plane address for node %d: at most %d nodes" % (node_index, 2 * NODES_PER_24))
    return "198.19.%d.%d" % (third, base + 2 * node_index + phy_id // 4 + 1)


def four_plane_detect(net_index, plane):
    third, base = four_plane_base(net_index, plane)
    return "198.19.%d.%d" % (third, base + 126)


def address_plan(profile_name, net_index, node_docs=()):
    """The lab's address plan of a profile in the roce role's roce_address_plan shape: each device's
    plane (subnet, detect IP, gateway) and, per node document given, the ports' planned addresses."""
    spec = PROFILES[profile_name]
    gen = spec["generation"]
    devices = {}
    for phy in range(device_count(profile_name)):
        if spec.get("planes") == 4:
            third, base = four_plane_base(net_index, phy % 4)
            subnet, detect = "198.19.%d.%d/25" % (third, base), four_plane_detect(net_index, phy % 4)
        elif gen == "a3":
            subnet, detect = "198.19.%d.0/24" % (2 * net_index + phy % 2), fabric_detect(net_index, phy % 2)
        else:
            subnet, detect = "198.19.%d.0/23" % (2 * net_index), fabric_detect(net_index, 0)
        devices[phy] = {"subnet": subnet, "netdetect": detect, "gateway": detect}
    addresses = dict((doc["node"], dict((p["phy_id"], p["address"]) for p in doc["ports"])) for doc in node_docs)
    return {"devices": devices, "addresses": addresses}


def fabric_netmask(generation):
    return A3_NETMASK if generation == "a3" else A2_NETMASK


def max_nodes(generation):
    """How many nodes of this generation fit the lab's fabric addresses."""
    return NODES_PER_24 if generation == "a3" else 2 * NODES_PER_24


def fabric_detect(net_index, plane):
    """netdetect/gateway address of a plane: the 'switch' (host side of the fabric bridge)."""
    return "198.19.%d.254" % (2 * net_index + plane)


def device_count(profile_name):
    spec = PROFILES[profile_name]
    return spec["npus"] * (2 if spec["generation"] == "a3" else 1)


def render_node_profile(profile_name, lab_id, node_name, node_index, net_index):
    """Return the profile document of one node (what the simulators inside it read)."""
    if profile_name not in PROFILES:
        raise ValueError("unknown profile %r; known: %s" % (profile_name, ", ".join(sorted(PROFILES))))
    spec = PROFILES[profile_name]
    gen = spec["generation"]
    serial = "2102314%05d" % (_jitter(lab_id, node_name) % 100000)
    doc = {
        "profile": profile_name,
        "description": spec["description"],
        "lab_id": lab_id,
        "node": node_name,
        "dmi": {
            "manufacturer": spec.get("manufacturer", "Huawei"),
            "product_name": spec["product"],
            "version": "V1" if gen else "01",
            "serial": serial,
            "uuid": "%s-%s-%s-%s-%s" % tuple(
                hashlib.md5(("%s/%s" % (lab_id, node_name)).encode()).hexdigest()[i:j]
                for i, j in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))),
            "sku": "Atlas" if gen else "SKU=0A6B",
            "family": "Atlas" if gen else "PowerEdge",
        },
        "npu": None,
        "ports": [],
    }
    if not gen:
        return doc
    devices = []
    for npu in range(spec["npus"]):
        dies = 2 if gen == "a3" else 1
        for chip in range(dies):
            phy = npu * dies + chip
            j = _jitter(lab_id, node_name, phy)
            if gen == "a3":
                bus = "0000:%02X:00.0" % (A3_BUS_BASE[npu] + 2 * chip)
            elif npu < len(A2_BUS_IDS):
                bus = A2_BUS_IDS[npu]
            else:
                bus = "0000:%02X:00.0" % (0x60 + npu)
            hbm_total = spec["hbm_mb"]
            hbm_used = (2900 if hbm_total == 32768 else 3380) + j % 220
            ddr_total = spec.get("ddr_mb", 0)
            devices.append({
                "npu": npu,
                "chip": chip,
                "phy_id": phy,
                "name": spec["chip_name"],
                "health": spec.get("bad_health", {}).get(npu, "OK"),
                # A3 die 1 reports no power of its own.
                "power": "-" if chip == 1 else "%.1f" % (90 + (j % 150) / 10.0),
                "temp": 36 + j % 9,
                "hugepages": [0, 0],
                "bus_id": bus,
                "aicore": 0,
                "ddr": [(1800 + j % 300) if ddr_total else 0, ddr_total],
                "hbm": [hbm_used, hbm_total],
                "hbm_clock": 1600 if hbm_total == 32768 else 1800,
                "hbm_temp": 34 + j % 6,
                "hbm_vendor": "0x57",
                "serial": "1025C9%06d" % (_jitter(serial, npu) % 1000000),
            })
    doc["npu"] = {
        "generation": gen,
        "smi_version": spec["smi_version"],
        "firmware_version": "7.5.0.109.220" if gen == "a3" else "7.1.0.11.220",
        # 24.x prints 0 in the A2 chip cell, 25.x the NPU id (reference 2.2 rule 7).
        "a2_chip_cell": "npu" if spec["smi_version"].startswith("25") else "zero",
        "board_id": {"a2": "0x40", "a3": "0x14", "a1": "0xc0"}[gen],
        "pci_device_id": {"a2": "0xD802", "a3": "0xD803", "a1": "0xD801"}[gen],
        "board_product": {"a2": "IT21HMDC_Bin5", "a3": "IT22SMDD", "a1": "IT21PDDA01"}[gen],
        "devices": devices,
    }
    ports = []
    for dev in devices:
        phy = dev["phy_id"]
        plane = phy % 2 if gen == "a3" else 0
        address, netmask = fabric_address(net_index, node_index, phy, gen), fabric_netmask(gen)
        detect = fabric_detect(net_index, plane)
        if spec.get("planes") == 4:
            plane = phy % 4
            address, netmask = four_plane_address(net_index, node_index, phy), FOUR_PLANE_NETMASK
            detect = four_plane_detect(net_index, plane)
        ports.append({
            "phy_id": phy,
            "iface": "npu%d" % phy,
            "address": address,
            "netmask": netmask,
            "netdetect": detect,
            "gateway": detect,
            "plane": plane,
            # Switch port the NPU port is cabled to (what LLDP Port ID announces).
            "switch_port": "400GE1/1/%d:2" % (node_index * 16 + phy + 1),
            "vlan": DEFAULT_VLAN,
        })
    doc["ports"] = ports
    return doc


def hccn_conf_text(doc):
    """/etc/hccn.conf as hccn_tool writes it (key_N=value, no spaces)."""
    lines = []
    for port in doc["ports"]:
        n = port["phy_id"]
        lines += [
            "address_%d=%s" % (n, port["address"]),
            "netmask_%d=%s" % (n, port["netmask"]),
            "netdetect_%d=%s" % (n, port["netdetect"]),
            "gateway_%d=%s" % (n, port["gateway"]),
            "send_arp_status_%d=1" % n,
        ]
    return "\n".join(lines) + ("\n" if lines else "")
