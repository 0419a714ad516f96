# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MindIE 3.x (PyMotor, the ``mindie-motor`` wheel) deployment rules: the unified user_config.json
built from our variables, checked against the keys that release reads, and the TLS file layout its
``tls_config`` sections name.

Facts from mindie-motor 3.0.0b2 (``motor/config/*.py``, ``motor/engine_server/config/config_loader.py``):
- one file (env ``USER_CONFIG_PATH``); each component reads its own section
  (``motor_nodemanger_config`` is spelled that way) plus ``motor_deploy_config.tls_config``;
- unknown keys are silently ignored by motor (``hasattr`` filters), so a typo would be lost: we
  refuse keys that 3.0.0b2 does not read, naming them;
- the engine loader needs ``model_config.{model_name,model_path,npu_mem_utils}`` and per parallel
  config exactly ``dp_size, tp_size, pp_size, enable_ep, dp_rpc_port``;
- ``_update_engine_server_tls_config`` reads ``infer_tls_config[key_file]`` whenever mgmt TLS is on,
  so every TLS section always carries all six keys;
- the password file is read as plain text (``password_decryptor.py``): no KMC with 3.x.
Only the standard library: the tests import this without Ansible.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import json

GENERATIONS = (2, 3)
MOTOR_VERSION = "3.0.0b2"
TLS_SECTIONS = ("infer_tls_config", "mgmt_tls_config", "etcd_tls_config", "grpc_tls_config",
                "observability_tls_config")
TLS_KEYS = ("enable_tls", "ca_file", "cert_file", "key_file", "passwd_file", "crl_file")
HARDWARE = {"a2": "800I-A2", "a3": "800I-A3"}
DEPLOY_MODES = ("pd_separate", "cdp_separate", "cpcd_separate", "single_node", "pd_dual_dispatch",
                "pd_disaggregation_single_container")
SCHEDULER_TYPES = ("load_balance", "round_robin", "kv_cache_affinity")

# Where the init container writes the leaf material (memory-backed emptyDir). One directory per
# kind of file because motor's cert_util demands mode 0700 on the directory of each file.
TLS_MOUNT = "/mnt/motor-tls"
TLS_FILES = {
    "ca_file": "ca/ca.pem",
    "cert_file": "cert/server.pem",
    "key_file": "key/server.key.pem",
    "passwd_file": "pass/key_pwd.txt",
}

# mindie_gen_cert.py (the pki role's in-pod step) writes them there with --format plaintext.
GEN_CERT_OUT = {"--ca-out": TLS_FILES["ca_file"], "--cert-out": TLS_FILES["cert_file"],
                "--key-out": TLS_FILES["key_file"], "--pass-out": TLS_FILES["passwd_file"]}

ANY = object()  # a mapping whose keys are free (engine arguments passed on to vLLM)
_TLS = dict((k, bool if k == "enable_tls" else str) for k in TLS_KEYS)
_PARALLEL = {"dp_size": int, "tp_size": int, "pp_size": int, "enable_ep": bool, "dp_rpc_port": int}
_LOGGING = {"log_level": str, "log_max_line_length": int, "host_log_dir": str}


def _engine(parallel_key):
    return {"engine_type": str,
            "model_config": {"model_name": str, "model_path": str, "npu_mem_utils": (int, float),
                             parallel_key: _PARALLEL},
            "engine_config": ANY,
            "health_check_config": {"health_collector_timeout": int, "npu_usage_threshold": int,
                                    "enable_virtual_inference": bool}}


# The keys 3.0.0b2 reads (a subset of its dataclasses; tests/unit compares with the wheel).
SCHEMA = {
    "version": str,
    "motor_deploy_config": {
        "p_instances_num": int, "d_instances_num": int,
        "single_p_instance_pod_num": int, "single_d_instance_pod_num": int,
        "p_pod_npu_num": int, "d_pod_npu_num": int, "image_name": str, "job_id": str,
        "hardware_type": str, "weight_mount_path": str,
        "tls_config": dict((s, _TLS) for s in TLS_SECTIONS),
    },
    "motor_controller_config": {
        "logging_config": _LOGGING,
        "api_config": {"controller_api_port": int, "observability_api_port": int},
        "instance_config": {"instance_assemble_timeout": int, "instance_heartbeat_timeout": int,
                            "instance_expired_timeout": int},
        "fault_tolerance_config": {"enable_fault_tolerance": bool, "enable_scale_p2d": bool,
                                   "enable_lingqu_network_recover": bool},
        "observability_config": {"observability_enable": bool},
    },
    "motor_coordinator_config": {
        "logging_config": _LOGGING,
        "scheduler_config": {"deploy_mode": str, "scheduler_type": str},
        "inference_workers_config": {"num_workers": int, "worker_metaserver_base_port": int},
        "http_config": {"coordinator_api_infer_port": int, "coordinator_api_mgmt_port": int},
        "exception_config": {"max_retry": int, "retry_delay": (int, float), "first_token_timeout": int,
                             "infer_timeout": int},
        "timeout_config": {"request_timeout": int, "connection_timeout": int, "read_timeout": int,
                           "write_timeout": int, "keep_alive_timeout": int},
    },
    "motor_nodemanger_config": {
        "logging_config": _LOGGING,
        "api_config": {"node_manager_port": int},
        "endpoint_config": {"base_port": int},
        "basic_config": {"heartbeat_interval_seconds": int},
    },
    "motor_engine_prefill_config": _engine("prefill_parallel_config"),
    "motor_engine_decode_config": _engine("decode_parallel_config"),
}

# What must be present for the components to start (everything else has a default in motor).
REQUIRED = [
    ("motor_deploy_config", "p_instances_num"), ("motor_deploy_config", "d_instances_num"),
    ("motor_deploy_config", "hardware_type"), ("motor_deploy_config", "tls_config"),
    ("motor_controller_config",), ("motor_coordinator_config",), ("motor_nodemanger_config",),
] + [(s, "engine_type") for s in ("motor_engine_prefill_config", "motor_engine_decode_config")] + [
    (s, "model_config", k) for s, p in (("motor_engine_prefill_config", "prefill_parallel_config"),
                                        ("motor_engine_decode_config", "decode_parallel_config"))
    for k in ("model_name", "model_path", "npu_mem_utils", p)
] + [(s, "engine_config") for s in ("motor_engine_prefill_config", "motor_engine_decode_config")] + [
    ("motor_deploy_config", "tls_config", s, k) for s in TLS_SECTIONS for k in TLS_KEYS
] + [
    ("motor_engine_prefill_config", "model_config", "prefill_parallel_config", k) for k in _PARALLEL
] + [
    ("motor_engine_decode_config", "model_config", "decode_parallel_config", k) for k in _PARALLEL
]


class MotorConfigError(ValueError):
    pass


def _type_name(expected):
    if isinstance(expected, tuple):
        return " or ".join(t.__name__ for t in expected)
    return "mapping" if isinstance(expected, dict) else expected.__name__


def _check(value, schema, path, problems):
    if schema is ANY:
        if not isinstance(value, dict):
            problems.append("%s must be a mapping" % path)
        return
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            problems.append("%s must be a mapping" % path)
            return
        for key in sorted(value):
            sub = "%s.%s" % (path, key) if path else key
            if key not in schema:
                problems.append("unknown key %s (mindie-motor %s does not read it; allowed here: %s)"
                                % (sub, MOTOR_VERSION, ", ".join(sorted(schema))))
                continue
            _check(value[key], schema[key], sub, problems)
        return
    ok = isinstance(value, schema) and not (isinstance(value, bool) and schema in (int, (int, float)))
    if not ok:
        problems.append("%s must be %s, not %r" % (path, _type_name(schema), value))


def check_user_config(config):
    """List of problems (unknown keys, missing keys, wrong types, bad values), empty when fine."""
    problems = []
    _check(config, SCHEMA, "", problems)
    for keys in REQUIRED:
        node = config
        for i, key in enumerate(keys):
            if not isinstance(node, dict) or key not in node:
                problems.append("missing key %s" % ".".join(keys[:i + 1]))
                break
            node = node[key]
    coord = config.get("motor_coordinator_config", {}) if isinstance(config, dict) else {}
    mode = coord.get("scheduler_config", {}).get("deploy_mode", "pd_separate") if isinstance(coord, dict) else None
    if mode not in DEPLOY_MODES:
        problems.append("motor_coordinator_config.scheduler_config.deploy_mode must be one of %s, not %r"
                        % (", ".join(DEPLOY_MODES), mode))
    deploy = config.get("motor_deploy_config", {}) if isinstance(config, dict) else {}
    if isinstance(deploy, dict) and deploy.get("hardware_type", "800I-A2") not in HARDWARE.values():
        problems.append("motor_deploy_config.hardware_type must be one of %s" % ", ".join(HARDWARE.values()))
    # dedupe "missing" reports that follow from one missing parent
    seen, out = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def deep_merge(base, extra):
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def tls_section(enabled, mount=TLS_MOUNT):
    """One tls_config section in the layout the init container writes (all six keys, always)."""
    section = {"enable_tls": bool(enabled), "crl_file": ""}
    for key, rel in TLS_FILES.items():
        section[key] = "%s/%s" % (mount, rel) if enabled else ""
    return section


def check_generation_options(generation, secret_format, tls_enabled, infer_tls):
    """Problems with the combination of generation and options (refused before anything changes)."""
    problems = []
    try:
        generation = int(generation)
    except (TypeError, ValueError):
        return ["mindie_generation must be 2 or 3, not %r" % (generation,)]
    if generation not in GENERATIONS:
        return ["mindie_generation must be 2 (MindIE-Motor C++, the document's) or 3 (PyMotor), not %r" % generation]
    if generation == 3:
        if secret_format != "plaintext":
            problems.append(
                "mindie_generation 3 with mindie_secret_format %r: MindIE 3.x (mindie-motor %s, "
                "motor/common/utils/password_decryptor.py) reads the key password file as plain text, so it "
                "would use our ciphertext as the password. Set mindie_secret_format: plaintext (the default "
                "for generation 3) or target generation 2." % (secret_format, MOTOR_VERSION))
        if infer_tls and tls_enabled:
            problems.append(
                "mindie_generation 3 with pd_deploy_v3_infer_tls: true: the Coordinator's inference worker of "
                "mindie-motor %s crash-loops with TLS (inference_manager.py hands uvicorn.Config an 'ssl' "
                "argument it does not have). Keep pd_deploy_v3_infer_tls: false for this release." % MOTOR_VERSION)
    return problems


def build_user_config(params):
    """The user_config.json dict from our variables (keys as in the role's argument specs)."""
    tls = bool(params.get("tls_enabled"))
    mount = params.get("tls_mount") or TLS_MOUNT
    npus = int(params["npus_per_instance"])
    parallel = {"dp_size": 1, "tp_size": npus, "pp_size": 1, "enable_ep": False,
                "dp_rpc_port": int(params.get("dp_rpc_port", 9000))}
    model = {"model_name": params["model_name"], "model_path": params["model_path"],
             "npu_mem_utils": float(params.get("npu_mem_utils", 0.9))}
    hardware = params.get("hardware") or "a2"
    if hardware not in HARDWARE:
        raise MotorConfigError("hardware must be one of %s, not %r" % (", ".join(HARDWARE), hardware))
    logging = {"log_level": params.get("log_level", "INFO")}
    config = {
        "version": "v2.0",
        "motor_deploy_config": {
            "p_instances_num": int(params["p_instances"]), "d_instances_num": int(params["d_instances"]),
            "single_p_instance_pod_num": 1, "single_d_instance_pod_num": 1,
            "p_pod_npu_num": npus, "d_pod_npu_num": npus,
            "image_name": params.get("image", ""), "job_id": params.get("job_id", "mindie-motor"),
            "hardware_type": HARDWARE[hardware], "weight_mount_path": params.get("weight_mount_path", "/mnt/weight/"),
            "tls_config": {
                "mgmt_tls_config": tls_section(tls, mount),
                "infer_tls_config": tls_section(tls and bool(params.get("infer_tls")), mount),
                "etcd_tls_config": tls_section(False),
                "grpc_tls_config": tls_section(False),
                "observability_tls_config": tls_section(False),
            },
        },
        "motor_controller_config": {
            "logging_config": logging,
            "api_config": {"controller_api_port": int(params.get("controller_port", 1026))},
            # Fault tolerance watches the Ascend device-plugin ConfigMaps in kube-system through the
            # Kubernetes API; the pods get no ServiceAccount token, so it stays off.
            "fault_tolerance_config": {"enable_fault_tolerance": False},
        },
        "motor_coordinator_config": {
            "logging_config": logging,
            "scheduler_config": {"deploy_mode": params.get("deploy_mode", "pd_separate"),
                                 "scheduler_type": params.get("scheduler_type", "load_balance")},
            "inference_workers_config": {"num_workers": int(params.get("coordinator_workers", 1)),
                                         "worker_metaserver_base_port": int(params.get("metaserver_base_port", 12000))},
            "http_config": {"coordinator_api_infer_port": int(params.get("infer_port", 1025)),
                            "coordinator_api_mgmt_port": int(params.get("coordinator_port", 1026))},
        },
        "motor_nodemanger_config": {
            "logging_config": logging,
            "api_config": {"node_manager_port": int(params.get("node_manager_port", 1026))},
            "endpoint_config": {"base_port": int(params.get("engine_base_port", 10000))},
        },
        "motor_engine_prefill_config": {
            "engine_type": "vllm", "engine_config": dict(params.get("engine_config") or {}),
            "model_config": dict(model, prefill_parallel_config=dict(parallel))},
        "motor_engine_decode_config": {
            "engine_type": "vllm", "engine_config": dict(params.get("engine_config") or {}),
            "model_config": dict(model, decode_parallel_config=dict(parallel))},
    }
    config = deep_merge(config, params.get("overrides") or {})
    problems = check_user_config(config)
    if problems:
        raise MotorConfigError("user_config.json for mindie-motor %s refused: %s"
                               % (MOTOR_VERSION, "; ".join(problems)))
    return config


def dumps(config):
    """The file's text: stable (sorted keys) so that a second run changes nothing."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def rank_table(pod_ip, devices, server_id=None):
    """The HCCL rank table a NodeManager reads (HCCL_PATH): container_ip becomes its address, the device
    count its device_num. In a real cluster Ascend's tooling writes it; in pods without NPU tooling the
    start script writes this shape."""
    return {"version": "1.0", "status": "completed", "server_count": "1",
            "server_list": [{"server_id": server_id or pod_ip, "container_ip": pod_ip,
                             "device": [{"device_id": str(i), "device_ip": "", "rank_id": str(i)}
                                        for i in range(int(devices))]}]}
