# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parsers for ``npu-smi`` output and the server-model verdict built on them.

Everything here is pure Python (stdlib only) so it runs on the target and in unit tests.

Layout of ``npu-smi info`` (driver ``npu_info_print.c``): a banner, two header lines, then per NPU
one row pair (A2) or two row pairs split by a ``+----+`` rule (A3, one pair per die), each NPU closed
by a ``+====+`` rule; then an optional process section with its own header.  Columns are padded to
widths that change between driver releases, so cells are found by splitting on ``|`` and
whitespace, never by position.  Anything that does not fit this shape raises ``NpuSmiParseError``:
a wrong NPU count must never be returned silently.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

MODEL_A2 = 'atlas_800i_a2'
MODEL_A3 = 'atlas_800i_a3'
MODEL_OTHER = 'other'
MODEL_UNKNOWN = 'unknown'

MODEL_NAMES = {
    MODEL_A2: 'Atlas 800I A2',
    MODEL_A3: 'Atlas 800I A3',
    MODEL_OTHER: 'other (not an Atlas 800I A2/A3)',
    MODEL_UNKNOWN: 'unknown (no usable npu-smi output)',
}

# Health words npu-smi prints; anything but OK is unhealthy (unknown words are kept raw).
HEALTH_OK = 'OK'

# HBM totals (MB per device) seen on each model: the one home of this table. A3 has a lower-memory
# variant no output was seen for, so operators add sizes per model (preflight_hbm_table_mb) over it.
DEFAULT_HBM_TABLE_MB = {
    MODEL_A2: [32768, 65536],
    MODEL_A3: [65536],
}


def hbm_table(extra=None):
    """The built-in table with the operator's sizes per model added (ValueError names a bad entry)."""
    table = dict((model, list(sizes)) for model, sizes in DEFAULT_HBM_TABLE_MB.items())
    for model, sizes in (extra or {}).items():
        try:
            added = [int(x) for x in sizes]
        except (TypeError, ValueError):
            raise ValueError('hbm_table_mb.%s is %r: give a list of HBM sizes per device in MB, e.g. [65536]'
                             % (model, sizes))
        table[model] = sorted(set(table.get(model, []) + added))
    return table


# Mind-cluster's A2 chip-name rule: 910B or A2G followed by a digit (910B1, 910B2C, 910B4-1, ...).
# The bare "910B" is also printed by first-generation 910 servers, so it is not A2 evidence.
A2_CHIP_RE = re.compile(r'^(?:910B|A2G)\d', re.IGNORECASE)
A3_CHIP_NAME = 'ascend910'

_PAIR_RE = re.compile(r'(\d+)\s*/\s*(\d+)')
_BUS_ID_RE = re.compile(r'^[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]$')
_NUMBER_RE = re.compile(r'^-?\d+(?:\.\d+)?$')
_RULE_RE = re.compile(r'^\+[-=+]+\+?$')
_BANNER_RE = re.compile(r'npu-smi\s+(\S+)\s+Version:\s*(\S+)', re.IGNORECASE)
_NO_PROC_RE = re.compile(r'^No running processes found in NPU\s+(\d+)$', re.IGNORECASE)
_KV_RE = re.compile(r'^\s*([^:]+?)\s+:\s?(.*?)\s*$')

HEADER_A = (('NPU', 'Name'), ('Health',), ('Power(W)', 'Temp(C)', 'Hugepages-Usage(page)'))
# Narrow tables (310P cards) cut the last word to fit the column.
HEADER_A_CUT = (('NPU', 'Name'), ('Health',), ('Power(W)', 'Temp(C)', 'Hugepages-Usage(page'))
HEADER_B_CHIP = (('Chip',), ('Bus-Id',), ('AICore(%)', 'Memory-Usage(MB)', 'HBM-Usage(MB)'))
HEADER_B_PHY = (('Chip', 'Phy-ID'), ('Bus-Id',), ('AICore(%)', 'Memory-Usage(MB)', 'HBM-Usage(MB)'))
# 310P and other inference cards: a Device column and, without HBM, only the DDR pair.
HEADER_B_DEVICE = (('Chip', 'Device'), ('Bus-Id',), ('AICore(%)', 'Memory-Usage(MB)'))
HEADER_B_DEVICE_HBM = (('Chip', 'Device'), ('Bus-Id',),
                       ('AICore(%)', 'Memory-Usage(MB)', 'HBM-Usage(MB)'))

