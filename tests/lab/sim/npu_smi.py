#!/usr/bin/python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simulated npu-smi for the Atlas lab: answers from /etc/atlas-lab/profile.json.

Layouts follow the driver's npu_info_print.c as documented in the reference (ascend-tools.md 2-6):
98-character tables, A3 with two die rows per NPU split by a full-width rule, TAB-indented
key/value listings with labels padded to 30.
"""
import json
import os
import sys

PROFILE = os.environ.get("ATLAS_LAB_PROFILE", "/etc/atlas-lab/profile.json")

RULE_FULL = "+" + "-" * 96 + "+"
RULE_COLS = "+" + "-" * 27 + "+" + "-" * 15 + "+" + "-" * 52 + "+"
RULE_EQ = "+" + "=" * 27 + "+" + "=" * 15 + "+" + "=" * 52 + "+"


def load_profile():
    with open(PROFILE) as fh:
        return json.load(fh)


def _pair(used, total, width):
    # The used value is padded to 5 and touches the slash when it has 5 digits (rule 2.2.2).
    return ("%-5s/ %s" % (used, total)).ljust(width)


def _row(c1, c2, c3):
    return "| %s| %s| %s|" % (c1.ljust(26), c2.ljust(14), c3.ljust(51))


def _full(text):
    return "| %s|" % text.ljust(95)


def render_info(npu):
    a3 = npu["generation"] == "a3"
    ver = npu["smi_version"]
    out = [RULE_FULL, "| npu-smi %sVersion: %s|" % (ver.ljust(25), ver.ljust(53)), RULE_COLS,
           _row("NPU   Name", "Health", "Power(W)    Temp(C)           Hugepages-Usage(page)"),
           _row("Chip  Phy-ID" if a3 else "Chip", "Bus-Id",
                "AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)"),
           RULE_EQ]
    npus = []
    for dev in npu["devices"]:
        if dev["npu"] not in npus:
            npus.append(dev["npu"])
    for n in npus:
        dies = [d for d in npu["devices"] if d["npu"] == n]
        for i, dev in enumerate(dies):
            if i:
                out.append(RULE_FULL)
            out.append(_row("%-6s%s" % (dev["npu"], dev["name"]), dev["health"],
                            "%-12s%-18s%s" % (dev["power"], dev["temp"],
                                              _pair(dev["hugepages"][0], dev["hugepages"][1], 21))))
            if a3:
                chip_cell = "%-6s%s" % (dev["chip"], dev["phy_id"])
            elif npu.get("a2_chip_cell") == "npu":
                chip_cell = str(dev["npu"])
            else:
                chip_cell = str(dev["chip"])
            out.append(_row(chip_cell, dev["bus_id"],
                            "%-12s%s%s" % (dev["aicore"], _pair(dev["ddr"][0], dev["ddr"][1], 18),
                                           _pair(dev["hbm"][0], dev["hbm"][1], 21))))
        out.append(RULE_EQ)
    out += [RULE_COLS,
            "| %s| %s| %s| %s|" % ("NPU     Chip".ljust(26), "Process id".ljust(14),
                                   "Process name".ljust(25), "Process memory(MB)".ljust(24)),
            RULE_EQ]
    for n in npus:
        out.append(_full("No running processes found in NPU %d" % n))
        out.append(RULE_EQ)
    return "\n".join(out) + "\n"


def _kv(label, value):
    return "\t%s : %s" % (label.ljust(30), value)


def render_list(npu):
    npus = []
    for dev in npu["devices"]:
        if dev["npu"] not in npus:
            npus.append(dev["npu"])
    out = [_kv("Total Count", len(npus)), ""]
    for n in npus:
        out += [_kv("NPU ID", n), _kv("Chip Count", sum(1 for d in npu["devices"] if d["npu"] == n)), ""]
    return "\n".join(out) + "\n"


def render_mapping(npu):
    a3 = npu["generation"] == "a3"
    cols = ["NPU ID", "Chip ID", "Chip Logic ID"] + (["Chip Phy-ID"] if a3 else []) + ["Chip Name"]
    out = ["\t" + "".join(c.ljust(30) for c in cols[:-1]) + cols[-1]]
    npus = []
    for dev in npu["devices"]:
        if dev["npu"] not in npus:
            npus.append(dev["npu"])
    logic = 0
    for n in npus:
        dies = [d for d in npu["devices"] if d["npu"] == n]
        for dev in dies:
            name = dev["name"] if a3 else "Ascend %s" % dev["name"]
            cells = [str(n), str(dev["chip"]), str(logic)] + ([str(dev["phy_id"])] if a3 else []) + [name]
            out.append("\t" + "".join(c.ljust(30) for c in cells[:-1]) + cells[-1])
            logic += 1
        cells = [str(n), str(len(dies)), "-"] + (["-"] if a3 else []) + ["Mcu"]
        out.append("\t" + "".join(c.ljust(30) for c in cells[:-1]) + cells[-1])
    return "\n".join(out) + "\n"


def render_board(npu, n):
    dies = [d for d in npu["devices"] if d["npu"] == n]
    first = dies[0]
    out = [_kv("NPU ID", n), _kv("Product Name", npu["board_product"]), _kv("Model", "NA"),
           _kv("Manufacturer", "Huawei"), _kv("Serial Number", first["serial"]),
           _kv("Software Version", npu["smi_version"]), _kv("Firmware Version", npu["firmware_version"]),
           _kv("Compatibility", "OK"), _kv("Board ID", npu["board_id"])]
    if npu["generation"] == "a3":
        out.append(_kv("Main Board ID", "0x14"))
    out += [_kv("PCB ID", "A"), _kv("BOM ID", "1"), _kv("PCIe Bus Info", first["bus_id"]),
            _kv("Slot ID", n), _kv("Class ID", "NA"), _kv("PCI Vendor ID", "0x19E5"),
            _kv("PCI Device ID", npu["pci_device_id"]), _kv("Subsystem Vendor ID", "0x19E5"),
            _kv("Subsystem Device ID", "0x3003"), _kv("Chip Count", len(dies))]
    return "\n".join(out) + "\n"


def render_memory(npu, n):
    out = [_kv("NPU ID", n)]
    for dev in [d for d in npu["devices"] if d["npu"] == n]:
        out += [_kv("DDR Capacity(MB)", dev["ddr"][1]),
                _kv("DDR Clock Speed(MHz)", 2666 if dev["ddr"][1] else 0),
                _kv("HBM Capacity(MB)", dev["hbm"][1]), _kv("HBM Clock Speed(MHz)", dev["hbm_clock"]),
                _kv("HBM Temperature(C)", dev["hbm_temp"]), _kv("HBM Manufacturer ID", dev["hbm_vendor"]),
                _kv("Chip ID", dev["chip"])]
    return "\n".join(out) + "\n"


def render_health(npu, n):
    dies = [d for d in npu["devices"] if d["npu"] == n]
    worst = next((d["health"] for d in dies if d["health"] != "OK"), "OK")
    return "\n".join([_kv("Health Status", worst), _kv("Error Code", "NA" if worst == "OK" else "80E18005"),
                      _kv("Error Information", "NA" if worst == "OK" else "node type=HBM, sensor type=Memory")]) + "\n"


USAGE = """Usage: npu-smi info [-h] [-l] [-m] [-t type -i id]
  info                 Show the device table.
  info -l              List NPUs and chip counts.
  info -m              Show the chip mapping.
  info -t board|memory|health -i <npu id>
