#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: inference_smoke
short_description: Send one OpenAI-compatible request through a MindIE entrance and time it
version_added: 0.1.0
description:
  - Sends a completion (or chat completion) request to a MindIE inference entrance (for example the
    Coordinator's NodePort on a node address), checks that an answer comes back, and reports the time
    to the first byte and the total time.
  - Retries for up to O(wait) seconds while the deployment is still registering its instances.
  - On failure, reads O(readiness_url) and puts its body into the message (MindIE 3.x answers its
    readiness endpoint with HTTP 200 and a body with C(ready) false while not ready, so the body tells why).
  - The answer names the Prefill and Decode instances when the engine reports them (the lab's engine
    does; O(expect_trace) then requires it).
  - With O(generation=3) and O(namespace), an answer counts only while a Prefill and a Decode pod of the
    deployment (label C(ascend.mindie/role)) are Ready, because MindIE 3.x's Coordinator answers from
    Prefill alone when no Decode instance is registered.
  - Sends a request only; it changes nothing (in check mode it still sends it, being read-only).
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  url:
    description:
      - Base URL of the entrance, C(http://ADDRESS:PORT) or C(https://ADDRESS:PORT).
      - Or give O(address) and O(port) and let the module choose the scheme from O(generation),
        O(tls_enabled) and O(infer_tls).
    type: str
  address:
    description: Node address (the NodePort answers on every node).
    type: str
  port:
    description: NodePort of the inference Service.
    type: int
    default: 31015
  generation:
    description: Targeted MindIE generation; 3.x (mindie-motor 3.0.0b2) serves inference without TLS.
    type: int
    default: 2
    choices: [2, 3]
  tls_enabled:
    description: TLS between the components (mindie_tls_enabled).
    type: bool
    default: true
  infer_tls:
    description: 3.x only, inference TLS (pd_deploy_v3_infer_tls).
    type: bool
    default: false
  namespace:
    description: On failure, list the pods of this namespace that are not Ready (needs the kubernetes Python client).
    type: str
  instance:
    description: With O(namespace), only the pods labelled C(app.kubernetes.io/instance) = this.
    type: str
  kubeconfig:
    description:
      - Kubeconfig for the pod listing. Empty = C(K8S_AUTH_KUBECONFIG), else the C(K8S_AUTH_HOST),
        C(K8S_AUTH_API_KEY), C(K8S_AUTH_SSL_CA_CERT) and C(K8S_AUTH_VERIFY_SSL) environment (as kubernetes.core
        reads it; an AWX Kubernetes credential sets it), else the default kubeconfig.
    type: path
  context:
    description: Kubeconfig context for the pod listing.
    type: str
  path:
    description: C(/v1/completions) or C(/v1/chat/completions).
    type: str
    default: /v1/completions
    choices: [/v1/completions, /v1/chat/completions]
  model:
    description: Model name sent in the request.
    type: str
    default: ''
  prompt:
    description: Prompt (or the user message for chat).
    type: str
    default: Say hello from MindIE.
  max_tokens:
    description: Tokens to generate.
    type: int
    default: 16
  stream:
    description: Ask for a server-sent-events stream (the time to first byte is then the first chunk).
    type: bool
    default: true
  ca_file:
    description: CA certificate to verify an C(https) entrance (our PKI's CA); empty = system trust.
    type: path
  timeout:
    description: Seconds for one request.
    type: int
    default: 60
  wait:
    description: Seconds to keep retrying until the entrance answers.
    type: int
    default: 120
  readiness_url:
    description: Readiness endpoint whose status and body go into the failure message.
    type: str
  expect_trace:
    description: Require the answer to name the Prefill and Decode instances that served it.
    type: bool
    default: false
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Send a completion through the Coordinator's NodePort
  ascend.mindie.inference_smoke:
    url: http://198.18.3.11:31015
    model: Qwen2-7B-Instruct
  register: smoke
'''

RETURN = r'''
answer:
  description: The generated text.
  returned: success
  type: str
ttfb_ms:
  description: Milliseconds to the first byte of the answer.
  returned: success
  type: float
total_ms:
  description: Milliseconds to the end of the answer.
  returned: success
  type: float
prefill:
  description: The Prefill instance named by the answer, if any.
  returned: success
  type: str
decode:
  description: The Decode instance named by the answer, if any.
  returned: success
  type: str
attempts:
  description: Requests sent until the answer (or the last failure).
  returned: always
  type: int
readiness:
  description: Status and body of O(readiness_url) when the request failed.
  returned: failure
  type: dict
pods:
  description: The pods that are not Ready, with their states (O(namespace) given, on failure).
  returned: failure
  type: list
  elements: str
url:
  description: The entrance used.
  returned: always
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils import inference_smoke as smoke
from ansible_collections.ascend.mindie.plugins.module_utils import k8s_status


def core_api(params, env=None):
    """A CoreV1Api from the kubeconfig, or from the K8S_AUTH_* environment kubernetes.core reads (what an
    AWX Kubernetes bearer-token credential injects) when no kubeconfig is given."""
    from kubernetes import client, config
    env = os.environ if env is None else env
    kubeconfig = params.get('kubeconfig') or env.get('K8S_AUTH_KUBECONFIG')
    if not kubeconfig and env.get('K8S_AUTH_HOST'):
        cfg = client.Configuration()
        cfg.host = env['K8S_AUTH_HOST']
        if env.get('K8S_AUTH_API_KEY'):
            cfg.api_key = {'authorization': 'Bearer ' + env['K8S_AUTH_API_KEY']}
        cfg.verify_ssl = env.get('K8S_AUTH_VERIFY_SSL', 'true').lower() not in ('false', 'no', '0', 'off')
        if env.get('K8S_AUTH_SSL_CA_CERT'):
            cfg.ssl_ca_cert = env['K8S_AUTH_SSL_CA_CERT']
        return client.CoreV1Api(client.ApiClient(cfg))
    config.load_kube_config(config_file=kubeconfig, context=params.get('context') or env.get('K8S_AUTH_CONTEXT'))
    return client.CoreV1Api()


def list_pods(module, events=False):
    """The deployment's pods (and the namespace's events) as dicts."""
    p = module.params
    api = core_api(p)
    selector = "app.kubernetes.io/instance=%s" % p['instance'] if p['instance'] else None
    to_dict = api.api_client.sanitize_for_serialization
    pods = [to_dict(x) for x in api.list_namespaced_pod(p['namespace'], label_selector=selector).items]
    found = []
    if events:
        try:
            found = [to_dict(e) for e in api.list_namespaced_event(p['namespace']).items]
        except Exception:  # e.g. a least-privilege deployer without events: the pod states alone
            found = []
    return pods, found


def not_ready_pods(module):
    """The deployment's pods that are not Ready, and why (probe-failure events included)."""
    try:
        pods, events = list_pods(module, events=True)
        return k8s_status.pods_not_ready(pods, events) or ["all %d pod(s) Ready" % len(pods)]
    except Exception as exc:  # the answer's failure is the point; the listing is extra detail
        return ["cannot list the pods of namespace %s: %s" % (module.params['namespace'], exc)]


def pd_check(module):
    """MindIE 3.x: an answer counts only while Prefill and Decode both have a Ready pod (its Coordinator
    answers from Prefill alone otherwise). No listing possible: the answer alone decides, with a warning."""
    try:
        pods = list_pods(module)[0]
    except Exception as exc:
        module.warn("cannot list the pods of namespace %s to check Prefill and Decode: %s" % (module.params['namespace'], exc))
        return []
    return smoke.pd_roles_missing(pods)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str'),
            address=dict(type='str'),
            port=dict(type='int', default=31015),
            generation=dict(type='int', default=2, choices=[2, 3]),
            tls_enabled=dict(type='bool', default=True),
            infer_tls=dict(type='bool', default=False),
            namespace=dict(type='str'),
            instance=dict(type='str'),
            kubeconfig=dict(type='path'),
            context=dict(type='str'),
            path=dict(type='str', default='/v1/completions', choices=['/v1/completions', '/v1/chat/completions']),
            model=dict(type='str', default=''),
            prompt=dict(type='str', default='Say hello from MindIE.'),
            max_tokens=dict(type='int', default=16, no_log=False),
            stream=dict(type='bool', default=True),
            ca_file=dict(type='path'),
            timeout=dict(type='int', default=60),
            wait=dict(type='int', default=120),
            readiness_url=dict(type='str'),
            expect_trace=dict(type='bool', default=False),
        ),
        required_one_of=[('url', 'address')],
        mutually_exclusive=[('url', 'address')],
        supports_check_mode=True,
    )
    p = module.params
    url = p['url'] or "%s://%s:%d" % (smoke.entrance_scheme(p['generation'], p['tls_enabled'], p['infer_tls']),
                                      p['address'], p['port'])
    if not url.startswith(('http://', 'https://')):
        module.fail_json(msg="url must start with http:// or https://, not %r" % url)
    # 3.x deployed by pd_deploy: the pods' role labels tell whether Decode took part
    extra = (lambda: pd_check(module)) if p['generation'] == 3 and p['namespace'] else None
    result, problems, attempts, ready = smoke.attempt(
        url, p['path'], p['model'], p['prompt'], p['max_tokens'], p['stream'], p['ca_file'], p['timeout'],
        p['expect_trace'], p['wait'], readiness_url=p['readiness_url'], extra_check=extra)
    if problems:
        if extra is not None:  # whatever went wrong: say whether Prefill or Decode is missing too
            problems += [x for x in extra() if x not in problems]
        msg = "No answer from %s%s%s after %d attempt(s) in %ss: %s." % (
            url, p['path'], " through Prefill and Decode" if extra else "", attempts, p['wait'], "; ".join(problems))
        if p['readiness_url']:
            msg += " Readiness %s: %s %s" % (p['readiness_url'], ready[0], ready[1])
        pods = not_ready_pods(module) if p['namespace'] else []
        if pods:
            msg += (" Pods: %s." if pods[0].startswith(("all ", "cannot ")) else " Pods not ready: %s.") % "; ".join(pods)
        module.fail_json(msg=msg, attempts=attempts, url=url, pods=pods,
                         readiness={'status': ready[0], 'body': ready[1]})
    module.exit_json(changed=False, url=url, answer=result['text'], ttfb_ms=result['ttfb_ms'], total_ms=result['total_ms'],
                     prefill=result['prefill'], decode=result['decode'], attempts=attempts, stream=p['stream'],
                     chunks=result['chunks'])


if __name__ == '__main__':
    main()
