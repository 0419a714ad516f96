# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rules of the MindIE PD-disaggregation deployment description, as pure Python.

Source: the MindIE-Motor "PD分离服务部署" limits (see docs/CONTRACTS.md for the variable names).
Two stages:

* ``check_description()`` needs only the inventory: layout, groups, model name, features and
  sampling defaults.  It runs once on the control node before any node is contacted.
* ``check_nodes()`` adds the NPU facts of every node (``ascend_npu`` from ``npu_facts``).

Each check returns violations: dicts with ``rule``, ``stage``, ``host`` (``None`` for the whole
cluster), ``value`` (what was found), ``fix`` and a ``message`` that says all of it in one line.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
from collections import Counter

from ansible_collections.ascend.mindie.plugins.module_utils import npu_smi

LAYOUTS = ('single', 'multi')

FEATURES = (
    'prefix_cache', 'multi_lora', 'parallel_decoding', 'splitfuse', 'function_call',
    'multi_node_inference', 'long_sequence', 'sparse_quantization', 'kv_cache_int8',
)
FEATURE_LABELS = {
    'prefix_cache': 'Prefix Cache',
    'multi_lora': 'Multi-LoRA',
    'parallel_decoding': 'parallel decoding',
    'splitfuse': 'SplitFuse',
    'function_call': 'Function Call',
    'multi_node_inference': 'multi-node inference',
    'long_sequence': 'long sequences',
    'sparse_quantization': 'sparse quantisation',
    'kv_cache_int8': 'KV-cache int8 quantisation',
}
# Refused in both layouts.
FEATURES_NEVER = ('sparse_quantization', 'kv_cache_int8')
# Refused in the multi-machine layout (single-machine allows all of these, and says so for Prefix Cache).
FEATURES_NOT_MULTI = ('multi_lora', 'parallel_decoding', 'splitfuse', 'prefix_cache', 'function_call',
                      'multi_node_inference', 'long_sequence')

# Multi-sequence post-processing and stop strings are not supported by PD disaggregation.
SAMPLING_REFUSED = ('n', 'best_of', 'use_beam_search', 'logprobs', 'top_logprobs', 'stop',
                    'include_stop_str_in_output')

# Kubernetes object names: an RFC 1123 label (namespaces, the instance label), and the RFC 1035
# label a Service name must be (a letter first).
DNS_LABEL = r'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
DNS_1035_LABEL = r'^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$'

# Defaults of preflight_model_allowed_patterns / preflight_model_denied_patterns (Python regex,
# case-insensitive, matched against the last path component of mindie_model_name).
DEFAULT_MODEL_ALLOWED = [
    r'^(meta-)?llama-?3(\.[0-3])?([-_].*)?$',      # LLaMA3 family: Llama-3, 3.1, 3.2, 3.3
    r'^qwen2((\.|_)5)?([-_].*)?$',                  # Qwen2 family: Qwen2-*, Qwen2.5-*
]
DEFAULT_MODEL_DENIED = [
    r'(^|[-_.])vl($|[-_.])',   # Qwen2-VL, Qwen2.5-VL
    r'vision',                 # Llama-3.2-*-Vision
    r'audio',                  # Qwen2-Audio
    r'omni',                   # Qwen2.5-Omni
]

MODEL_LABELS = {
    'atlas_800i_a2': 'Atlas 800I A2',
    'atlas_800i_a3': 'Atlas 800I A3',
    'other': 'other (not an Atlas 800I A2/A3)',
    'unknown': 'unknown',
}
DEFAULT_ALLOWED_MODELS = {
    'single': ['atlas_800i_a2', 'atlas_800i_a3'],
    'multi': ['atlas_800i_a2'],
}
DEFAULT_NPUS_PER_MODEL = {
    'atlas_800i_a2': 8,
    'atlas_800i_a3': 8,
}

GROUPS = ('single', 'prefill', 'decode', 'control')
GROUP_NAMES = {
    'single': 'mindie_single',
    'prefill': 'mindie_prefill',
    'decode': 'mindie_decode',
    'control': 'mindie_control',
}


