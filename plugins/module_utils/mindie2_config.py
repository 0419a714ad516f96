# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The four MindIE 2.x configuration files: merge and check against what MindIE's parsers require.

``boot.sh`` copies the ConfigMap files over the image defaults, so each file must be complete.  Each is
built as: the release's own file (the base) <- the values the role computes <- the user's overrides,
then checked against the keys and JSON types the C++ parsers (Controller, Coordinator, http_client_ctl)
and MindIE-LLM's Server require (fact sheet ``mindie-deploy-flow.md`` section 6).  Controller ports are
JSON integers, Coordinator ports digit strings: a wrong type is an error like a missing key.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import ipaddress

DEPLOY_MODES = ('pd_separate', 'pd_disaggregation', 'pd_disaggregation_single_container', 'single_node')


def merge(base, *layers):
    """Recursive dict merge; later layers win.

    Lists of objects (e.g. ``ModelConfig``) merge item by item, so setting ``modelName`` keeps the
    release's other model keys; any other list is replaced.
    """
    out = copy.deepcopy(base)
    for layer in layers:
        for key, value in (layer or {}).items():
            old = out.get(key)
            if isinstance(value, dict) and isinstance(old, dict):
                out[key] = merge(old, value)
            elif _object_list(value) and _object_list(old):
                out[key] = [merge(old[i], item) if i < len(old) else copy.deepcopy(item)
                            for i, item in enumerate(value)]
            else:
                out[key] = copy.deepcopy(value)
    return out


def _object_list(value):
    return isinstance(value, list) and value and all(isinstance(item, dict) for item in value)


class _Checker(object):
    def __init__(self, name, data):
        self.name, self.data, self.errors = name, data, []

    def err(self, path, msg):
        self.errors.append('%s: %s: %s' % (self.name, path, msg))

    def get(self, path, node=None):
        node = self.data if node is None else node
        for part in path.split('.'):
            if not isinstance(node, dict) or part not in node:
                return _MISSING
            node = node[part]
        return node

    def require(self, path, kind, lo=None, hi=None, choices=None, node=None, prefix=''):
        value = self.get(path, node)
        full = prefix + path
        if value is _MISSING:
            self.err(full, 'missing (%s required)' % _KIND_NAMES[kind])
            return None
        ok = {
            'bool': isinstance(value, bool),
            'int': isinstance(value, int) and not isinstance(value, bool),
            'number': isinstance(value, (int, float)) and not isinstance(value, bool),
            'str': isinstance(value, str),
            'digits': isinstance(value, str) and value.isdigit(),
            'obj': isinstance(value, dict),
            'list': isinstance(value, list),
        }[kind]
        if not ok:
            self.err(full, 'must be %s, found %r (%s)' % (_KIND_NAMES[kind], value, type(value).__name__))
            return None
        number = int(value) if kind == 'digits' else value
        if lo is not None and kind in ('int', 'number', 'digits') and not lo <= number <= hi:
            self.err(full, '%r is outside [%s, %s]' % (value, lo, hi))
        if kind == 'str' and lo is not None and not lo <= len(value) <= hi:
            self.err(full, 'length %d is outside [%s, %s]' % (len(value), lo, hi))
        if choices is not None and value not in choices:
            self.err(full, '%r is not one of %s' % (value, ', '.join(str(c) for c in choices)))
        return value

    def ip(self, path, node=None, prefix=''):
        value = self.require(path, 'str', node=node, prefix=prefix)
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                self.err(prefix + path, '%r is not an IP address' % value)
        return value


_MISSING = object()
_KIND_NAMES = {'bool': 'a JSON boolean', 'int': 'a JSON integer', 'number': 'a JSON number', 'str': 'a JSON string',
               'digits': 'a string of digits', 'obj': 'a JSON object', 'list': 'a JSON array'}
PORT = (1024, 65535)


def _tls_items(c, prefix, node, kmc, camel):
    for key in ('ca_cert', 'tls_cert', 'tls_key'):
        c.require(key, 'str', 1, 4096, node=node, prefix=prefix)
    c.require('tls_passwd', 'str', 1, 4096, node=node, prefix=prefix)
    c.require('tls_crl', 'str', 0, 4096, node=node, prefix=prefix)
    if kmc:
        for key in (('kmcKsfMaster', 'kmcKsfStandby') if camel else ('kmc_ksf_master', 'kmc_ksf_standby')):
            c.require(key, 'str', 1, 4096, node=node, prefix=prefix)