_SECOND_HEADER_HINT = ('unknown second header line (expected "Chip", "Chip  Phy-ID" or '
                       '"Chip  Device" | Bus-Id | AICore(%) Memory-Usage(MB) [HBM-Usage(MB)])')

LAYOUT_CHIP = 'chip'          # A2 and older: one row pair per NPU
LAYOUT_CHIP_PHY = 'chip_phy'  # A3: Chip and Phy-ID columns, one row pair per die
LAYOUT_CHIP_DEVICE = 'chip_device'  # 310P-class cards: Chip and Device columns, never 800I A2/A3


class NpuSmiParseError(ValueError):
    """Raised when npu-smi output does not have a shape this parser knows."""

    def __init__(self, message, line_no=None, line=None):
        where = ''
        if line_no is not None:
            where = ' (line %d: %r)' % (line_no, line)
        super(NpuSmiParseError, self).__init__(message + where)
        self.line_no = line_no
        self.line = line


def _cells(line):
    """Split a ``| a | b | c |`` line into stripped cells (outer bars removed)."""
    body = line.strip()
    if body.startswith('|'):
        body = body[1:]
    if body.endswith('|'):
        body = body[:-1]
    return [c.strip() for c in body.split('|')]


def _tokens(cell):
    return tuple(cell.split())


def _optional_number(token, what, line_no, line):
    """Power/Temp/AICore may be ``-`` or ``NA`` (die 1 on A3, 310P); anything else must be numeric."""
    if token in ('-', 'NA', 'N/A'):
        return None
    if not _NUMBER_RE.match(token):
        raise NpuSmiParseError('%s %r is neither a number nor "-"/"NA"' % (what, token), line_no, line)
    value = float(token)
    return int(value) if value.is_integer() and '.' not in token else value


def _int(token, what, line_no, line):
    if not re.match(r'^\d+$', token or ''):
        raise NpuSmiParseError('%s %r is not a non-negative integer' % (what, token), line_no, line)
    return int(token)


def _pairs(cell, count, what, line_no, line):
    pairs = _PAIR_RE.findall(cell)
    if len(pairs) != count:
        raise NpuSmiParseError('expected %d used/total pair(s) in the %s cell, found %d'
                               % (count, what, len(pairs)), line_no, line)
    return [(int(u), int(t)) for u, t in pairs]


def _header_matches(cells, expected):
    return len(cells) == len(expected) and all(_tokens(c) == e for c, e in zip(cells, expected))


def _parse_row_a(cells, line_no, line):
    if len(cells) != 3:
        raise NpuSmiParseError('NPU row has %d cells, expected 3' % len(cells), line_no, line)
    first = _tokens(cells[0])
    if len(first) < 2:
        raise NpuSmiParseError('NPU row lacks "NPU Name"', line_no, line)
    npu_id = _int(first[0], 'NPU id', line_no, line)
    name = ' '.join(first[1:])
    health = _tokens(cells[1])
    if len(health) != 1:
        raise NpuSmiParseError('health cell %r is not one word' % cells[1], line_no, line)
    third = cells[2]
    pairs = _pairs(third, 1, 'Hugepages-Usage', line_no, line)
    head = _tokens(third[:_PAIR_RE.search(third).start()])
    if len(head) != 2:
        raise NpuSmiParseError('expected Power(W) and Temp(C) before the hugepages pair, found %r'
                               % (head,), line_no, line)
    return {
        'npu_id': npu_id,
        'name': name,
        'health': health[0],
        'power_w': _optional_number(head[0], 'Power(W)', line_no, line),
        'temp_c': _optional_number(head[1], 'Temp(C)', line_no, line),
        'hugepages_used': pairs[0][0],
        'hugepages_total': pairs[0][1],
    }


