# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab simulators print what the real tools print (reference ascend-tools.md, samples as fixtures)."""
import fcntl
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "..", "..", "lab")
FIX = os.path.join(HERE, "fixtures")
sys.path.insert(0, LAB)
import profiles  # noqa: E402


def load(name):
    spec = importlib.util.spec_from_file_location("lab_sim_" + name, os.path.join(LAB, "sim", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


npu_smi = load("npu_smi")
hccn_tool = load("hccn_tool")
dmidecode = load("dmidecode")


def fixture(name):
    with open(os.path.join(FIX, name)) as fh:
        return fh.read()


def doc_from_sample(sample, generation, smi_version, chip_cell="zero"):
    """A profile document whose values are those of a reference sample table."""
    devices = []
    rows = [line for line in sample.splitlines() if line.startswith("| ")]
    rows = rows[3:]  # banner and two header lines
    for a, b in zip(rows[0::2], rows[1::2]):
        if "Process id" in a or "Process id" in b:
            break
        ca = [c.strip() for c in a.strip("|").split("|")]
        cb = [c.strip() for c in b.strip("|").split("|")]
        npu, name = ca[0].split()
        power, temp = ca[2].split()[:2]
        chip_words = cb[0].split()
        pairs = re.findall(r"(\d+)\s*/\s*(\d+)", cb[2])
        devices.append({
            "npu": int(npu), "name": name, "health": ca[1], "power": power, "temp": int(temp),
            "hugepages": [0, 0], "chip": int(chip_words[0]),
            "phy_id": int(chip_words[1]) if generation == "a3" else int(npu),
            "bus_id": cb[1], "aicore": int(cb[2].split()[0]),
            "ddr": [int(x) for x in pairs[0]], "hbm": [int(x) for x in pairs[1]],
        })
    return {"generation": generation, "smi_version": smi_version, "a2_chip_cell": chip_cell, "devices": devices}


# --- a parser written to the reference rules (2.2), independent of the simulator's code ---------------

BUS = re.compile(r"^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]$")
HEALTH = {"OK", "Warning", "Alarm", "Critical", "UNKNOWN"}


def parse_info(text):
    devices, current = [], None
    header = None
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "Process id" in line:
            break
        if cells[0].startswith("NPU") and "Name" in cells[0]:
            continue
        if cells[0].startswith("Chip"):
            header = cells[0].split()
            continue
        if len(cells) < 3:
            continue
        if cells[1] in HEALTH or cells[1].isalpha():
            words = cells[0].split()
            current = {"npu": int(words[0]), "name": words[1], "health": cells[1]}
            power = cells[2].split()[0]
            current["power"] = None if power in ("-", "NA") else float(power)
        elif BUS.match(cells[1]):
            assert current is not None, "row B without row A: %r" % line
            pairs = re.findall(r"(\d+)\s*/\s*(\d+)", cells[2])
            assert len(pairs) == 2, line
            words = cells[0].split()
            dev = dict(current, bus=cells[1], chip=int(words[0]),
                       ddr=tuple(map(int, pairs[0])), hbm=tuple(map(int, pairs[1])))
            if header == ["Chip", "Phy-ID"]:
                dev["phy"] = int(words[1])
            devices.append(dev)
        else:
            raise AssertionError("unknown table line %r" % line)
    return header, devices


# --- npu-smi ---------------------------------------------------------------------------------------


def test_a2_table_reproduces_reference_sample_exactly():
    sample = fixture("npu_smi_info_a2_910b3_24.1.0.3.txt")
    out = npu_smi.render_info(doc_from_sample(sample, "a2", "24.1.0.3"))
    # The published paste stops before the process section; everything up to there is identical.
    assert out.splitlines()[:len(sample.splitlines())] == sample.splitlines()
    assert "| No running processes found in NPU 7" in out


def test_a3_table_reproduces_reference_device_rows():
    sample = fixture("npu_smi_info_a3_25.3.rc1.txt")
    out = npu_smi.render_info(doc_from_sample(sample, "a3", "25.3.rc1"))
    cut = sample.index("| NPU     Chip")
    # Device section identical (the sample then lists running processes, which the lab has none of).
    assert out[:cut] == sample[:cut]
    header, devices = parse_info(out)
    assert header == ["Chip", "Phy-ID"]
    assert [d["phy"] for d in devices] == list(range(16))
    assert all(d["power"] is None for d in devices if d["chip"] == 1)


def test_25x_a2_chip_cell_equals_npu_id():
    sample = fixture("npu_smi_info_910b4_25.5.2.txt")
    out = npu_smi.render_info(doc_from_sample(sample, "a2", "25.5.2", chip_cell="npu"))
    for line in sample.splitlines()[:12]:
        assert line in out.splitlines()


@pytest.mark.parametrize("name,count,header,hbm,ddr_zero", [
    ("a2-64g", 8, ["Chip"], 65536, True),
    ("a2-32g", 8, ["Chip"], 32768, True),
    ("a3", 16, ["Chip", "Phy-ID"], 65536, True),
    ("a2-7npu", 7, ["Chip"], 65536, True),
    ("a1-910", 8, ["Chip"], 32768, False),
])
def test_profiles_parse_by_the_reference_rules(name, count, header, hbm, ddr_zero):
    doc = profiles.render_node_profile(name, "t", "prefill-1", 0, 5)
    out = npu_smi.render_info(doc["npu"])
    for line in out.splitlines():
        assert len(line) == 98, line
    got_header, devices = parse_info(out)
    assert got_header == header
    assert len(devices) == count
    assert {d["hbm"][1] for d in devices} == {hbm}
    assert all(d["ddr"] == (0, 0) for d in devices) == ddr_zero
    if name == "a1-910":
        assert {d["name"] for d in devices} == {"910B"}


def test_bad_health_profile_reports_the_raw_word():
    doc = profiles.render_node_profile("a2-bad-health", "t", "decode-1", 2, 5)
    _header, devices = parse_info(npu_smi.render_info(doc["npu"]))
    assert [(d["npu"], d["health"]) for d in devices if d["health"] != "OK"] == [(3, "Alarm")]


def test_used_value_touches_slash_at_five_digits():
    assert npu_smi._pair(46536, 65536, 21) == "46536/ 65536         "
    assert npu_smi._pair(3382, 65536, 21) == "3382 / 65536         "


def test_list_output_matches_reference_sample():
    doc = profiles.render_node_profile("a2-64g", "t", "p", 0, 5)
    out = npu_smi.render_list(doc["npu"])
    sample = fixture("npu_smi_list_a2.txt")
    assert out.startswith(sample)
    a3 = npu_smi.render_list(profiles.render_node_profile("a3", "t", "p", 0, 5)["npu"])
    assert "\tTotal Count                    : 8\n" in a3
    assert a3.count("\tChip Count                     : 2\n") == 8


def test_mapping_a2_and_a3_columns():
    a2 = npu_smi.render_mapping(profiles.render_node_profile("a2-64g", "t", "p", 0, 5)["npu"]).splitlines()
    assert a2[0].split() == ["NPU", "ID", "Chip", "ID", "Chip", "Logic", "ID", "Chip", "Name"]
    assert a2[1].split() == ["0", "0", "0", "Ascend", "910B3"]
    assert a2[2].split() == ["0", "1", "-", "Mcu"]
    assert all(line.startswith("\t") for line in a2)
    a3 = npu_smi.render_mapping(profiles.render_node_profile("a3", "t", "p", 0, 5)["npu"]).splitlines()
    assert "Chip Phy-ID" in a3[0]
    assert [line.split() for line in a3[1:4]] == [["0", "0", "0", "0", "Ascend910"],
                                                  ["0", "1", "1", "1", "Ascend910"],
                                                  ["0", "2", "-", "-", "Mcu"]]
    assert a3[4].split() == ["1", "0", "2", "2", "Ascend910"]


def _keys(text):
    return [line.split(" : ")[0].strip() for line in text.splitlines() if " : " in line]


def test_board_and_memory_key_order_matches_reference():
    npu = profiles.render_node_profile("a2-32g", "t", "p", 0, 5)["npu"]
    assert _keys(npu_smi.render_board(npu, 0)) == _keys(fixture("npu_smi_board_910b_25.5.1.txt"))
    mem = npu_smi.render_memory(npu, 1)
    assert _keys(mem) == _keys(fixture("npu_smi_memory_910b4.txt"))
    assert "\tHBM Capacity(MB)               : 32768" in mem.splitlines()
    a3 = profiles.render_node_profile("a3", "t", "p", 0, 5)["npu"]
    assert "Main Board ID" in _keys(npu_smi.render_board(a3, 0))
    assert _keys(npu_smi.render_memory(a3, 0)).count("Chip ID") == 2


def run_sim(name, args, env_extra, tmp_path):
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, os.path.join(LAB, "sim", name + ".py")] + args, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, cwd=str(tmp_path),
                          check=False)