def check_controller(data, kmc):
    c = _Checker('ms_controller.json', data)
    for key in ('allow_all_zero_ip_listening', 'is_heterogeneous'):
        c.require(key, 'bool')
    tls = c.require('tls_config', 'obj')
    for name in ('request_coordinator', 'request_server', 'http_server', 'external_coordinator'):
        enabled = c.require('tls_config.%s_tls_enable' % name, 'bool')
        if enabled and tls is not None:
            items = c.require('tls_config.%s_tls_items' % name, 'obj')
            if items is not None:
                _tls_items(c, 'tls_config.%s_tls_items.' % name, items, kmc, camel=False)
    for section in ('process_manager', 'cluster_status'):
        if c.require(section + '.to_file', 'bool'):
            c.require(section + '.file_path', 'str', 1, 4096)
    p_rate = c.require('default_p_rate', 'int', 0, 767)
    d_rate = c.require('default_d_rate', 'int', 0, 767)
    if isinstance(p_rate, int) and isinstance(d_rate, int):
        if (p_rate == 0) != (d_rate == 0):
            c.err('default_p_rate/default_d_rate', 'both 0 (automatic) or both > 0, found %d/%d' % (p_rate, d_rate))
        if p_rate + d_rate > 768:
            c.err('default_p_rate/default_d_rate', 'sum %d exceeds 768' % (p_rate + d_rate))
    c.require('deploy_mode', 'str', choices=DEPLOY_MODES)
    for key in ('global_rank_table_file_path', 'digs_model_config_path', 'digs_machine_config_path', 'model_type',
                'scaling_rule_file_path'):
        c.require(key, 'str', 1, 4096)
    c.require('role_decision_methods', 'str', choices=('digs',))
    c.require('transfer_type', 'str', choices=('D2DTransfer',))
    c.ip('http_server.ip')
    c.require('http_server.port', 'int', *PORT)
    for key in ('mindie_server_control_port', 'mindie_server_port', 'mindie_server_metric_port',
                'mindie_ms_coordinator_port', 'node_manager_port', 'mindie_ms_coordinator_external_port',
                'controller_alarm_port', 'initial_dist_server_port'):
        c.require(key, 'int', *PORT)
    for key in ('cluster_synchronization_seconds', 'rank_table_detecting_seconds', 'disappeared_server_waiting_seconds',
                'server_online_wait_seconds', 'check_role_wait_seconds', 'http_timeout_seconds',
                'server_online_attempt_times', 'init_role_attempt_times', 'check_role_attempt_times',
                'digs_request_summary_input_length', 'digs_request_summary_output_length', 'digs_prefill_slo',
                'digs_decode_slo', 'digs_pp'):
        c.require(key, 'int', 1, 65535)
    c.require('http_retries', 'int', 0, 65535)
    c.require('digs_periodic_role_decision.auto_pd_role_switching_enable', 'bool')
    c.require('digs_periodic_role_decision.role_decision_time_period', 'int', 3600, 1296000)
    c.require('digs_periodic_role_decision.tasks_end_wait_seconds', 'int', 1, 65535)
    if 'has_flex' in data and data['has_flex'] is not False:
        c.err('has_flex', 'must be false when present, found %r' % (data['has_flex'],))
    return c.errors


COORDINATOR_TLS = ('controller_server', 'request_server', 'mindie_client', 'mindie_mangment', 'etcd_server',
                   'alarm_client', 'external', 'status')


