# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the pki role: its input rules, reports and the security layout, kept in module_utils."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki, pki_inputs

_MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")


def pki_input_problems(components, password_set, secret_format, ca_subject, ca_key_size, ca_valid_days, ca_force,
                       pki_dir, tls_enabled, pod_cidrs, node_cidrs, component_certs, static_certs):
    return pki_inputs.input_problems(bool(password_set), secret_format, ca_subject, ca_key_size, ca_valid_days,
                                     ca_force, pki_dir, bool(tls_enabled), list(pod_cidrs or []),
                                     list(node_cidrs or []), list(components or []), dict(component_certs or {}),
                                     list(static_certs or []))


def pki_issued_summary(results):
    return pki_inputs.issued_summary(results or [])


def pki_expiry_report(ca, intermediate, issued, intermediate_renew_days, cert_renew_days):
    return pki_inputs.expiry_report(ca, intermediate or {}, issued or [], intermediate_renew_days, cert_renew_days)


def pki_component_documents(spec, component, subject_defaults):
    """A component's pki_component_certs entry -> its gen_cert.json and cert_info.json (mindie_pki)."""
    return mindie_pki.component_documents(component, spec, subject_defaults)


def pki_component_files(components, files=None):
    """[component, file] for every file of each component's project directory (mindie_pki.component_files;
    ``files``, when given, replaces that list)."""
    return [[comp, rel] for comp in components or [] for rel in (files or mindie_pki.component_files())]


def pki_module_utils_files(names):
    """Paths of this collection's module_utils files on the controller (the in-pod script ships them)."""
    out = []
    for name in names:
        path = os.path.join(_MODULE_UTILS, os.path.basename(name))
        if not os.path.isfile(path):
            raise ValueError("module_utils file %s is not part of the collection" % name)
        out.append(path)
    return out


class FilterModule(object):
    def filters(self):
        return {
            "pki_input_problems": pki_input_problems,
            "pki_issued_summary": pki_issued_summary,
            "pki_expiry_report": pki_expiry_report,
            "pki_component_documents": pki_component_documents,
            "pki_component_files": pki_component_files,
            "pki_module_utils_files": pki_module_utils_files,
        }
