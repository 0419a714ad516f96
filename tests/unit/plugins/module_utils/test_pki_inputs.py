# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pki role's input rules (plugins/module_utils/pki_inputs.py) and the filters that call them."""
import os

import pytest

from ansible_collections.ascend.mindie.plugins.filter import pki as pki_filters
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki, pki_inputs

GOOD = dict(password_set=True, secret_format="kmc", ca_subject={"C": "CN", "CN": "MindIE"}, ca_key_size=4096,
            ca_valid_days=7300, ca_force="", pki_dir="/pki", tls_enabled=True, pod_cidrs=["10.244.0.0/16"],
            node_cidrs=["192.168.1.0/24"], components=["server", "controller", "coordinator"],
            component_certs={"server": {"ips": ["10.0.0.1", "fe80::1"], "dns": ["*.mindie.svc"]},
                             "controller": {}, "coordinator": {}},
            static_certs=[{"name": "coord-host", "component": "coordinator", "ips": ["192.168.1.5"]}])


def problems(**changes):
    args = dict(GOOD, **changes)
    return pki_inputs.input_problems(**args)


def test_good_inputs_have_no_problem():
    assert problems() == []


@pytest.mark.parametrize("changes,expected", [
    ({"password_set": False}, "mindie_ca_password is not set"),
    ({"secret_format": "pem"}, 'mindie_secret_format is "pem"'),
    ({"ca_subject": {"C": "CN"}}, "pki_ca_subject is "),
    ({"ca_subject": {"CN": "x", "XX": "y"}}, "a mapping of C, ST, L, O, OU, CN with CN set"),
    ({"ca_subject": "MindIE"}, "pki_ca_subject is \"MindIE\""),
    ({"ca_key_size": 2048}, "pki_ca_key_size is 2048: MindIE requires RSA keys of at least 3072 bits"),
    ({"ca_key_size": "big"}, "pki_ca_key_size is big"),
    ({"ca_valid_days": 0}, "pki_ca_valid_days is 0"),
    ({"ca_force": True}, "pki_ca_force is true: set it to the SHA-256 fingerprint"),
    ({"pod_cidrs": []}, "mindie_pod_cidrs and mindie_node_cidrs must be set while TLS is on"),
    ({"components": ["server", "proxy"]}, "pki_components is [\"server\", \"proxy\"]: choose among"),
    ({"components": []}, "pki_components is []"),
    ({"component_certs": {"server": {}, "controller": {}}}, "pki_component_certs has no entry for component coordinator"),
    ({"component_certs": dict(GOOD["component_certs"], server={"ips": ["10.0.0.256"]})},
     'pki_component_certs.server.ips has "10.0.0.256", which is not an IP address: write IPv4 or IPv6 addresses'),
    ({"component_certs": dict(GOOD["component_certs"], server={"dns": ["bad_name.example"]})},
     'pki_component_certs.server.dns has "bad_name.example", which is not a DNS name'),
    ({"static_certs": [{"name": "h", "component": "coordinator", "ips": ["300.1.2.3"]}]},
     'pki_static_certs h ips has "300.1.2.3", which is not an IP address'),
    ({"static_certs": [{"name": "h"}]}, "pki_static_certs entry h has no component: add one of server, controller"),
    ({"static_certs": [{"name": "h", "component": "proxy"}]}, "pki_static_certs entry h names a component not in"),
])
def test_each_rule_names_the_variable(changes, expected):
    found = problems(**changes)
    assert expected in found[0], found


def test_tls_off_needs_no_ranges():
    assert problems(tls_enabled=False, pod_cidrs=[], node_cidrs=[]) == []


def test_expiry_report_and_issued_summary():
    issued = pki_inputs.issued_summary([
        {"item": {"name": "coord-host"}, "cert": "/pki/issued/coord-host/cert.pem", "days_left": 3000,
         "not_after": "2035-01-01", "alt_names": {"IP": ["192.168.1.5"], "DNS": []}},
        {"item": {"name": "skipped"}, "skipped": True}])
    assert [c["name"] for c in issued] == ["coord-host"]
    ca = {"subject": {"CN": "MindIE"}, "fingerprint_sha256": "ab" * 32, "not_after": "2046-01-01", "days_left": 200}
    text = pki_inputs.expiry_report(ca, {"days_left": 300}, issued, 60, 30)
    assert text.startswith("CA MindIE (abababababababab…) expires 2046-01-01, 200 days left (renew with pki_ca_force")
    assert "Intermediate CA: 300 days left (renewed automatically within 60 days" in text
    assert "coord-host: 3000 days left (re-issued automatically within 30 days)." in text
    assert "Intermediate" not in pki_inputs.expiry_report(dict(ca, days_left=4000), {"skipped": True}, [], 60, 30)


def test_filters_keep_one_home_for_layout_and_sources():
    spec = {"ips": ["10.0.0.1"], "subject": {"O": "Lab"}}
    docs = pki_filters.pki_component_documents(spec, "server", {"C": "CN", "O": "Huawei"})
    assert docs["gen_cert.json"] == mindie_pki.GEN_CERT_DEFAULTS
    assert docs["cert_info.json"] == {
        "subject": "mindie-server", "expired_time": 3650, "serial_number": "random", "key_size": 4096,
        "req_distinguished_name": {"C": "CN", "O": "Lab"}, "alt_names": {"IP": ["10.0.0.1"], "DNS": []}}
    # what the role writes is what the signer accepts
    assert mindie_pki.normalize_cert_info(docs["cert_info.json"])["key_size"] == 4096
    spec = {"subject": {"CN": "coord"}, "expired_time": "30", "key_size": 3072, "serial_number": 7, "dns": ["a.b"]}
    custom = pki_filters.pki_component_documents(spec, "coordinator", {})
    assert custom["cert_info.json"]["subject"] == "coord"
    assert (custom["cert_info.json"]["expired_time"], custom["cert_info.json"]["key_size"]) == (30, 3072)
    assert custom["cert_info.json"]["serial_number"] == 7
    files = pki_filters.pki_component_files(["server", "controller"])
    assert files[0] == ["server", "security/ca/ca.pem"] and len(files) == 2 * len(mindie_pki.SECURITY_LAYOUT) + 4
    assert [f[1] for f in files[:len(files) // 2]] == \
        [rel for rel, _mode in mindie_pki.SECURITY_LAYOUT.values()] + ["gen_cert.json", "cert_info.json"]
    assert pki_filters.pki_component_files(["server"], ["a", "b"]) == [["server", "a"], ["server", "b"]]
    assert pki_filters.pki_component_files([], None) == []
    paths = pki_filters.pki_module_utils_files(["kmc.py", "mindie_pki.py"])
    assert [os.path.basename(p) for p in paths] == ["kmc.py", "mindie_pki.py"] and all(map(os.path.isfile, paths))
    with pytest.raises(ValueError):
        pki_filters.pki_module_utils_files(["nope.py"])