def write_profile(tmp_path, name):
    doc = profiles.render_node_profile(name, "t", "prefill-1", 0, 5)
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(doc))
    return doc, str(path)


def test_npu_smi_cli_errors(tmp_path):
    _doc, path = write_profile(tmp_path, "a2-64g")
    env = {"ATLAS_LAB_PROFILE": path}
    res = run_sim("npu_smi", ["info", "-t", "board", "-i", "9"], env, tmp_path)
    assert res.returncode != 0 and "does not exist" in res.stdout
    res = run_sim("npu_smi", ["bogus"], env, tmp_path)
    assert res.returncode != 0 and res.stderr
    res = run_sim("npu_smi", ["info"], env, tmp_path)
    assert res.returncode == 0 and len(parse_info(res.stdout)[1]) == 8


# --- dmidecode -------------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="dmidecode simulator answers like the real one: root only")
def test_dmidecode_product_names(tmp_path):
    for name, product in (("a2-64g", "Atlas 800I A2"), ("a3", "Atlas 800I A3"), ("non-atlas", "PowerEdge R750")):
        _doc, path = write_profile(tmp_path, name)
        res = run_sim("dmidecode", ["-s", "system-product-name"], {"ATLAS_LAB_PROFILE": path}, tmp_path)
        assert (res.returncode, res.stdout) == (0, product + "\n")
        res = run_sim("dmidecode", ["-t", "1"], {"ATLAS_LAB_PROFILE": path}, tmp_path)
        # AD-old reads the first "Product" line's value.
        first = [line for line in res.stdout.splitlines() if "Product" in line][0]
        assert first == "\tProduct Name: " + product
    res = run_sim("dmidecode", ["-s", "nonsense"], {"ATLAS_LAB_PROFILE": path}, tmp_path)
    assert res.returncode != 0 and "Invalid string keyword" in res.stderr


