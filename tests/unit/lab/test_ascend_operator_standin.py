# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ascend Operator stand-in fills rings-config as the real one does, and its table feeds the role's
global rank table builder."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'lab'))
import ascend_operator_standin as standin  # noqa: E402

from ansible_collections.ascend.mindie.plugins.module_utils import mindie2_ranktable  # noqa: E402

PORTS = {'prefill-1': [(i, '198.19.1.%d' % (10 + i)) for i in range(8)],
         'decode-1': [(i, '198.19.2.%d' % (10 + i)) for i in range(8)]}
DEP = {'metadata': {'name': 'mindie-server', 'labels': {'ring-controller.atlas': 'ascend-910b'}}, 'spec': {'replicas': 2}}


def pod(name, node, ip, app='mindie-server', npus=8, phase='Running', deploy_name='mindie-server'):
    return {'metadata': {'name': name, 'labels': {'app': app, 'deploy-name': deploy_name}},
            'spec': {'nodeName': node, 'containers': [{'resources': {'limits': {standin.NPU: npus}}}]},
            'status': {'phase': phase, 'podIP': ip, 'hostIP': '198.18.7.%d' % (2 if node == 'prefill-1' else 3)}}


def test_initializing_until_every_replica_runs():
    assert standin.build_hccl(DEP, [pod('s-a', 'prefill-1', '198.18.7.100')], PORTS) == {'status': 'initializing'}
    # a pod without the deploy-name label is not the Deployment's (the real component maps by that label)
    pods = [pod('s-a', 'prefill-1', '198.18.7.100'), pod('s-b', 'decode-1', '198.18.7.101', deploy_name='x')]
    assert standin.build_hccl(DEP, pods, PORTS)['status'] == 'initializing'
    pods[1] = pod('s-b', 'decode-1', '198.18.7.101', phase='Pending')
    assert standin.build_hccl(DEP, pods, PORTS)['status'] == 'initializing'


def test_completed_table_and_global_table():
    pods = [pod('s-b', 'decode-1', '198.18.7.101'), pod('s-a', 'prefill-1', '198.18.7.100'),
            pod('c', 'control-1', '198.18.7.102', app='mindie-ms-controller', deploy_name='mindie-ms-controller'),
            pod('o', 'control-1', '198.18.7.103', app='mindie-ms-coordinator', deploy_name='')]
    hccl = standin.build_hccl(DEP, pods, PORTS)
    assert hccl['status'] == 'completed' and hccl['server_count'] == '2'
    first = hccl['server_list'][0]
    assert first['container_ip'] == '198.18.7.100' and first['server_id'] == '198.18.7.2'
    assert [d['rank_id'] for d in hccl['server_list'][1]['device']] == [str(i) for i in range(8, 16)]
    assert hccl['server_list'][1]['device'][3]['device_ip'] == '198.19.2.13'
    table = mindie2_ranktable.build({'hccl.json': json.dumps(hccl)}, pods, 'mindie-server', 'mindie-ms-controller',
                                    'mindie-ms-coordinator')
    assert [g['group_id'] for g in table['server_group_list']] == ['2', '1', '0']


def test_not_enough_npu_ports_waits():
    pods = [pod('s-a', 'prefill-1', '198.18.7.100'), pod('s-b', 'prefill-1', '198.18.7.101')]
    assert standin.build_hccl(DEP, pods, PORTS) == {'status': 'initializing'}