def violation(rule, stage, host, what, value, fix):
    """Build one violation; the message names the node, the value found and the fix."""
    where = host if host else 'cluster'
    message = '%s: %s (found: %s). Fix: %s' % (where, what, _show(value), fix)
    return {'rule': rule, 'stage': stage, 'host': host, 'value': value, 'fix': fix, 'message': message}


def _show(value):
    if isinstance(value, (list, tuple)):
        return ', '.join(_show(v) for v in value) if value else 'none'
    if isinstance(value, dict):
        return ', '.join('%s=%s' % (k, _show(v)) for k, v in sorted(value.items())) if value else 'none'
    if value is None:
        return 'nothing'
    return str(value)


def _label(model):
    return MODEL_LABELS.get(model, str(model))


def model_basename(name):
    """``/data/Qwen2.5-14B-Instruct/`` or ``Qwen/Qwen2.5-14B-Instruct`` -> ``Qwen2.5-14B-Instruct``."""
    return (name or '').strip().rstrip('/').split('/')[-1]


def model_family_allowed(name, allowed=None, denied=None):
    """Return ``(ok, reason)`` for a model name against allowed and denied regex lists."""
    allowed = DEFAULT_MODEL_ALLOWED if allowed is None else allowed
    denied = DEFAULT_MODEL_DENIED if denied is None else denied
    base = model_basename(name)
    if not base:
        return False, 'empty model name'
    hits = [p for p in allowed if re.search(p, base, re.IGNORECASE)]
    if not hits:
        return False, '%r is not a LLaMA3 or Qwen2 family model' % base
    blocked = [p for p in denied if re.search(p, base, re.IGNORECASE)]
    if blocked:
        return False, '%r is a multimodal variant (matches %s)' % (base, ', '.join(blocked))
    return True, '%r matches %s' % (base, hits[0])


def is_dns_label(value, rfc1035=False):
    """True when ``value`` is a string Kubernetes accepts as a DNS label (RFC 1035 for Service names)."""
    return isinstance(value, str) and re.match(DNS_1035_LABEL if rfc1035 else DNS_LABEL, value) is not None


def refused_sampling(sampling):
    """Keys of the sampling defaults PD disaggregation refuses, in the order the user wrote them."""
    return [key for key in (sampling or {}) if key in SAMPLING_REFUSED]


def refused_features(features, layout):
    """Enabled features the layout refuses (the multi-machine list unless the layout is single)."""
    refused = FEATURES_NEVER + (() if layout == 'single' else FEATURES_NOT_MULTI)
    return [key for key, value in (features or {}).items() if value and key in refused]


def host_groups(groups):
    """Map each host to the list of mindie groups it is in (keys of ``groups``)."""
    where = {}
    for key in GROUPS:
        for host in groups.get(key) or []:
            where.setdefault(host, []).append(key)
    return where


def node_roles(groups):
    """``{host: prefill|decode|single|control}`` for hosts in exactly one group."""
    return dict((h, g[0]) for h, g in host_groups(groups).items() if len(g) == 1)


def npu_hosts(groups):
    """Hosts that run MindIE Server processes (need NPUs), in inventory order, no duplicates."""
    seen = []
    for key in ('single', 'prefill', 'decode'):
        for host in groups.get(key) or []:
            if host not in seen:
                seen.append(host)
    return seen


# Description variables that must have one value for the whole inventory, with the value an unset
# variable stands for.
CONSISTENT_VARS = {
    'mindie_layout': None,
    'mindie_model_name': None,
    'mindie_features': {},
    'mindie_sampling_defaults': {},
    'mindie_npus_per_instance': None,
}


def _normalise(value, default):
    if value is None:
        return default
    if isinstance(value, dict):
        return dict((k, v) for k, v in value.items() if v is not None and v is not False) if default == {} else value
    return value