def _parse_row_b(cells, layout, line_no, line, memory_pairs=2):
    if len(cells) != 3:
        raise NpuSmiParseError('chip row has %d cells, expected 3' % len(cells), line_no, line)
    ids = _tokens(cells[0])
    second = {LAYOUT_CHIP_PHY: 'Phy-ID', LAYOUT_CHIP_DEVICE: 'Device'}.get(layout)
    want = 2 if second else 1
    if len(ids) != want:
        raise NpuSmiParseError('chip cell %r: expected %s'
                               % (cells[0], 'Chip and %s' % second if second else 'Chip'),
                               line_no, line)
    chip_id = _int(ids[0], 'Chip id', line_no, line)
    phy_id = _int(ids[1], 'Phy-ID', line_no, line) if layout == LAYOUT_CHIP_PHY else None
    device_id = _int(ids[1], 'Device', line_no, line) if layout == LAYOUT_CHIP_DEVICE else None
    bus_id = cells[1]
    if not _BUS_ID_RE.match(bus_id):
        raise NpuSmiParseError('Bus-Id %r is not a PCI address' % bus_id, line_no, line)
    third = cells[2]
    pairs = _pairs(third, memory_pairs, 'Memory-Usage/HBM-Usage'
                   if memory_pairs == 2 else 'Memory-Usage', line_no, line)
    head = _tokens(third[:_PAIR_RE.search(third).start()])
    if len(head) != 1:
        raise NpuSmiParseError('expected AICore(%%) before the memory pairs, found %r' % (head,),
                               line_no, line)
    row = {
        'chip_id': chip_id,
        'phy_id': phy_id,
        'bus_id': bus_id.upper(),
        'aicore_pct': _optional_number(head[0], 'AICore(%)', line_no, line),
        'ddr_used_mb': pairs[0][0],
        'ddr_total_mb': pairs[0][1],
        # a table without an HBM column (310P) has no HBM figure at all, not zero
        'hbm_used_mb': pairs[1][0] if memory_pairs == 2 else None,
        'hbm_total_mb': pairs[1][1] if memory_pairs == 2 else None,
    }
    if layout == LAYOUT_CHIP_DEVICE:
        row['device_id'] = device_id
    return row


def _parse_processes(lines, start, header_cells):
    """Parse the process section, mapping cells by the header's own names.

    Only used for reporting (which NPUs are busy); an unexpected row still fails loudly.
    """
    names = [' '.join(_tokens(c)) for c in header_cells]
    processes = []
    for line_no, line in lines[start:]:
        stripped = line.strip()
        if not stripped or _RULE_RE.match(stripped):
            continue
        if not stripped.startswith('|'):
            raise NpuSmiParseError('unexpected text in the process section', line_no, line)
        cells = _cells(stripped)
        if len(cells) == 1:
            if _NO_PROC_RE.match(cells[0]):
                continue
            raise NpuSmiParseError('unexpected full-width line in the process section', line_no, line)
        if len(cells) != len(names):
            raise NpuSmiParseError('process row has %d cells, the header has %d'
                                   % (len(cells), len(names)), line_no, line)
        row = dict(zip(names, cells))
        ids = _tokens(row.get('NPU Chip', ''))
        if len(ids) != 2:
            raise NpuSmiParseError('process row lacks "NPU Chip"', line_no, line)
        entry = {
            'npu_id': _int(ids[0], 'NPU id', line_no, line),
            'chip_id': _int(ids[1], 'Chip id', line_no, line),
            'pid': _int(row.get('Process id', ''), 'Process id', line_no, line),
            'name': row.get('Process name', ''),
        }
        mem = row.get('Process memory(MB)', '')
        entry['memory_mb'] = _int(mem, 'Process memory(MB)', line_no, line) if mem else None
        processes.append(entry)
    return processes