# --- hccn_tool -------------------------------------------------------------------------------------

PING_RULE = re.compile(r"^(\d+) packets transmitted, (\d+) received, ([\d.]+)% packet loss$")

IPUTILS_LOSSY = """PING 198.19.10.18 (198.19.10.18) from 198.19.10.2 npu1: 4096(4124) bytes of data.
4104 bytes from 198.19.10.18: icmp_seq=2 ttl=64 time=0.097 ms
4104 bytes from 198.19.10.18: icmp_seq=3 ttl=64 time=0.066 ms

--- 198.19.10.18 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 404ms
"""


def test_ping_mapping_matches_reference_shape():
    text, rc = hccn_tool.format_ping(1, "198.19.10.18", 1, IPUTILS_LOSSY, 3)
    lines = text.splitlines()
    assert rc == 100
    assert lines[0] == "device 1 PING 198.19.10.18"
    assert lines[1] == "recv time out seq=0"
    assert lines[2] == "recv seq=1,time=0.097000ms"
    m = PING_RULE.match(lines[-1])
    assert m and m.groups() == ("3", "2", "33.33")
    # Same lines as the Huawei doc's lossy sample (which has the typo seq=O and no header line).
    doc_lines = fixture("hccn_ping_loss_doc.txt").replace("seq=O", "seq=0").splitlines()
    assert lines[1:] == doc_lines