def check_consistency(host_values, desc_values):
    """Every host must see the description the run uses (the first host's): no per-host overrides.

    ``host_values`` maps a variable name to ``{host: value}``; ``desc_values`` maps it to the value in use.
    """
    out = []
    for name in sorted(host_values or {}):
        default = CONSISTENT_VARS.get(name)
        used = _normalise(desc_values.get(name), default)
        for host, value in sorted((host_values[name] or {}).items()):
            if _normalise(value, default) != used:
                out.append(violation('description_consistent', 'description', host,
                                     '%s differs from the value the run uses (%s)' % (name, _show(used)),
                                     value,
                                     'define the deployment description once for the whole inventory '
                                     '(group_vars/all), not per host or group'))
    return out


def check_unassigned(cluster_hosts, groups):
    """Hosts of mindie_cluster that are in none of the role groups."""
    where = host_groups(groups)
    return [violation('groups_unassigned', 'description', host,
                      'the node is in mindie_cluster but in none of the role groups', 'no role group',
                      'add it to exactly one of %s' % ', '.join(GROUP_NAMES[g] for g in GROUPS))
            for host in cluster_hosts or [] if host not in where]


def check_description(desc, groups, config=None, host_values=None, cluster_hosts=None):
    """Validate the deployment description and inventory groups (no node facts needed).

    ``host_values`` (variable -> {host: value}) and ``cluster_hosts`` are optional: with them, per-host
    overrides of the description and nodes without a role are reported too.
    """
    config = config or {}
    stage = 'description'
    out = check_unassigned(cluster_hosts, groups)
    if host_values:
        out += check_consistency(host_values, {
            'mindie_layout': desc.get('layout'), 'mindie_model_name': desc.get('model_name'),
            'mindie_features': desc.get('features'), 'mindie_sampling_defaults': desc.get('sampling_defaults'),
            'mindie_npus_per_instance': desc.get('npus_per_instance')})
    layout = desc.get('layout')
    if layout not in LAYOUTS:
        out.append(violation('layout', stage, None, 'mindie_layout must be "single" or "multi"', layout,
                             'set mindie_layout to single (one PD pod per node) or multi (P and D nodes)'))

    # Groups: every node in exactly one group, and the groups the layout needs.
    for host, names in sorted(host_groups(groups).items()):
        if len(names) > 1:
            out.append(violation('groups_overlap', stage, host, 'the node is in more than one mindie group',
                                 [GROUP_NAMES[n] for n in names], 'keep the node in exactly one of them'))
    present = dict((k, list(groups.get(k) or [])) for k in GROUPS)
    if layout == 'multi':
        for key in ('prefill', 'decode'):
            if not present[key]:
                out.append(violation('groups_layout', stage, None,
                                     'the multi-machine layout needs nodes in %s' % GROUP_NAMES[key], [],
                                     'add the %s nodes to the %s group' % (key, GROUP_NAMES[key])))
        if present['single']:
            out.append(violation('groups_layout', stage, None,
                                 'mindie_single is for the single-machine layout, but mindie_layout is multi',
                                 present['single'],
                                 'move these nodes to mindie_prefill/mindie_decode or set mindie_layout: single'))
    elif layout == 'single':
        if not present['single']:
            out.append(violation('groups_layout', stage, None,
                                 'the single-machine layout needs nodes in mindie_single', [],
                                 'add the NPU nodes to the mindie_single group'))
        misplaced = present['prefill'] + present['decode'] + present['control']
        if misplaced:
            out.append(violation('groups_layout', stage, None,
                                 'mindie_prefill/mindie_decode/mindie_control are for the multi-machine layout, '
                                 'but mindie_layout is single', misplaced,
                                 'move these nodes to mindie_single or set mindie_layout: multi'))

    # Model family.
    ok, reason = model_family_allowed(desc.get('model_name'), config.get('model_allowed_patterns'),
                                      config.get('model_denied_patterns'))
    if not ok:
        out.append(violation('model_family', stage, None,
                             'PD disaggregation supports only LLaMA3 and Qwen2 family text models: ' + reason,
                             desc.get('model_name'),
                             'set mindie_model_name to a LLaMA3 (Llama-3/3.1/3.2/3.3, Meta-Llama-3-*) or '
                             'Qwen2 (Qwen2-*, Qwen2.5-*) text model, or extend '
                             'preflight_model_allowed_patterns if MindIE supports it'))

    # Features.
    features = desc.get('features') or {}
    unknown = sorted(k for k in features if k not in FEATURES)
    if unknown:
        out.append(violation('feature_unknown', stage, None, 'mindie_features has unknown keys', unknown,
                             'use only ' + ', '.join(FEATURES)))
    for key in FEATURES_NEVER:
        if features.get(key):
            out.append(violation('feature_forbidden', stage, None,
                                 'PD disaggregation cannot be combined with %s' % FEATURE_LABELS[key],
                                 'mindie_features.%s=true' % key, 'set mindie_features.%s: false' % key))
    if layout == 'multi':
        for key in FEATURES_NOT_MULTI:
            if features.get(key):
                out.append(violation('feature_forbidden', stage, None,
                                     'multi-machine PD disaggregation cannot be combined with %s'
                                     % FEATURE_LABELS[key], 'mindie_features.%s=true' % key,
                                     'set mindie_features.%s: false, or use mindie_layout: single%s'
                                     % (key, ' (it allows Prefix Cache)' if key == 'prefix_cache' else '')))

    # Sampling defaults: refused by key, whatever the value.
    sampling = desc.get('sampling_defaults') or {}
    refused = [k for k in SAMPLING_REFUSED if k in sampling]
    if refused:
        out.append(violation('sampling_refused', stage, None,
                             'PD disaggregation does not support multi-sequence post-processing or stop '
                             'strings in mindie_sampling_defaults',
                             dict((k, sampling[k]) for k in refused),
                             'remove %s from mindie_sampling_defaults' % ', '.join(refused)))

    # Instance counts and rates.
    if layout == 'multi':
        for key in ('p_instances', 'd_instances'):
            value = desc.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                out.append(violation('instances', stage, None, 'mindie_%s must be an integer >= 1' % key,
                                     value, 'set mindie_%s to 1 or more' % key))
    if layout == 'single':
        rates = [desc.get('p_rate', 0), desc.get('d_rate', 0)]
        bad = [r for r in rates if not isinstance(r, int) or isinstance(r, bool) or r < 0]
        if bad:
            out.append(violation('rates', stage, None, 'mindie_p_rate and mindie_d_rate must be integers >= 0',
                                 {'p_rate': rates[0], 'd_rate': rates[1]}, 'set both to 0 (automatic) or both > 0'))
        elif (rates[0] == 0) != (rates[1] == 0):
            out.append(violation('rates', stage, None,
                                 'mindie_p_rate and mindie_d_rate must be both 0 (automatic) or both positive',
                                 {'p_rate': rates[0], 'd_rate': rates[1]}, 'set both to 0 or both > 0'))
    npi = desc.get('npus_per_instance')
    if npi is not None and (not isinstance(npi, int) or isinstance(npi, bool) or npi < 1):
        out.append(violation('npus_per_instance', stage, None, 'mindie_npus_per_instance must be an integer >= 1',
                             npi, 'set it to the NPUs per Server pod (8 on A2, 16 on A3) or leave it unset'))
    return out


