# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""user_config.json for MindIE 3.x: built from our variables, refused when wrong, and read by
mindie-motor's own configuration code (Controller, Coordinator, NodeManager, engine loader)."""
import copy
import json
import os
import sys

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import motor_config as mc

sys.path.insert(0, os.path.dirname(__file__))
import motor_env  # noqa: E402  pylint: disable=wrong-import-position

PARAMS = {"model_name": "Qwen2-7B-Instruct", "model_path": "/data/Qwen2-7B-Instruct", "p_instances": 1,
          "d_instances": 1, "npus_per_instance": 2, "hardware": "a2", "tls_enabled": True,
          "image": "mindie-motor:lab", "coordinator_workers": 2}

LOAD = r"""
import json, os, sys, dataclasses
path, hccl = sys.argv[1], sys.argv[2]
from motor.config.controller import ControllerConfig
from motor.config.coordinator import CoordinatorConfig
from motor.config.node_manager import NodeManagerConfig
from motor.engine_server.config.config_loader import DeployConfig
ctl = ControllerConfig.from_json(path)
coo = CoordinatorConfig.from_json(path)
nm = NodeManagerConfig.from_json(path, hccl)
eng = DeployConfig.load(path, os.environ["ROLE"])
par = eng.get_parallel_config(os.environ["ROLE"])
print(json.dumps({
  "controller_port": ctl.api_config.controller_api_port, "ctl_mgmt_tls": dataclasses.asdict(ctl.mgmt_tls_config),
  "fault_tolerance": ctl.fault_tolerance_config.enable_fault_tolerance,
  "deploy_mode": coo.scheduler_config.deploy_mode.value, "workers": coo.inference_workers_config.num_workers,
  "metaserver": coo.inference_workers_config.worker_metaserver_base_port,
  "infer_port": coo.http_config.coordinator_api_infer_port, "infer_tls": coo.infer_tls_config.enable_tls,
  "coo_mgmt_tls": coo.mgmt_tls_config.enable_tls, "p_num": coo.deploy_config.p_instances_num,
  "nm_role": str(nm.basic_config.role.value), "nm_ip": nm.api_config.pod_ip, "nm_tp": nm.basic_config.parallel_config.tp_size,
  "nm_ports": nm.endpoint_config.service_ports, "nm_mgmt_ports": nm.endpoint_config.mgmt_ports,
  "nm_tls": nm.mgmt_tls_config.enable_tls, "nm_model": nm.basic_config.model_name,
  "eng_model": eng.model_config.model_name, "eng_tp": par.tp_size, "eng_mgmt_tls": eng.mgmt_tls_config.enable_tls,
}))
"""

FIELDS = r"""
import dataclasses, json
from motor.config.controller import ControllerConfig
from motor.config.coordinator import CoordinatorConfig
from motor.config.node_manager import NodeManagerConfig
from motor.config.log_config import LoggingConfig
from motor.engine_server.config import config_loader as el
def tree(cls):
    out = {}
    for f in dataclasses.fields(cls):
        t = f.type if not isinstance(f.type, str) else None
        d = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        out[f.name] = tree(type(d)) if dataclasses.is_dataclass(d) else None
    return out
print(json.dumps({"motor_controller_config": tree(ControllerConfig), "motor_coordinator_config": tree(CoordinatorConfig),
                  "motor_nodemanger_config": tree(NodeManagerConfig),
                  "parallel": [f.name for f in dataclasses.fields(el.ParallelConfig)],
                  "model": [f.name for f in dataclasses.fields(el.ModelConfig)],
                  "health": [f.name for f in dataclasses.fields(el.HealthCheckConfig)]}))
"""


@pytest.fixture(scope="module")
def site():
    return motor_env.motor_site()


def test_built_config_passes_our_check_and_is_stable():
    cfg = mc.build_user_config(PARAMS)
    assert mc.check_user_config(cfg) == []
    assert mc.dumps(cfg) == mc.dumps(mc.build_user_config(dict(PARAMS)))
    tls = cfg["motor_deploy_config"]["tls_config"]
    assert tls["mgmt_tls_config"]["enable_tls"] is True
    assert tls["mgmt_tls_config"]["passwd_file"] == "/mnt/motor-tls/pass/key_pwd.txt"
    assert tls["infer_tls_config"] == {"enable_tls": False, "ca_file": "", "cert_file": "", "key_file": "",
                                       "passwd_file": "", "crl_file": ""}