"""


def main(argv):
    try:
        doc = load_profile()
    except (OSError, ValueError) as exc:
        sys.stderr.write("dcmi module initialize failed. ret is -8005 (%s)\n" % exc)
        return 8
    npu = doc.get("npu")
    if not npu:
        # A node without NPUs has no npu-smi at all; the lab does not install this script there.
        sys.stderr.write("npu-smi: command not found\n")
        return 127
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 1
    if argv[0] != "info":
        sys.stderr.write("Error: unknown command %r.\n%s" % (argv[0], USAGE))
        return 1
    args = argv[1:]
    if not args:
        sys.stdout.write(render_info(npu))
        return 0
    if args == ["-l"]:
        sys.stdout.write(render_list(npu))
        return 0
    if args == ["-m"]:
        sys.stdout.write(render_mapping(npu))
        return 0
    opts = {}
    it = iter(args)
    for arg in it:
        if arg in ("-t", "-i"):
            opts[arg] = next(it, None)
        else:
            sys.stderr.write("Error: invalid parameter %r.\n%s" % (arg, USAGE))
            return 1
    kind, ident = opts.get("-t"), opts.get("-i")
    renderers = {"board": render_board, "memory": render_memory, "health": render_health}
    if kind not in renderers or ident is None:
        sys.stderr.write("Error: invalid parameter.\n%s" % USAGE)
        return 1
    try:
        n = int(ident)
    except ValueError:
        sys.stderr.write("Error: invalid card id %r.\n" % ident)
        return 1
    if not any(d["npu"] == n for d in npu["devices"]):
        sys.stdout.write("\tThe NPU ID %d does not exist.\n" % n)
        return 3
    sys.stdout.write(renderers[kind](npu, n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