def _majority(values):
    """Most common value; ties go to the larger value (a lost NPU makes a node smaller)."""
    counts = Counter(values.values())
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0] if isinstance(kv[0], int) else 0))
    return best[0]


def check_nodes(desc, groups, nodes, config=None):
    """Check the NPU facts of every NPU node against the deployment description.

    ``nodes`` maps host -> ``ascend_npu`` facts (or ``{'error': text}`` when gathering failed).
    """
    config = config or {}
    stage = 'node'
    layout = desc.get('layout')
    allowed_models = config.get('allowed_models') or DEFAULT_ALLOWED_MODELS
    hbm_table = config.get('hbm_table_mb') or npu_smi.hbm_table()
    npus_per_model = config.get('npus_per_model')
    if npus_per_model is None:
        npus_per_model = DEFAULT_NPUS_PER_MODEL
    require_dmi = bool(config.get('require_dmi_match'))
    roles = node_roles(groups)
    out = []
    usable = {}

    for host in npu_hosts(groups):
        facts = nodes.get(host)
        if facts is None:
            out.append(violation('npu_facts', stage, host, 'no NPU facts were gathered for the node', None,
                                 'run the preflight on the whole inventory (no --limit) with the node reachable'))
            continue
        if facts.get('unparsed'):
            out.append(violation('npu_smi_output', stage, host, 'npu_facts could not use the npu-smi output',
                                 facts.get('error'),
                                 'check the driver with "npu-smi info" on the node; if the table is healthy, '
                                 'report its shape to the collection maintainers (the parser refuses to guess '
                                 'an NPU count)'))
            continue
        if facts.get('error') and not facts.get('present'):
            out.append(violation('npu_facts', stage, host, 'npu-smi could not be used', facts.get('error'),
                                 'install the Ascend driver (npu-smi in PATH or /usr/local/bin) and make '
                                 '"npu-smi info" succeed on the node'))
            continue
        if not facts.get('present'):
            out.append(violation('npu_facts', stage, host, 'npu-smi found no NPU', facts.get('npu_count'),
                                 'check the driver installation with "npu-smi info"'))
            continue
        usable[host] = facts
        model = facts.get('model')
        allowed = allowed_models.get(layout, [])
        if model not in allowed:
            evidence = '; '.join(e.get('detail', '') for e in facts.get('model_evidence') or [])
            out.append(violation('model_supported', stage, host,
                                 'the %s layout runs only on %s; this node is %s [%s]'
                                 % (layout, ' or '.join(_label(m) for m in allowed) or 'no model', _label(model),
                                    evidence),
                                 _label(model),
                                 'use %s nodes for this layout%s' % (
                                     ' or '.join(_label(m) for m in allowed),
                                     ' (multi-machine: A2 only), or set mindie_layout: single' if layout == 'multi'
                                     else '')))
        if require_dmi and model in allowed:
            dmi = [e for e in facts.get('model_evidence') or [] if e.get('source') == 'dmi_product_name']
            if not dmi or dmi[0].get('suggests') != model:
                out.append(violation('dmi_product', stage, host,
                                     'preflight_require_dmi_match is set but the DMI product name does not confirm '
                                     '%s' % _label(model), dmi[0].get('value') if dmi else None,
                                     'add the product name to preflight_dmi_product_patterns or unset '
                                     'preflight_require_dmi_match'))
        bad = [d for d in facts.get('devices') or [] if d.get('health') != 'OK']
        if bad:
            out.append(violation('npu_health', stage, host, 'not every NPU reports health OK',
                                 ['NPU %s%s %s' % (d.get('npu_id'), _die(d), d.get('health')) for d in bad],
                                 'check "npu-smi info -t health -i <npu>" and the device logs, recover or '
                                 'replace the NPU, and rerun'))
        sizes = hbm_table.get(model)
        if sizes:
            wrong = [d for d in facts.get('devices') or [] if d.get('hbm_total_mb') not in sizes]
            if wrong:
                out.append(violation('hbm_size', stage, host,
                                     'HBM per device does not match the %s table (%s MB)'
                                     % (_label(model), ' or '.join(str(s) for s in sizes)),
                                     sorted(set('%s MB' % d.get('hbm_total_mb') for d in wrong)),
                                     'check the NPUs ("npu-smi info -t memory -i <npu>"); if this is a known '
                                     'variant, add its size to preflight_hbm_table_mb.%s' % model))
        expected = npus_per_model.get(model)
        if expected and facts.get('npu_count') != expected:
            out.append(violation('npu_count', stage, host,
                                 'an %s has %d NPUs, npu-smi lists %s'
                                 % (_label(model), expected, facts.get('npu_count')),
                                 facts.get('npu_count'),
                                 'find the missing NPU (driver, "lspci | grep d80", dmesg) or adjust '
                                 'preflight_npus_per_model'))
        npi = desc.get('npus_per_instance')
        devices = facts.get('device_count')
        if isinstance(npi, int) and not isinstance(npi, bool) and isinstance(devices, int) and npi > devices:
            out.append(violation('npus_per_instance', stage, host,
                                 'mindie_npus_per_instance=%d is more than the node has' % npi,
                                 '%d devices' % devices, 'lower mindie_npus_per_instance to at most %d' % devices))

    # Cluster rules over the nodes that have facts.
    if len(usable) > 1:
        counts = dict((h, f.get('npu_count')) for h, f in usable.items())
        majority = _majority(counts)
        for host, count in counts.items():
            if count != majority:
                others = sorted(h for h, c in counts.items() if c == majority)
                out.append(violation('npu_count_equal', stage, host,
                                     'P and D nodes must use the same number of NPUs: this %s node has %s, '
                                     '%s have %s' % (roles.get(host, 'NPU'), count, ', '.join(others), majority),
                                     count, 'bring the node to %s NPUs or take it out of the mindie groups'
                                     % majority))
        if layout == 'multi':
            models = dict((h, f.get('model')) for h, f in usable.items())
            majority = _majority(models)
            for host, model in models.items():
                if model != majority:
                    others = sorted(h for h, m in models.items() if m == majority)
                    out.append(violation('model_same', stage, host,
                                         'in the multi-machine layout P and D nodes must be the same model: this '
                                         '%s node is %s, %s are %s' % (roles.get(host, 'NPU'), _label(model),
                                                                       ', '.join(others), _label(majority)),
                                         _label(model), 'use %s for every P and D node' % _label(majority)))
    # Capacity is only known when every NPU node could be read; the unreadable ones are reported above.
    if len(usable) == len(npu_hosts(groups)):
        out.extend(_check_fit(desc, usable, stage))
    return out