def check_coordinator(data, kmc):
    c = _Checker('ms_coordinator.json', data)
    for key in ('predict_port', 'manage_port', 'alarm_port', 'status_port', 'external_port'):
        c.require('http_config.' + key, 'digits', *PORT)
    for key in ('predict_ip', 'manage_ip'):
        c.ip('http_config.' + key)
    for key in ('server_thread_num', 'client_thread_num'):
        c.require('http_config.' + key, 'int', 1, 10000)
    for key in ('http_timeout_seconds', 'keep_alive_seconds'):
        c.require('http_config.' + key, 'int', 0, 3600)
    for key in ('server_name', 'user_agent'):
        c.require('http_config.' + key, 'str', 1, 4096)
    c.require('http_config.allow_all_zero_ip_listening', 'bool')
    c.require('metrics_config.enable', 'bool')
    c.require('metrics_config.trigger_size', 'int', 1, 10000)
    c.require('prometheus_metrics_config.reuse_time', 'int', 1, 100)
    c.require('exception_config.max_retry', 'int', 0, 10)
    for key, hi in (('schedule_timeout', 3600), ('first_token_timeout', 3600), ('infer_timeout', 65535),
                    ('tokenizer_timeout', 3600)):
        c.require('exception_config.' + key, 'int', 0, hi)
    c.require('request_limit.single_node_max_requests', 'int', 1, 15000)
    c.require('request_limit.max_requests', 'int', 1, 90000)
    c.require('request_limit.body_limit', 'int', 1, 20)
    c.require('tls_config', 'obj')
    for name in COORDINATOR_TLS:
        if c.require('tls_config.%s_tls_enable' % name, 'bool'):
            items = c.require('tls_config.%s_tls_items' % name, 'obj')
            if items is not None:
                _tls_items(c, 'tls_config.%s_tls_items.' % name, items, kmc, camel=True)
    c.require('digs_scheduler_config.deploy_mode', 'str', choices=DEPLOY_MODES)
    sched = c.require('digs_scheduler_config.scheduler_type', 'str')
    algo = c.require('digs_scheduler_config.algorithm_type', 'str')
    pairs = (('digs_scheduler', 'load_balance'), ('default_scheduler', 'round_robin'))
    if sched is not None and algo is not None and (sched, algo) not in pairs:
        c.err('digs_scheduler_config.scheduler_type/algorithm_type',
              'use digs_scheduler + load_balance or default_scheduler + round_robin, found %s + %s' % (sched, algo))
    if algo == 'load_balance':
        for key, lo, hi in (('max_schedule_count', 1, 90000), ('reordering_type', 1, 3), ('max_res_num', 1, 10000),
                            ('select_type', 1, 2)):
            c.require('digs_scheduler_config.' + key, 'digits', lo, hi)
        rate = c.require('digs_scheduler_config.res_limit_rate', 'str')
        if rate is not None:
            try:
                if not 0 <= float(rate) <= 2000:
                    c.err('digs_scheduler_config.res_limit_rate', '%r is outside [0, 2000]' % rate)
            except ValueError:
                c.err('digs_scheduler_config.res_limit_rate', 'must be a number in a string, found %r' % rate)
        c.require('digs_scheduler_config.load_cost_values', 'str', choices=('1, 0', '1, 1'))
        c.require('digs_scheduler_config.load_cost_coefficient', 'str')
    c.require('string_token_rate', 'number', 1.0, 100.0)
    if isinstance(data.get('backup_config'), dict) and c.require('backup_config.function_enable', 'bool'):
        c.require('backup_config.database_server_dns', 'str', 1, 4096)
        c.require('backup_config.database_server_port', 'int', *PORT)
    return c.errors


def check_http_client(data, kmc):
    c = _Checker('http_client_ctl.json', data)
    c.require('tls_enable', 'bool')
    cert = c.require('cert', 'obj')
    if cert is not None:  # required even with TLS off
        for key in ('ca_cert', 'tls_cert', 'tls_key', 'tls_passwd'):
            c.require('cert.' + key, 'str', 1, 4096)
        c.require('cert.tls_crl', 'str', 0, 4096)
        if kmc:
            for key in ('kmc_ksf_master', 'kmc_ksf_standby'):
                c.require('cert.' + key, 'str', 1, 4096)
    return c.errors


def check_server(data, kmc, single=False):
    c = _Checker('config.json', data)
    sc = 'ServerConfig.'
    c.ip(sc + 'ipAddress')
    for key in ('port', 'managementPort', 'metricsPort', 'interCommPort'):
        if key == 'managementPort' and key not in (data.get('ServerConfig') or {}):
            continue  # falls back to port
        c.require(sc + key, 'int', *PORT)
    c.require(sc + 'maxLinkNum', 'int', 1, 4096)
    c.require(sc + 'httpsEnabled', 'bool')
    c.require(sc + 'inferMode', 'str', choices=('dmi',))
    c.require(sc + 'allowAllZeroIpListening', 'bool')
    c.require(sc + 'tokenTimeout', 'int', 1, 3600)
    c.require(sc + 'e2eTimeout', 'int', 1, 65535)
    dist = c.require(sc + 'distDPServerEnabled', 'bool')
    if dist and not single:
        c.err(sc + 'distDPServerEnabled', 'must be false in the multi-pod layout (the Server pod does not mount '
              'gen_config_single_container.py, which that mode runs)')
    if kmc and (data.get('ServerConfig') or {}).get('httpsEnabled'):
        for key in ('tlsPkPwd', 'kmcKsfMaster', 'kmcKsfStandby'):
            c.require(sc + key, 'str', 1, 4096)
    bc = 'BackendConfig.'
    c.require(bc + 'backendName', 'str', 1, 4096)
    c.require(bc + 'tokenizerProcessNumber', 'int', 1, 32)
    c.require(bc + 'modelInstanceNumber', 'int', 1, 10)
    ids = c.require(bc + 'npuDeviceIds', 'list')
    c.require(bc + 'ScheduleConfig', 'obj')
    mdc = bc + 'ModelDeployConfig.'
    c.require(mdc + 'maxSeqLen', 'int')
    c.require(mdc + 'maxInputTokenLen', 'int')
    models = c.require(mdc + 'ModelConfig', 'list')
    world = None
    for i, model in enumerate(models or []):
        prefix = '%sModelConfig[%d].' % (mdc, i)
        if not isinstance(model, dict):
            c.err(prefix[:-1], 'must be a JSON object')
            continue
        for key in ('cpuMemSize', 'npuMemSize'):
            c.require(key, 'int', node=model, prefix=prefix)
        for key in ('modelWeightPath', 'modelName', 'backendType'):
            c.require(key, 'str', 1, 4096, node=model, prefix=prefix)
        c.require('trustRemoteCode', 'bool', node=model, prefix=prefix)
        w = c.require('worldSize', 'int', 1, 16, node=model, prefix=prefix)
        if i == 0:
            world = w
    if models == []:
        c.err(mdc + 'ModelConfig', 'needs at least one model')
    if ids is not None and world is not None:
        for i, inner in enumerate(ids):
            if not isinstance(inner, list) or len(inner) != world:
                c.err('%snpuDeviceIds[%d]' % (bc, i), 'must list worldSize=%d device ids, found %r' % (world, inner))
    sched = bc + 'ScheduleConfig.'
    for key in ('templateName', 'templateType'):
        c.require(sched + key, 'str')
    for key in ('cacheBlockSize', 'decodePolicyType', 'decodeTimeMsPerReq', 'maxBatchSize', 'maxPreemptCount',
                'maxPrefillTokens', 'maxIterTimes', 'maxPrefillBatchSize', 'maxQueueDelayMicroseconds',
                'prefillPolicyType', 'prefillTimeMsPerReq'):
        c.require(sched + key, 'int')
    c.require(sched + 'supportSelectBatch', 'bool')
    return c.errors