def test_ping_success_format_matches_sample():
    out = "".join("64 bytes from x: icmp_seq=%d ttl=64 time=%s ms\n" % (i + 1, t)
                  for i, t in enumerate(("0.149", "0.066", "0.064")))
    text, rc = hccn_tool.format_ping(1, "11.12.165.80", 0, out, 3)
    assert rc == 0
    assert text == fixture("hccn_ping_ok.txt")


@pytest.fixture
def fake_node(tmp_path):
    """A node without namespaces: fake ip/ping on PATH-free env hooks, a profile, hccn.conf and lock."""
    doc, path = write_profile(tmp_path, "a2-64g")
    conf = tmp_path / "hccn.conf"
    conf.write_text(profiles.hccn_conf_text(doc))
    ip = tmp_path / "fake_ip"
    state = tmp_path / "ipstate.json"
    state.write_text(json.dumps({"operstate": "UP", "addr_info": [
        {"family": "inet", "local": doc["ports"][1]["address"], "prefixlen": 24}]}))
    ip.write_text("#!/bin/sh\n# fake ip: '-j addr show dev X' prints the stored link; everything else succeeds\n"
                  "if [ \"$1\" = -j ]; then printf '['; cat %s; printf ']'; fi\n" % state)
    ip.chmod(0o755)
    ping = tmp_path / "fake_ping"
    ping.write_text("#!/bin/sh\ncat <<'EOF'\n%sEOF\nexit 1\n" % IPUTILS_LOSSY)
    ping.chmod(0o755)
    env = {"ATLAS_LAB_PROFILE": path, "ATLAS_LAB_HCCN_CONF": str(conf), "ATLAS_LAB_IP": str(ip),
           "ATLAS_LAB_PING": str(ping), "ATLAS_LAB_HCCN_LOCK": str(tmp_path / "run" / "hccn.lock")}
    return doc, env, state, tmp_path


def test_hccn_ping_loss_exit_code_100(fake_node):
    doc, env, state, tmp = fake_node
    res = run_sim("hccn_tool", ["-i", "1", "-ping", "-g", "address", "198.19.10.18"], env, tmp)
    assert res.returncode == 100
    assert res.stdout.splitlines()[-1] == "3 packets transmitted, 2 received, 33.33% packet loss"
    assert res.stderr == ""