def parse_npu_smi_info(text):
    """Parse ``npu-smi info`` output.

    Returns a dict with ``npu_smi_version``, ``driver_version`` (from the banner), ``layout``,
    ``devices`` (one per row pair: an NPU on A2, a die on A3), ``npus`` (devices grouped by NPU id)
    and ``processes``.  Raises ``NpuSmiParseError`` on any shape it does not know.
    """
    if text is None or not text.strip():
        raise NpuSmiParseError('npu-smi printed nothing')
    lines = list(enumerate(text.splitlines(), 1))
    banner = None
    header_a = None
    layout = None
    memory_pairs = 2
    devices = []
    processes = []
    pending = None          # row A waiting for its row B
    block_rows = 0          # content lines since the last rule
    state = 'preamble'      # preamble -> header -> devices -> processes
    idx = 0
    while idx < len(lines):
        line_no, raw = lines[idx]
        idx += 1
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            continue
        if _RULE_RE.match(stripped):
            if state == 'devices':
                if pending is not None:
                    raise NpuSmiParseError('NPU row without its chip row before the rule', line_no, line)
                block_rows = 0
            elif state == 'header' and stripped.startswith('+=') and header_a is not None:
                if layout is None:
                    raise NpuSmiParseError('table header has only one line', line_no, line)
                state = 'devices'
            continue
        if not stripped.startswith('|'):
            if state == 'preamble':
                continue   # e.g. a shell warning printed before the table
            raise NpuSmiParseError('text outside the table', line_no, line)
        cells = _cells(stripped)
        if state == 'preamble':
            match = _BANNER_RE.search(stripped)
            if match and len(cells) == 1:
                banner = match.groups()
                state = 'header'
                continue
            if _header_matches(cells, HEADER_A) or _header_matches(cells, HEADER_A_CUT):
                state = 'header'
            else:
                raise NpuSmiParseError('expected the npu-smi banner or table header', line_no, line)
        if state == 'header':
            if header_a is None:
                if not (_header_matches(cells, HEADER_A) or _header_matches(cells, HEADER_A_CUT)):
                    raise NpuSmiParseError('unknown first header line (expected cells %s)'
                                           % ' | '.join(' '.join(c) for c in HEADER_A), line_no, line)
                header_a = cells
            elif layout is None:
                if _header_matches(cells, HEADER_B_CHIP):
                    layout = LAYOUT_CHIP
                elif _header_matches(cells, HEADER_B_PHY):
                    layout = LAYOUT_CHIP_PHY
                elif _header_matches(cells, HEADER_B_DEVICE_HBM):
                    layout = LAYOUT_CHIP_DEVICE
                elif _header_matches(cells, HEADER_B_DEVICE):
                    layout, memory_pairs = LAYOUT_CHIP_DEVICE, 1
                else:
                    raise NpuSmiParseError(_SECOND_HEADER_HINT, line_no, line)
            else:
                raise NpuSmiParseError('third header line', line_no, line)
            continue
        # state == 'devices'
        if any('Process id' in c for c in cells):
            if pending is not None:
                raise NpuSmiParseError('process header right after an NPU row', line_no, line)
            processes = _parse_processes(lines, idx, cells)
            break
        block_rows += 1
        if block_rows > 2:
            raise NpuSmiParseError('more than two lines in one row block', line_no, line)
        if pending is None:
            if len(cells) == 3 and _BUS_ID_RE.match(cells[1]):
                raise NpuSmiParseError('chip row without its NPU row', line_no, line)
            pending = _parse_row_a(cells, line_no, line)
        else:
            row_b = _parse_row_b(cells, layout, line_no, line, memory_pairs)
            device = dict(pending)
            device.update(row_b)
            devices.append(device)
            pending = None
    if pending is not None:
        raise NpuSmiParseError('output ends after an NPU row without its chip row')
    if layout is None:
        raise NpuSmiParseError('no npu-smi table header found')
    if not devices:
        raise NpuSmiParseError('the npu-smi table lists no NPU')
    npus = _group_devices(devices, layout)
    return {
        'npu_smi_version': banner[0] if banner else None,
        'driver_version': banner[1] if banner else None,
        'layout': layout,
        'devices': devices,
        'npus': npus,
        'processes': processes,
    }


def _group_devices(devices, layout):
    """Group devices by NPU id, refusing duplicates that would make the count wrong."""
    npus = {}
    order = []
    seen_phy = set()
    for dev in devices:
        npu_id = dev['npu_id']
        if npu_id not in npus:
            npus[npu_id] = {'npu_id': npu_id, 'name': dev['name'], 'devices': []}
            order.append(npu_id)
        elif layout == LAYOUT_CHIP:
            raise NpuSmiParseError('NPU %d listed twice in a one-row-per-NPU table' % npu_id)
        npu = npus[npu_id]
        if layout in (LAYOUT_CHIP_PHY, LAYOUT_CHIP_DEVICE):
            if any(d['chip_id'] == dev['chip_id'] for d in npu['devices']):
                raise NpuSmiParseError('NPU %d chip %d listed twice' % (npu_id, dev['chip_id']))
            ident = dev['phy_id'] if layout == LAYOUT_CHIP_PHY else dev['device_id']
            if ident in seen_phy:
                raise NpuSmiParseError('%s %d listed twice' % (
                    'Phy-ID' if layout == LAYOUT_CHIP_PHY else 'Device', ident))
            seen_phy.add(ident)
        if dev['name'] != npu['name']:
            raise NpuSmiParseError('NPU %d rows name different chips (%s, %s)'
                                   % (npu_id, npu['name'], dev['name']))
        npu['devices'].append(dev)
    result = []
    for npu_id in order:
        npu = npus[npu_id]
        words = [d['health'] for d in npu['devices']]
        bad = [w for w in words if w != HEALTH_OK]
        npu['health'] = bad[0] if bad else HEALTH_OK
        npu['device_count'] = len(npu['devices'])
        hbm = [d for d in npu['devices'] if d['hbm_total_mb'] is not None]
        npu['hbm_total_mb'] = sum(d['hbm_total_mb'] for d in hbm) if hbm else None
        npu['hbm_used_mb'] = sum(d['hbm_used_mb'] for d in hbm) if hbm else None
        result.append(npu)
    return result