def _check_fit(desc, usable, stage):
    """The requested P/D instances must fit the NPUs the checked nodes have (before anything is changed)."""
    devices = [f.get('device_count') for f in usable.values() if isinstance(f.get('device_count'), int)]
    if not devices:
        return []
    npi = desc.get('npus_per_instance')
    if not isinstance(npi, int) or isinstance(npi, bool) or npi < 1:
        npi = min(devices)
    if npi > min(devices):
        return []  # already reported per node (rule npus_per_instance)
    if desc.get('layout') == 'multi':
        p_count, d_count = desc.get('p_instances'), desc.get('d_instances')
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (p_count, d_count)):
            return []
        # Same rule as the role's placement (server_slots): one Server pod per node (anti-affinity).
        slots = server_slots(devices, npi)
        if p_count + d_count > slots:
            return [violation('instances_fit', stage, None,
                              '%d P + %d D instances x %d NPUs need %d Server pods, but the %d P/D node(s) hold '
                              'only %d' % (p_count, d_count, npi, p_count + d_count, len(devices), slots),
                              p_count + d_count,
                              'lower mindie_p_instances/mindie_d_instances (or mindie_npus_per_instance), or add '
                              'nodes to mindie_prefill/mindie_decode')]
    elif desc.get('layout') == 'single':
        p_rate, d_rate = desc.get('p_rate'), desc.get('d_rate')
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (p_rate, d_rate)):
            try:
                single_machine_sizing(min(devices), desc.get('npus_per_instance') or 0, p_rate, d_rate)
            except ValueError as exc:
                return [violation('rates_fit', stage, None, str(exc), p_rate + d_rate,
                                  'lower mindie_p_rate/mindie_d_rate or mindie_npus_per_instance (0/0 lets MindIE choose)')]
    return []


