# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real pd_deploy role in render-only mode (pd_deploy_apply=false) and load its output."""
import base64
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
COMPONENTS = ('controller', 'coordinator', 'server')
SECURITY_FILES = ('security/ca/ca.pem', 'security/ca/ca.key.pem', 'security/ca/ca_passwd.txt', 'security/ca/ca_chain.pem',
                  'tools/pmt/master/ksfa', 'tools/pmt/standby/ksfb', 'gen_cert.json', 'cert_info.json')

POD_FILES = ('mindie_gen_cert.py', 'kmc.py', 'mindie_pki.py')
# Our release-shaped fixture (an extracted MindIE 2.x release), see its README.
RELEASE = os.path.join(REPO, 'tests', 'fixtures', 'mindie2-release')

PLAYBOOK = """
- name: Render pd_deploy
  hosts: localhost
  gather_facts: false
  roles:
    - role: ascend.mindie.pd_deploy
"""


def _ansible_playbook():
    candidate = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    return candidate if os.path.exists(candidate) else shutil.which('ansible-playbook')


def _collections_path():
    for entry in sys.path:
        if os.path.isdir(os.path.join(entry, 'ansible_collections', 'ascend', 'mindie')):
            return entry
    raise RuntimeError('ascend.mindie is not importable; tests/conftest.py should have set this up')


def make_pki(root, components=COMPONENTS, files=SECURITY_FILES):
    """Throwaway stand-ins for the PKI role's files: random bytes, not keys (nothing to leak)."""
    material = {}
    for comp in components:
        for rel in files:
            path = os.path.join(root, 'components', comp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = os.urandom(24) + ('|%s|%s|' % (comp, rel)).encode()
            with open(path, 'wb') as handle:
                handle.write(data)
            material[(comp, rel)] = data
    return material


class Render(object):
    """Result of one role run: rc, output, and the objects from the report directory."""

    def __init__(self, rc, output, objects, material):
        self.rc, self.output, self.objects, self.material = rc, output, objects, material

    def get(self, kind, name):
        found = [o for o in self.objects if o['kind'] == kind and o['metadata']['name'] == name]
        assert len(found) == 1, '%s/%s: found %d' % (kind, name, len(found))
        return found[0]

    def kinds(self, kind):
        return [o for o in self.objects if o['kind'] == kind]


@pytest.fixture(scope='session')
def render(tmp_path_factory):
    cache = {}

    def _render(groups, extra, pki=True, key=None):
        if key is not None and key in cache:
            return cache[key]
        work = tmp_path_factory.mktemp('render')
        inventory = {'all': {'vars': {'ansible_connection': 'local'}, 'children': {
            name: {'hosts': {h: (hv or {}) for h, hv in hosts.items()}} for name, hosts in groups.items()}}}
        (work / 'inventory.yml').write_text(yaml.safe_dump(inventory))
        (work / 'play.yml').write_text(PLAYBOOK)
        material = make_pki(str(work / 'pki')) if pki else {}
        if pki:
            os.makedirs(str(work / 'pki' / 'pod'))
            for name in POD_FILES:  # stand-ins for the PKI role's in-pod script and libraries
                (work / 'pki' / 'pod' / name).write_text('# test fixture: %s\n' % name)
        variables = {
            'mindie_image': 'swr.example/mindie:2.3.0-800I-A2',
            'mindie_model_name': 'Qwen2-7B-Instruct',
            'pd_deploy_kubernetes_version': '1.30',
            'mindie_pki_dir': str(work / 'pki'),
            'pd_deploy_apply': False,
            'mindie_report_dir': str(work / 'reports'),
            'pd_deploy_mindie_release': RELEASE,
        }
        variables.update(extra)
        (work / 'vars.json').write_text(json.dumps(variables))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_path(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_FORCE_COLOR='0', ANSIBLE_LOCAL_TEMP=str(work / 'tmp'),
                   ANSIBLE_STDOUT_CALLBACK='default')
        proc = subprocess.run([_ansible_playbook(), '-i', str(work / 'inventory.yml'), str(work / 'play.yml'),
                               '-e', '@' + str(work / 'vars.json')],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=600, check=False)
        objects = []
        reports = work / 'reports' / 'pd_deploy'
        if reports.exists():
            for path in reports.iterdir():
                objects.extend(o for o in yaml.safe_load_all(path.read_text()) if o)
        result = Render(proc.returncode, proc.stdout, objects, material)
        if key is not None:
            cache[key] = result
        return result
    return _render


def b64(data):
    return base64.b64encode(data).decode()