def parse_key_value_blocks(text):
    """Parse ``npu-smi info -t board|memory|... -i N`` style ``Label : value`` output.

    A label seen again starts a new block (``-t memory`` on A3 prints one block per chip).
    Returns a list of dicts; raises ``NpuSmiParseError`` when no line has the shape.
    """
    blocks = [{}]
    for line_no, line in enumerate((text or '').splitlines(), 1):
        if not line.strip():
            continue
        match = _KV_RE.match(line)
        if not match:
            raise NpuSmiParseError('not a "Label : value" line', line_no, line)
        key, value = match.group(1).strip(), match.group(2)
        if key in blocks[-1]:
            blocks.append({})
        blocks[-1][key] = value
    if not blocks[0]:
        raise NpuSmiParseError('no "Label : value" lines found')
    return blocks


def parse_driver_version_info(text):
    """Read the version from ``/usr/local/Ascend/driver/version.info`` (``Version=24.1.0.3``)."""
    values = {}
    for line in (text or '').splitlines():
        if '=' in line:
            key, value = line.split('=', 1)
            values[key.strip()] = value.strip()
    for key in ('Version', 'version', 'package_version'):
        if values.get(key):
            return values[key]
    return None


def summarize(table):
    """Counts and sets derived from a parsed table (used by facts and the verdict)."""
    devices = table['devices']
    npus = table['npus']
    per_npu = sorted(set(n['device_count'] for n in npus))
    return {
        'npu_count': len(npus),
        'device_count': len(devices),
        'dies_per_npu': per_npu[0] if len(per_npu) == 1 else per_npu,
        'chip_names': sorted(set(d['name'] for d in devices)),
        'hbm_total_mb_per_device': sorted(set(d['hbm_total_mb'] for d in devices
                                              if d['hbm_total_mb'] is not None)),
        'ddr_total_mb_per_device': sorted(set(d['ddr_total_mb'] for d in devices)),
        'unhealthy': [
            {'npu_id': d['npu_id'], 'chip_id': d['chip_id'], 'phy_id': d['phy_id'], 'health': d['health']}
            for d in devices if d['health'] != HEALTH_OK
        ],
    }


def _evidence(source, value, suggests, detail):
    return {'source': source, 'value': value, 'suggests': suggests, 'detail': detail}