def server_slots(node_npus, npus_per_pod):
    """How many multi-machine Server pods the nodes hold.

    The role places Server pods with a required pod anti-affinity on the hostname (one P or D instance
    per node, as MindIE's commented-out affinity intends), so a node holds one pod if it has the NPUs,
    else none. preflight (deployment_check) and the deploy stage both use this rule.
    """
    return sum(1 for count in node_npus if count >= npus_per_pod)


def single_machine_sizing(node_npus, npus_per_instance, p_rate, d_rate):
    """World size per P/D instance, instance count and pod NPUs of the single-machine layout.

    MindIE's gen_config_single_container.py splits the pod's NPUs into instances of ``worldSize``
    (``tp``) NPUs each, so the pod requests their sum and ``worldSize`` is per instance. With rates
    0/0 (automatic) and no explicit size, two instances (one P, one D) split the node.
    Raises ValueError with the reason when the request cannot work.
    """
    node_npus, npi, p_rate, d_rate = int(node_npus), int(npus_per_instance or 0), int(p_rate), int(d_rate)
    instances = p_rate + d_rate
    if npi <= 0:
        npi = node_npus // (instances or 2)
    if npi < 1:
        raise ValueError('mindie_p_rate + mindie_d_rate = %d instances do not fit %d NPUs' % (instances, node_npus))
    if not instances:
        instances = node_npus // npi
    if instances < 2:
        raise ValueError('%d NPUs per instance leave room for %d instance(s) on a %d-NPU node; PD needs at least '
                         'one P and one D' % (npi, instances, node_npus))
    if instances * npi > node_npus:
        raise ValueError('%d instances x %d NPUs (mindie_p_rate + mindie_d_rate x mindie_npus_per_instance) need %d '
                         'NPUs, more than the node\'s %d' % (instances, npi, instances * npi, node_npus))
    return {'world_size': npi, 'instances': instances, 'pod_npus': instances * npi}