@pytest.mark.parametrize("role", ["prefill", "decode"])
def test_motor_reads_our_config(site, tmp_path, role):
    path = tmp_path / "user_config.json"
    path.write_text(mc.dumps(mc.build_user_config(PARAMS)))
    hccl = tmp_path / "hccl.json"
    hccl.write_text(json.dumps(mc.rank_table("198.18.7.21", 2)))
    got = motor_env.run_motor(site, LOAD, path, hccl, ROLE=role, POD_IP="198.18.7.21", USER_CONFIG_PATH=path)
    assert got["controller_port"] == 1026 and got["fault_tolerance"] is False
    assert got["ctl_mgmt_tls"]["enable_tls"] is True
    assert got["ctl_mgmt_tls"]["cert_file"] == "/mnt/motor-tls/cert/server.pem"
    assert got["deploy_mode"] == "pd_separate" and got["workers"] == 2 and got["metaserver"] == 12000
    assert got["infer_port"] == 1025 and got["infer_tls"] is False and got["coo_mgmt_tls"] is True
    assert got["p_num"] == 1
    assert got["nm_role"] == role and got["nm_ip"] == "198.18.7.21" and got["nm_tp"] == 2
    assert got["nm_ports"] == ["10000"] and got["nm_mgmt_ports"] == ["10001"] and got["nm_tls"] is True
    assert got["nm_model"] == got["eng_model"] == "Qwen2-7B-Instruct" and got["eng_tp"] == 2
    assert got["eng_mgmt_tls"] is True


def test_our_schema_only_names_keys_motor_has(site):
    """Every key we allow exists in mindie-motor's dataclasses (a renamed key upstream fails here)."""
    fields = motor_env.run_motor(site, FIELDS)

    def walk(ours, theirs, path):
        for key, sub in ours.items():
            assert key in theirs, "%s.%s is in our schema but not in mindie-motor" % (path, key)
            if isinstance(sub, dict) and theirs[key] is not None:
                walk(sub, theirs[key], path + "." + key)
    for section in ("motor_controller_config", "motor_coordinator_config", "motor_nodemanger_config"):
        walk(mc.SCHEMA[section], fields[section], section)
    for key in ("motor_engine_prefill_config", "motor_engine_decode_config"):
        model = mc.SCHEMA[key]["model_config"]
        par_key = [k for k in model if k.endswith("parallel_config")][0]
        assert sorted(model[par_key]) == sorted(fields["parallel"])  # all required by motor's loader
        assert set(model) - {par_key} <= set(fields["model"])
        assert set(mc.SCHEMA[key]["health_check_config"]) == set(fields["health"])


def test_unknown_key_refused_naming_it():
    with pytest.raises(mc.MotorConfigError, match=r"unknown key motor_coordinator_config\.scheduler_config\.deploy_mod "):
        mc.build_user_config(dict(PARAMS, overrides={"motor_coordinator_config": {"scheduler_config": {"deploy_mod": "x"}}}))
    with pytest.raises(mc.MotorConfigError, match=r"unknown key motor_nodemanager_config"):
        mc.build_user_config(dict(PARAMS, overrides={"motor_nodemanager_config": {}}))


def test_missing_and_mistyped_keys_refused():
    cfg = mc.build_user_config(PARAMS)
    broken = copy.deepcopy(cfg)
    del broken["motor_engine_decode_config"]["model_config"]["decode_parallel_config"]["dp_rpc_port"]
    del broken["motor_deploy_config"]["tls_config"]["infer_tls_config"]["key_file"]
    problems = mc.check_user_config(broken)
    assert "missing key motor_engine_decode_config.model_config.decode_parallel_config.dp_rpc_port" in problems
    assert "missing key motor_deploy_config.tls_config.infer_tls_config.key_file" in problems
    with pytest.raises(mc.MotorConfigError, match="num_workers must be int"):
        mc.build_user_config(dict(PARAMS, overrides={"motor_coordinator_config": {"inference_workers_config": {"num_workers": True}}}))
    with pytest.raises(mc.MotorConfigError, match="deploy_mode must be one of"):
        mc.build_user_config(dict(PARAMS, deploy_mode="pd_seperate"))
    # engine arguments are vLLM's: free keys
    assert mc.build_user_config(dict(PARAMS, engine_config={"max-model-len": 4096}))


def test_generation_options():
    assert mc.check_generation_options(2, "kmc", True, False) == []
    assert mc.check_generation_options(3, "plaintext", True, False) == []
    problems = mc.check_generation_options(3, "kmc", True, False)
    assert len(problems) == 1 and "mindie_generation 3" in problems[0] and "mindie_secret_format 'kmc'" in problems[0]
    assert "crash-loops" in mc.check_generation_options(3, "plaintext", True, True)[0]
    assert "must be 2" in mc.check_generation_options("4", "plaintext", True, False)[0]