def model_verdict(table, dmi_class=None, dmi_product=None, hbm_table_mb=None):
    """Decide the server model from several pieces of evidence, each reported.

    ``table`` is ``parse_npu_smi_info()`` output; ``dmi_class`` is the classification of the DMI
    product name (``MODEL_A2``/``MODEL_A3``/``MODEL_OTHER``/``None`` when unknown or unreadable).
    Returns ``(model, evidence)``.

    npu-smi decides the generation (layout, chip names, DDR); DMI only splits inference (800I)
    from other servers with the same chips, because the 800I DMI strings are not published.
    """
    hbm_table_mb = hbm_table_mb or hbm_table()
    summary = summarize(table)
    evidence = []
    layout = table['layout']
    dies = summary['dies_per_npu']

    # 1. Table layout: A3 prints Chip + Phy-ID and two die rows per NPU.
    if layout == LAYOUT_CHIP_PHY and dies == 2:
        hw_layout = MODEL_A3
        detail = 'Chip/Phy-ID columns, 2 dies per NPU (%d devices): A3 layout' % summary['device_count']
    elif layout == LAYOUT_CHIP_DEVICE:
        hw_layout = MODEL_OTHER
        detail = ('Chip/Device columns (%d devices, %s per NPU): the table of 310P-class cards, '
                  'neither A2 nor A3' % (summary['device_count'], dies))
    elif layout == LAYOUT_CHIP and dies == 1:
        hw_layout = MODEL_A2
        detail = 'one row pair per NPU (%d devices): A2-style layout' % summary['device_count']
    else:
        hw_layout = MODEL_OTHER
        detail = 'layout %s with %s device(s) per NPU matches neither A2 nor A3' % (layout, dies)
    evidence.append(_evidence('layout', {'layout': layout, 'dies_per_npu': dies,
                                         'devices': summary['device_count']}, hw_layout, detail))

    # 2. Chip names: 910B<digit>/A2G<digit> on A2, Ascend910 on every A3 die; bare 910B is not proof.
    names = summary['chip_names']
    if all(A2_CHIP_RE.match(n) for n in names):
        hw_name = MODEL_A2
        detail = 'chip name(s) %s follow the 910B<n>/A2G<n> pattern of A2' % ', '.join(names)
    elif all(n.lower() == A3_CHIP_NAME for n in names):
        hw_name = MODEL_A3
        detail = 'chip name Ascend910 on every row, as on A3'
    else:
        hw_name = MODEL_OTHER
        detail = ('chip name(s) %s are neither 910B<n>/A2G<n> nor Ascend910 '
                  '(a bare 910B is printed by first-generation 910 servers too)' % ', '.join(names))
    evidence.append(_evidence('chip_name', names, hw_name, detail))

    # 3. DDR: the driver prints 0 / 0 on 910B and A3; first-generation 910 has on-board DDR.
    ddr = summary['ddr_total_mb_per_device']
    if not summary['hbm_total_mb_per_device']:
        hw_ddr = MODEL_OTHER
        detail = 'no HBM column, DDR total %s MB: an inference card (310P class), not A2/A3' % ddr
    elif ddr == [0]:
        hw_ddr = None
        detail = 'DDR total 0 on every device, as on 910B/A3'
    else:
        hw_ddr = MODEL_OTHER
        detail = 'non-zero DDR total %s MB: a first-generation 910 server, not A2/A3' % ddr
    evidence.append(_evidence('ddr', ddr, hw_ddr or 'a2_or_a3', detail))

    if hw_ddr == MODEL_OTHER or hw_layout != hw_name:
        hardware = MODEL_OTHER
    else:
        hardware = hw_layout

    # 4. HBM sizes: reported against the model table; only a weak signal (A3 has a 64G variant).
    hbm = summary['hbm_total_mb_per_device']
    if hardware in hbm_table_mb:
        allowed = sorted(hbm_table_mb[hardware])
        fits = all(h in allowed for h in hbm)
        detail = 'HBM total %s MB per device; the %s table allows %s MB' % (
            hbm, MODEL_NAMES[hardware], allowed)
        evidence.append(_evidence('hbm', hbm, hardware if fits else 'mismatch', detail))
    else:
        evidence.append(_evidence('hbm', hbm, None, 'HBM total %s MB per device' % hbm))

    # 5. DMI product name: splits 800I (inference) from 800T/other servers with the same chips.
    if dmi_product is None:
        evidence.append(_evidence('dmi_product_name', None, None,
                                  'DMI product name not available; the verdict rests on npu-smi'))
        model = hardware
    elif dmi_class is None:
        evidence.append(_evidence('dmi_product_name', dmi_product, None,
                                  'DMI product name %r matches no known pattern (800I strings are not '
                                  'published); the verdict rests on npu-smi' % dmi_product))
        model = hardware
    elif dmi_class == hardware:
        evidence.append(_evidence('dmi_product_name', dmi_product, dmi_class,
                                  'DMI product name %r matches %s' % (dmi_product, MODEL_NAMES[dmi_class])))
        model = hardware
    else:
        evidence.append(_evidence('dmi_product_name', dmi_product, dmi_class,
                                  'DMI product name %r says %s but npu-smi says %s'
                                  % (dmi_product, MODEL_NAMES.get(dmi_class, dmi_class),
                                     MODEL_NAMES[hardware])))
        model = MODEL_OTHER
    return model, evidence