def _die(device):
    if device.get('phy_id') is not None:
        return ' die %s (Phy-ID %s)' % (device.get('chip_id'), device.get('phy_id'))
    return ''


def cluster_verdict(description_violations, node_violations):
    return 'pass' if not description_violations and not node_violations else 'fail'


# Static device fields kept in reports (usage, power and temperature change from run to run and
# would make every report a change).
REPORT_DEVICE_FIELDS = ('npu_id', 'chip_id', 'phy_id', 'name', 'health', 'bus_id', 'hbm_total_mb')


def build_report(desc, groups, nodes, violations, stage):
    """Machine-readable report: the description, every node's summary and verdict, all violations.

    Deterministic for a given inventory and hardware so that writing it twice changes nothing.
    """
    roles = node_roles(groups)
    hosts = list(npu_hosts(groups))
    hosts += [h for h in groups.get('control') or [] if h not in hosts]
    report_nodes = []
    for host in hosts:
        facts = (nodes or {}).get(host) or {}
        mine = [v['message'] for v in violations if v.get('host') == host]
        dmi = facts.get('dmi') or {}
        entry = {
            'host': host,
            'role': roles.get(host, 'ambiguous'),
            'gathered': bool(facts),
            'present': facts.get('present'),
            'error': facts.get('error'),
            'model': facts.get('model'),
            'model_name': facts.get('model_name'),
            'model_evidence': facts.get('model_evidence') or [],
            'dmi_product_name': dmi.get('product_name'),
            'npu_count': facts.get('npu_count'),
            'device_count': facts.get('device_count'),
            'chip_names': facts.get('chip_names') or [],
            'hbm_total_mb_per_device': facts.get('hbm_total_mb_per_device') or [],
            'health_ok': facts.get('health_ok'),
            'unhealthy': facts.get('unhealthy') or [],
            'driver_version': facts.get('driver_version'),
            'firmware_version': facts.get('firmware_version'),
            'devices': [dict((k, d.get(k)) for k in REPORT_DEVICE_FIELDS) for d in facts.get('devices') or []],
            'violations': mine,
        }
        if roles.get(host) == 'control':
            entry['verdict'] = 'fail' if mine else 'pass'
        elif stage != 'nodes':
            entry['verdict'] = 'fail' if mine else 'not checked'
        else:
            entry['verdict'] = 'fail' if mine else 'pass'
        report_nodes.append(entry)
    return {
        'verdict': 'pass' if not violations else 'fail',
        'stage': stage,
        'deployment': {
            'layout': desc.get('layout'),
            'model_name': desc.get('model_name'),
            'features': dict((k, bool(v)) for k, v in sorted((desc.get('features') or {}).items())),
            'sampling_defaults_keys': sorted((desc.get('sampling_defaults') or {}).keys()),
            'p_instances': desc.get('p_instances'),
            'd_instances': desc.get('d_instances'),
            'p_rate': desc.get('p_rate'),
            'd_rate': desc.get('d_rate'),
            'npus_per_instance': desc.get('npus_per_instance'),
        },
        'groups': dict((GROUP_NAMES[k], list(groups.get(k) or [])) for k in GROUPS),
        'nodes': report_nodes,
        'violations': violations,
    }


