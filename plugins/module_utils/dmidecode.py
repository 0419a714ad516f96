# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parse ``dmidecode -t 1`` (SMBIOS System Information) and classify the product name.

Huawei writes the marketing name into SMBIOS type 1 ``Product Name``.  The exact strings of the
Atlas 800I A2/A3 are not published, so the patterns come from a variable and the raw value is
always reported.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

# Placeholder values firmware writes when a field is not filled in.
PLACEHOLDERS = frozenset(v.lower() for v in (
    'To Be Filled By O.E.M.', 'To be filled by O.E.M.', 'Not Specified', 'Not Applicable', 'Default string',
    'System Product Name', 'None', 'N/A', '',
))

# Defaults of the role variable preflight_dmi_product_patterns: Python regular expressions,
# matched case-insensitively with re.search.  'other' names servers with the same chips that are
# not 800I (training 800T A2, first-generation 800/900 (Model 9000), SuperPoD 900/9000 A3).
DEFAULT_PRODUCT_PATTERNS = {
    'atlas_800i_a2': [r'800\s*I\s*-?\s*A2\b'],
    'atlas_800i_a3': [r'800\s*I\s*-?\s*A3\b'],
    'other': [r'800\s*T\b', r'\bModel\s+9000\b', r'\b900\s*A[23]\b', r'\b9000\s*A3\b'],
}

_HANDLE_RE = re.compile(r'^Handle\s+0x[0-9A-Fa-f]+,\s*DMI type\s+(\d+)')
_FIELD_RE = re.compile(r'^\s+([^:]+?):\s?(.*)$')

FIELDS = {
    'Manufacturer': 'manufacturer',
    'Product Name': 'product_name',
    'Version': 'version',
    'SKU Number': 'sku_number',
    'Family': 'family',
}


class DmidecodeParseError(ValueError):
    """Raised when dmidecode output has no System Information block."""


def _clean(value):
    value = (value or '').strip()
    return None if value.lower() in PLACEHOLDERS else value


def parse_system_information(text):
    """Return ``{manufacturer, product_name, version, sku_number, family}`` from ``dmidecode -t 1``.

    Serial number and UUID are left out on purpose: they are not needed and end up in reports.
    Raises ``DmidecodeParseError`` when no ``System Information`` block (DMI type 1) is found.
    """
    in_block = False
    found = False
    result = dict((v, None) for v in FIELDS.values())
    current_type = None
    for line in (text or '').splitlines():
        handle = _HANDLE_RE.match(line)
        if handle:
            current_type = int(handle.group(1))
            if found:
                break      # only the first type-1 structure counts
            continue
        if not line.strip():
            continue
        if not line[0].isspace():
            # Structure title line, e.g. "System Information".  Older dmidecode omits the Handle line
            # when called with -q, so accept the title alone too.
            in_block = line.strip() == 'System Information' and current_type in (None, 1)
            if in_block:
                if found:
                    break
                found = True
            continue
        if in_block:
            match = _FIELD_RE.match(line)
            if match and match.group(1) in FIELDS:
                result[FIELDS[match.group(1)]] = _clean(match.group(2))
    if not found:
        raise DmidecodeParseError('dmidecode output has no "System Information" (DMI type 1) block')
    return result


def parse_product_name_string(text):
    """Parse ``dmidecode -s system-product-name`` (one line, comments start with ``#``)."""
    lines = [ln.strip() for ln in (text or '').splitlines() if ln.strip() and not ln.startswith('#')]
    if len(lines) != 1:
        raise DmidecodeParseError('expected one line from "dmidecode -s system-product-name", got %d'
                                  % len(lines))
    return _clean(lines[0])


def classify_product(product_name, patterns=None):
    """Return the first model key whose pattern matches ``product_name`` (A2/A3 before other).

    ``None`` when the name is empty or no pattern matches (the caller reports the raw name).
    """
    if not product_name:
        return None
    patterns = DEFAULT_PRODUCT_PATTERNS if patterns is None else patterns
    order = [k for k in ('atlas_800i_a2', 'atlas_800i_a3') if k in patterns]
    order += sorted(k for k in patterns if k not in order)
    for key in order:
        for pattern in patterns[key] or []:
            if re.search(pattern, product_name, re.IGNORECASE):
                return key
    return None


def validate_patterns(patterns):
    """Compile every pattern; return a list of error strings (empty when all compile)."""
    errors = []
    for key, values in (patterns or {}).items():
        if not isinstance(values, (list, tuple)):
            errors.append('%s: expected a list of regular expressions, got %r' % (key, values))
            continue
        for pattern in values:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                errors.append('%s: %r is not a valid regular expression (%s)' % (key, pattern, exc))
    return errors
