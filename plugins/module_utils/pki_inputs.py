# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pki role's input rules and its reports, as plain Python (the role calls them through the
filters in plugins/filter/pki.py). Checked before anything is written, so a bad SAN never reaches
cert_info.json (the pods would only fail at start-up); the modules and the pod script check again.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import re

KNOWN_COMPONENTS = ("server", "controller", "coordinator")
SUBJECT_KEYS = ("C", "ST", "L", "O", "OU", "CN")
SECRET_FORMATS = ("kmc", "plaintext")
MIN_CA_KEY_BITS = 3072
# A SAN DNS name: dot-separated labels of letters, digits and inner hyphens, optionally a leading "*.".
DNS_NAME = re.compile(r"^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*"
                      r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.?$")


def is_ip(value):
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def san_problems(components, component_certs, static_certs):
    """SANs that are not addresses or DNS names, per component and per fixed-address certificate."""
    out = []
    for comp in components:
        spec = component_certs.get(comp)
        if not isinstance(spec, dict):
            continue
        for ip in spec.get("ips") or []:
            if not is_ip(ip):
                out.append('pki_component_certs.%s.ips has "%s", which is not an IP address: write IPv4 or IPv6 '
                           'addresses' % (comp, ip))
        for name in spec.get("dns") or []:
            if not DNS_NAME.match(str(name)):
                out.append('pki_component_certs.%s.dns has "%s", which is not a DNS name: use letters, digits and '
                           'hyphens in dot-separated labels' % (comp, name))
    for sc in static_certs:
        for ip in sc.get("ips") or []:
            if not is_ip(ip):
                out.append('pki_static_certs %s ips has "%s", which is not an IP address: write IPv4 or IPv6 '
                           'addresses' % (sc.get("name", "?"), ip))
    return out


def input_problems(password_set, secret_format, ca_subject, ca_key_size, ca_valid_days, ca_force, pki_dir,
                   tls_enabled, pod_cidrs, node_cidrs, components, component_certs, static_certs):
    """Every broken rule of the role's inputs, each naming the variable and the fix ([] = fine).
    Takes whether the CA password is set, never the password."""
    out = []
    if not password_set:
        out.append("mindie_ca_password is not set: put the CA key password in a vault file or an AWX credential")
    if secret_format not in SECRET_FORMATS:
        out.append('mindie_secret_format is "%s": use kmc (MindIE up to 2.3.0) or plaintext (releases without KMC)'
                   % secret_format)
    if not (isinstance(ca_subject, dict) and str(ca_subject.get("CN") or "")
            and not set(ca_subject) - set(SUBJECT_KEYS)):
        out.append("pki_ca_subject is %s: a mapping of C, ST, L, O, OU, CN with CN set" % _json(ca_subject))
    bits = _int(ca_key_size)
    if bits is None or bits < MIN_CA_KEY_BITS:
        out.append("pki_ca_key_size is %s: MindIE requires RSA keys of at least %d bits"
                   % (ca_key_size, MIN_CA_KEY_BITS))
    days = _int(ca_valid_days)
    if days is None or days <= 0:
        out.append("pki_ca_valid_days is %s: set a positive number of days (the document: 7300)" % ca_valid_days)
    if not isinstance(ca_force, str):
        out.append("pki_ca_force is %s: set it to the SHA-256 fingerprint of the CA to replace (openssl x509 -in "
                   "%s/ca/ca.pem -noout -fingerprint -sha256), or \"\" to keep the CA; it acts once, so leaving it "
                   "set is harmless" % (_json(ca_force), pki_dir))
    if tls_enabled and not (pod_cidrs and node_cidrs):
        out.append("mindie_pod_cidrs and mindie_node_cidrs must be set while TLS is on (mindie_tls_enabled): the "
                   "lists of the cluster's pod and node address ranges in CIDR form (e.g. [10.244.0.0/16] and "
                   "[192.168.1.0/24]); pod certificates can only name addresses in them")
    if not components or set(components) - set(KNOWN_COMPONENTS):
        out.append("pki_components is %s: choose among %s" % (_json(components), ", ".join(KNOWN_COMPONENTS)))
    out.extend("pki_component_certs has no entry for component %s: add one (subject, expired_time, serial_number, "
               "ips, dns)" % c for c in components if c not in component_certs)
    out.extend(san_problems(components, component_certs, static_certs))
    out.extend("pki_static_certs entry %s has no component: add one of %s" % (sc.get("name", "?"), ", ".join(components))
               for sc in static_certs if "component" not in sc)
    out.extend("pki_static_certs entry %s names a component not in pki_components" % sc.get("name", "?")
               for sc in static_certs if "component" in sc and sc["component"] not in components)
    return out


def issued_summary(results):
    """What the cert module reported per fixed-address certificate (loop results), for pki_material."""
    return [{"name": r["item"]["name"], "cert": r["cert"], "not_after": r.get("not_after", "(new)"),
             "days_left": r.get("days_left", -1), "alt_names": r.get("alt_names")}
            for r in results if "cert" in r]


def expiry_report(ca, intermediate, issued, intermediate_renew_days, cert_renew_days):
    """One line per CA and certificate: how long it lives and what renews it."""
    days = _int(ca.get("days_left")) or 0
    parts = ["CA %s (%s…) expires %s, %s days left%s." % (
        (ca.get("subject") or {}).get("CN", "?"), str(ca.get("fingerprint_sha256", ""))[:16], ca.get("not_after"),
        ca.get("days_left"), " (renew with pki_ca_force: <its fingerprint> before it runs out)" if days < 365 else "")]
    if intermediate and "days_left" in intermediate:
        parts.append("Intermediate CA: %s days left (renewed automatically within %s days; pods pick it up on "
                     "restart)." % (intermediate["days_left"], intermediate_renew_days))
    parts.extend("%s: %s days left (re-issued automatically within %s days)."
                 % (c["name"], c["days_left"], cert_renew_days) for c in issued)
    return " ".join(parts)


def _json(value):
    import json
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)