def check_consistency(configs):
    """Values that must agree across files (ports the components use to reach each other, the mode)."""
    errors = []
    ctl, coord, server = configs['ms_controller.json'], configs['ms_coordinator.json'], configs['config.json']
    sc = server.get('ServerConfig') or {}
    for skey, ckey in (('port', 'mindie_server_port'), ('managementPort', 'mindie_server_control_port'),
                       ('metricsPort', 'mindie_server_metric_port')):
        if skey in sc and ckey in ctl and sc[skey] != ctl[ckey]:
            errors.append('config.json: ServerConfig.%s=%r differs from ms_controller.json %s=%r'
                          % (skey, sc[skey], ckey, ctl[ckey]))
    http = coord.get('http_config') or {}
    if 'manage_port' in http and 'mindie_ms_coordinator_port' in ctl and \
            str(http['manage_port']) != str(ctl['mindie_ms_coordinator_port']):
        errors.append('ms_coordinator.json: http_config.manage_port=%r differs from ms_controller.json '
                      'mindie_ms_coordinator_port=%r' % (http['manage_port'], ctl['mindie_ms_coordinator_port']))
    mode = (coord.get('digs_scheduler_config') or {}).get('deploy_mode')
    if mode is not None and ctl.get('deploy_mode') is not None and mode != ctl['deploy_mode']:
        errors.append('ms_coordinator.json: digs_scheduler_config.deploy_mode=%r differs from ms_controller.json '
                      'deploy_mode=%r' % (mode, ctl['deploy_mode']))
    return errors


KMC_KEYS = ('kmc_ksf_master', 'kmc_ksf_standby', 'kmcKsfMaster', 'kmcKsfStandby', 'interNodeKmcKsfMaster',
            'interNodeKmcKsfStandby')


def strip_kmc(data):
    """Without KMC (MindIE-Motor after 2025-12-27) the keystore keys are read by nothing: drop them, so no
    configuration names a file that the deployment does not provide."""
    if isinstance(data, dict):
        return dict((k, strip_kmc(v)) for k, v in data.items() if k not in KMC_KEYS)
    if isinstance(data, list):
        return [strip_kmc(v) for v in data]
    return data


def build_and_check(bases, computed, overrides, kmc, layout):
    """Return (configs, errors): base <- computed <- overrides per file, then every check."""
    configs = {}
    for name in ('config.json', 'ms_controller.json', 'ms_coordinator.json', 'http_client_ctl.json'):
        configs[name] = merge(bases.get(name) or {}, computed.get(name) or {}, overrides.get(name) or {})
        if not kmc:
            configs[name] = strip_kmc(configs[name])
    errors = []
    errors += check_server(configs['config.json'], kmc, single=layout == 'single')
    errors += check_controller(configs['ms_controller.json'], kmc)
    errors += check_coordinator(configs['ms_coordinator.json'], kmc)
    errors += check_http_client(configs['http_client_ctl.json'], kmc)
    errors += check_consistency(configs)
    return configs, errors
