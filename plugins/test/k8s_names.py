# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes name tests (``x is ascend.mindie.dns_label``); the patterns live in deployment_rules."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.ascend.mindie.plugins.module_utils import deployment_rules


def dns_label(value):
    """An RFC 1123 label: namespaces, label values such as the instance."""
    return deployment_rules.is_dns_label(value)


def dns_1035_label(value):
    """An RFC 1035 label (a letter first): Service names."""
    return deployment_rules.is_dns_label(value, rfc1035=True)


class TestModule(object):
    def tests(self):
        return {'dns_label': dns_label, 'dns_1035_label': dns_1035_label}