def test_hccn_busy_when_another_instance_runs(fake_node):
    doc, env, state, tmp = fake_node
    os.makedirs(os.path.dirname(env["ATLAS_LAB_HCCN_LOCK"]))
    fd = os.open(env["ATLAS_LAB_HCCN_LOCK"], os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        res = run_sim("hccn_tool", ["-i", "1", "-link", "-g"], env, tmp)
    finally:
        os.close(fd)
    assert res.returncode != 0
    assert res.stderr == "hccn_tool is busy, please try again\n"
    assert res.stdout == ""
    res = run_sim("hccn_tool", ["-i", "1", "-link", "-g"], env, tmp)
    assert (res.returncode, res.stdout) == (0, "link status: UP\n")


def test_hccn_ip_get_formats_and_errors(fake_node):
    doc, env, state, tmp = fake_node
    res = run_sim("hccn_tool", ["-i", "1", "-ip", "-g"], env, tmp)
    assert res.stdout == "ipaddr:%s\nnetmask:255.255.255.0\n" % doc["ports"][1]["address"]
    state.write_text(json.dumps({"operstate": "UP", "addr_info": []}))
    res = run_sim("hccn_tool", ["-i", "1", "-ip", "-g"], env, tmp)
    assert res.returncode != 0 and res.stdout == ""
    assert res.stderr == "Get ipconf failed, because no ip was preset there!\n"
    res = run_sim("hccn_tool", ["-i", "12", "-ip", "-g"], env, tmp)
    assert res.returncode != 0 and res.stderr == "The device is not exist!\n"
    state.write_text(json.dumps({"operstate": "LOWERLAYERDOWN", "addr_info": []}))
    res = run_sim("hccn_tool", ["-i", "1", "-link", "-g"], env, tmp)
    assert res.stdout == "link status: DOWN\n"
    res = run_sim("hccn_tool", ["-i", "1", "-ping", "-g", "address", "198.19.10.18"], env, tmp)
    assert res.returncode != 0 and res.stderr == "Execute failed: Link status is down.\n"


def test_hccn_conf_gets_and_sets(fake_node):
    doc, env, state, tmp = fake_node
    port = doc["ports"][2]
    res = run_sim("hccn_tool", ["-i", "2", "-gateway", "-g"], env, tmp)
    assert res.stdout == "default gateway:%s, Iface:eth2\n" % port["gateway"]
    res = run_sim("hccn_tool", ["-i", "2", "-netdetect", "-g"], env, tmp)
    assert re.match(r"^netdetect addr(ess)?:\s*(\S+)$", res.stdout.strip()).group(2) == port["netdetect"]
    res = run_sim("hccn_tool", ["-i", "2", "-ip", "-s", "address", "198.19.10.99", "netmask", "255.255.255.0"],
                  env, tmp)
    assert (res.returncode, res.stdout) == (0, "Cmd executed successfully!\n")
    conf = (tmp / "hccn.conf").read_text()
    assert "address_2=198.19.10.99\n" in conf and "netmask_2=255.255.255.0\n" in conf
    assert conf.count("address_2=") == 1
    # Keys of the other devices stay where they were.
    assert conf.splitlines()[0] == "address_0=%s" % doc["ports"][0]["address"]
    res = run_sim("hccn_tool", ["-i", "2", "-tls", "-g"], env, tmp)
    assert res.stdout.startswith("dev_id:2, tls switch[0](0:disable, 1:enable), tls preconfigured[1]")
    res = run_sim("hccn_tool", ["-i", "2", "-link", "-s"], env, tmp)
    assert res.returncode != 0 and "Invalid parameter" in res.stderr


def test_hccn_lldp_dump_structure(fake_node):
    doc, env, state, tmp = fake_node
    res = run_sim("hccn_tool", ["-i", "1", "-lldp", "-g"], env, tmp)
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    tlvs = [line for line in lines if line and not line.startswith("\t") and line.endswith("TLV")]
    assert tlvs[0] == "Chassis ID TLV" and tlvs[-1] == "End of LLDPDU TLV"
    assert "Port VLAN ID TLV" in tlvs
    assert "\tIfname: %s" % doc["ports"][1]["switch_port"] in lines
    assert "\tPVID: %d" % profiles.DEFAULT_VLAN in lines
    assert re.search(r"^\tIfname: 400GE\d+/\d+/\d+:2$", res.stdout, re.M)


# --- profiles --------------------------------------------------------------------------------------


def test_hccn_conf_text_follows_the_file_format():
    doc = profiles.render_node_profile("a2-64g", "t", "decode-1", 2, 7)
    text = profiles.hccn_conf_text(doc)
    keys = {}
    for line in text.splitlines():
        key, value = line.split("=", 1)
        m = re.match(r"^(.+)_(\d+)$", key)
        keys.setdefault(int(m.group(2)), {})[m.group(1)] = value
    assert sorted(keys) == list(range(8))
    assert set(keys[0]) == {"address", "netmask", "netdetect", "gateway", "send_arp_status"}
    assert " " not in text


def test_a3_dies_of_one_npu_are_in_different_subnets_and_labs_mix_without_clashes():
    seen = set()
    for index, name in enumerate(["a2-64g", "a3", "a2-64g", "a3", "a2-7npu"]):
        doc = profiles.render_node_profile(name, "t", "n%d" % index, index, 9)
        for port in doc["ports"]:
            assert port["address"] not in seen
            seen.add(port["address"])
        if name == "a3":
            planes = {p["phy_id"]: p["address"].rsplit(".", 1)[0] for p in doc["ports"]}
            for npu in range(8):
                assert planes[2 * npu] == "198.19.18" and planes[2 * npu + 1] == "198.19.19"


def test_a2_plane_holds_62_nodes_in_the_labs_slash_23():
    import ipaddress
    plane = ipaddress.IPv4Network("198.19.18.0/23")
    seen = set()
    for index in range(profiles.max_nodes("a2")):
        doc = profiles.render_node_profile("a2-64g", "t", "n%d" % index, index, 9)
        for port in doc["ports"]:
            iface = ipaddress.IPv4Interface("%s/%s" % (port["address"], port["netmask"]))
            assert iface.network == plane, port
            # never the 'switch' (.254), a /24 network or broadcast address, or a duplicate
            assert int(port["address"].rsplit(".", 1)[1]) not in (0, 254, 255), port
            assert port["address"] not in seen
            seen.add(port["address"])
            assert ipaddress.IPv4Address(port["netdetect"]) in plane
    assert len(seen) == 62 * 8
    with pytest.raises(ValueError, match="at most 62 nodes"):
        profiles.render_node_profile("a2-64g", "t", "n62", 62, 9)


def test_a3_plane_holds_31_nodes():
    profiles.render_node_profile("a3", "t", "n30", 30, 9)
    with pytest.raises(ValueError, match="at most 31 nodes"):
        profiles.render_node_profile("a3", "t", "n31", 31, 9)


def test_lab_refuses_node_counts_its_fabric_cannot_address():
    sys.path.insert(0, LAB)
    import atlas_lab  # noqa: E402  pylint: disable=import-outside-toplevel
    atlas_lab.check_fabric_room(["a2-64g"] * 62)
    atlas_lab.check_fabric_room(["a3"] + ["a2-64g"] * 30)
    with pytest.raises(atlas_lab.LabError, match="A3 nodes holds at most 31 nodes"):
        atlas_lab.check_fabric_room(["a3"] + ["a2-64g"] * 31)
    with pytest.raises(atlas_lab.LabError, match="at most 62 nodes"):
        atlas_lab.check_fabric_room(["a2-64g"] * 63)


def test_lab_sizes_the_shared_arp_table_for_big_labs_only():
    sys.path.insert(0, LAB)
    import atlas_lab  # noqa: E402  pylint: disable=import-outside-toplevel

    def lab(nodes, profile="a2-64g", control=0):
        return {"nodes": [{"profile": profile}] * nodes + [{"profile": "non-atlas"}] * control}

    # 4 A2 nodes: 32 ports x 4 nodes = 128 entries, twice that fits the default 1024
    assert atlas_lab.neigh_entries([lab(4)]) == 128
    assert atlas_lab.neigh_thresholds([512, 1024], 128) is None
    # 32 A2 nodes overflowed the default table (measured: "neighbor table overflow", lost pings)
    assert atlas_lab.neigh_entries([lab(32)]) == 8192
    assert atlas_lab.neigh_thresholds([512, 1024], 8192) == (8704, 17408)
    # labs up at once add up; control nodes have no NPU ports but count as peers
    assert atlas_lab.neigh_entries([lab(4), lab(2, "a3", control=1)]) == 128 + 32 * 3
    # never lowered
    assert atlas_lab.neigh_thresholds([20000, 40000], 8192) is None
    assert atlas_lab.neigh_thresholds([9000, 9000], 8192) == (9000, 17408)


def test_non_atlas_profile_has_no_npu():
    doc = profiles.render_node_profile("non-atlas", "t", "control-1", 4, 9)
    assert doc["npu"] is None and doc["ports"] == []
    assert profiles.hccn_conf_text(doc) == ""