def _md(text):
    """Escape a table cell."""
    return str(text).replace('|', '\\|').replace('\n', ' ')


def _gb(sizes):
    if not sizes:
        return '-'
    return ', '.join('%g GB' % (s / 1024.0) for s in sizes)


def render_markdown(report):
    """Human report: one table row per node (model, NPUs, HBM, health, verdict), then the violations."""
    dep = report['deployment']
    lines = [
        '# MindIE preflight report',
        '',
        '- Verdict: **%s**' % report['verdict'].upper(),
        '- Checked: %s' % ('deployment description only (nodes were not contacted)'
                           if report['stage'] != 'nodes' else 'deployment description and nodes'),
        '- Layout: `%s`, model: `%s`' % (dep.get('layout'), dep.get('model_name')),
        '- Features on: %s' % (', '.join('`%s`' % k for k, v in dep.get('features', {}).items() if v) or 'none'),
        '',
        '| Node | Role | Model | NPUs (devices) | HBM per device | Health | Verdict |',
        '|---|---|---|---|---|---|---|',
    ]
    for node in report['nodes']:
        if node['role'] == 'control':
            model = npus = hbm = health = '-'
        elif not node['gathered']:
            model, npus, hbm, health = 'not gathered', '-', '-', '-'
        elif not node['present']:
            model, npus, hbm, health = 'no usable npu-smi', '-', '-', '-'
        else:
            model = node['model_name'] or node['model']
            npus = '%s (%s)' % (node['npu_count'], node['device_count'])
            hbm = _gb(node['hbm_total_mb_per_device'])
            health = 'OK' if node['health_ok'] else 'NOT OK: ' + ', '.join(
                'NPU %s %s' % (u['npu_id'], u['health']) for u in node['unhealthy'])
        lines.append('| %s |' % ' | '.join(_md(c) for c in (
            node['host'], node['role'], model, npus, hbm, health, node['verdict'].upper())))
    lines.append('')
    if report['violations']:
        lines.append('## Violations')
        lines.append('')
        for item in report['violations']:
            lines.append('- `%s`: %s' % (item['rule'], item['message']))
    else:
        lines.append('No violations.')
    lines.append('')
    return '\n'.join(lines)


def object_clashes(planned, existing, instance, manager='ascend.mindie'):
    """Why applying ``planned`` would collide with objects that are not this instance's ('' = none).

    ``existing``: objects read from the cluster (the planned names in the namespace, and every
    NodePort Service). An object of the same kind and name made by MindIE's own deploy.sh or by
    another instance would be taken over (and a Deployment's immutable selector makes the apply fail);
    a NodePort already used by another Service makes the Service apply fail.
    """
    names = {(o['kind'], o['metadata'].get('namespace'), o['metadata']['name']) for o in planned}
    ports = {}
    for obj in planned:
        if obj['kind'] == 'Service':
            for port in (obj.get('spec') or {}).get('ports') or []:
                if port.get('nodePort'):
                    ports[int(port['nodePort'])] = obj['metadata']['name']
    out = []
    for obj in existing:
        meta = obj.get('metadata') or {}
        labels = meta.get('labels') or {}
        key = (obj.get('kind'), meta.get('namespace'), meta.get('name'))
        ours = labels.get('app.kubernetes.io/managed-by') == manager and \
            labels.get('app.kubernetes.io/instance') == instance
        if key in names and not ours:
            owner = labels.get('app.kubernetes.io/instance') if labels.get('app.kubernetes.io/managed-by') == manager \
                else None
            whose = 'pd_deploy instance %s' % owner if owner else 'someone else (e.g. MindIE\'s deploy.sh)'
            out.append('%s %s/%s exists and belongs to %s' % (key[0], key[1], key[2], whose))
        if obj.get('kind') == 'Service' and key not in names:
            for port in (obj.get('spec') or {}).get('ports') or []:
                if port.get('nodePort') and int(port['nodePort']) in ports:
                    out.append('NodePort %s is already used by Service %s/%s' % (port['nodePort'], key[1], key[2]))
    return '; '.join(out)
