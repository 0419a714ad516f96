# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the pods' start script (pd_start.sh as the real role renders it) the way a container runs it.

test_render.py reads the script only as text. Here the rendered container command runs as a process,
with the rendered environment, in a private mount namespace (unshare) where tmpfs and bind mounts
recreate the container paths of the rendered pod: the scripts ConfigMap at /opt/ascend-mindie (with
the real in-pod certificate script), the Secret volumes (real CA material made with the collection's
PKI code, laid out by the rendered items), the memory emptyDirs, MindIE's install directory and a
stand-in boot.sh that records how it was started. The mounts exist only inside the namespace;
everything written lands in the test's temporary directory.
"""
import json
import os
import re
import shlex
import shutil
import stat
import subprocess

import pytest
from cryptography import x509

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.tests.unit import pod_security

from test_render import MULTI  # the render tests' layouts: the same render keys share one role run

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
# The pki role copies these into <mindie_pki_dir>/pod/; the render fixture ships stand-ins instead.
POD_SOURCES = {'mindie_gen_cert.py': os.path.join(REPO, 'roles', 'pki', 'files', 'mindie_gen_cert.py'),
               'kmc.py': os.path.join(REPO, 'plugins', 'module_utils', 'kmc.py'),
               'mindie_pki.py': os.path.join(REPO, 'plugins', 'module_utils', 'mindie_pki.py')}
# MindIE 2.x's CertTools (in the image under MIES_INSTALL_PATH): the test stand-in that checks how it is called
CERTTOOLS = pod_security.CERTTOOLS
IMAGE_CERTTOOLS = 'scripts/config_mindie_server_tls_cert.py'  # pd_deploy_kmc_tool's default
COMPONENTS = ('controller', 'coordinator', 'server')
CA_PASSWORD = 'Ca#Passw0rd-start'
POD_IP, HOST_IP = '198.18.0.21', '198.18.0.1'
FIELDS = {'status.podIP': POD_IP, 'status.hostIP': HOST_IP}
EXTRA_ARGS = ['two words', '--glob=*', '']  # must reach boot.sh unchanged
# Never mount over these (or over anything holding the test's files, bash or the pod's python).
SYSTEM_DIRS = ('/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib64', '/proc', '/root', '/sbin', '/sys',
               '/tmp', '/usr', '/var')


# ----------------------------------------------------------------------------- renders
@pytest.fixture(scope='module')
def multi(render):
    r = render(MULTI, {'mindie_layout': 'multi', 'pd_deploy_hardware': 'a2', 'mindie_p_instances': 3,
                       'mindie_d_instances': 1, 'pd_deploy_coordinator_max_requests': 20000}, key='multi')
    assert r.rc == 0, r.output[-3000:]
    return r


@pytest.fixture(scope='module')
def single_plaintext(render):
    r = render({'mindie_single': {'n': {}}},
               {'mindie_layout': 'single', 'pd_deploy_hardware': 'a3', 'mindie_secret_format': 'plaintext'}, key='a3')
    assert r.rc == 0, r.output[-3000:]
    return r


@pytest.fixture(scope='module')
def tls_off(render):
    r = render(MULTI, {'mindie_layout': 'multi', 'pd_deploy_hardware': 'a2', 'mindie_tls_enabled': False},
               pki=False, key='tls-off')
    assert r.rc == 0, r.output[-3000:]
    return r


# ----------------------------------------------------------------------------- host set-up
@pytest.fixture(scope='module')
def host(tmp_path_factory):
    """Skip unless this process may create mount namespaces; the pod's python and what must stay visible."""
    if os.geteuid() != 0:
        pytest.skip('running pd_start.sh like a pod needs root (tmpfs and bind mounts in a private mount namespace)')
    unshare = shutil.which('unshare')
    if not unshare:
        pytest.skip('unshare (util-linux) is not installed: cannot give pd_start.sh its container paths')
    scratch = tmp_path_factory.mktemp('unshare-probe')
    probe = subprocess.run([unshare, '--mount', '--propagation', 'private', 'mount', '-t', 'tmpfs', 'probe', str(scratch)],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip('unshare --mount cannot mount here: %s' % probe.stderr.strip())
    python, crypto_dir = pod_security.pod_python()
    keep = [str(tmp_path_factory.getbasetemp()), os.path.realpath(python), crypto_dir, os.path.realpath('/bin/bash')]
    if not shutil.which('setpriv'):
        pytest.skip('setpriv (util-linux) is not installed: cannot drop capabilities as the rendered securityContext does')
    keep += [os.path.realpath(shutil.which(tool)) for tool in ('mount', 'mkdir', 'cp', 'find', 'sort', 'grep', 'setpriv')]
    return {'unshare': unshare, 'python': python, 'keep': keep}


@pytest.fixture(scope='module')
def material(tmp_path_factory):
    """One CA (as the pki role builds it) and a bundle per component that names its component."""
    root = tmp_path_factory.mktemp('pki')
    ca, ca_pem, ca_key_pem = pod_security.make_ca(CA_PASSWORD)
    store = kmc.KeyStore.new()
    for comp in COMPONENTS:
        pod_security.write_bundle(root / comp, ca_pem, ca_key_pem, CA_PASSWORD, store, 'mindie-' + comp)
    return {'root': root, 'ca': ca, 'ca_pem': ca_pem}


# ----------------------------------------------------------------------------- the pod
def _expand(value, known):
    """Kubernetes' $(VAR) references to variables defined before."""
    return re.sub(r'\$\(([A-Za-z_][A-Za-z0-9_]*)\)', lambda m: known.get(m.group(1), m.group(0)), value)


def _container_env(r, container):
    env = {}
    for source in container.get('envFrom', []):
        env.update(r.get('ConfigMap', source['configMapRef']['name'])['data'])
    for entry in container['env']:
        if 'valueFrom' in entry:
            env[entry['name']] = FIELDS[entry['valueFrom']['fieldRef']['fieldPath']]
        else:
            env[entry['name']] = _expand(entry['value'], env)
    return env


def _under(path, top):
    return path == top or path.startswith(top.rstrip('/') + '/')


class Pod(object):
    """One container start: exit code, output, and the files it left, by their container paths."""

    def __init__(self, proc, env, container, args, mapping, memory, out):
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.env, self.container, self.args, self.out = env, container, args, out
        self.mapping = sorted(mapping, key=lambda m: -len(m[0]))
        self.memory = memory  # mount paths of the memory emptyDirs

    def host(self, path):
        for top, source in self.mapping:
            if _under(path, top):
                return os.path.join(source, os.path.relpath(path, top))
        raise AssertionError('%s is on no volume this test kept' % path)

    def read(self, path):
        with open(self.host(path), 'rb') as handle:
            return handle.read()

    def in_memory(self, path):
        return any(_under(path, top) for top in self.memory)

    @property
    def booted(self):
        return os.path.exists(os.path.join(self.out, 'boot_args'))

    def boot(self):
        """The arguments boot.sh got, whether it replaced the start script (exec), the files it found."""
        with open(os.path.join(self.out, 'boot_args'), 'rb') as handle:
            parts = handle.read().decode().split('\0')[:-1]
        assert int(parts[0]) == len(parts) - 1
        with open(os.path.join(self.out, 'boot_pids')) as handle, open(os.path.join(self.out, 'start_pids')) as start:
            exec_ed = handle.read().split() == start.read().split()
        with open(os.path.join(self.out, 'boot_files')) as handle:
            files = handle.read().split()
        with open(os.path.join(self.out, 'boot_status')) as handle:
            status = dict(line.split(':\t') for line in handle.read().splitlines())
        with open(os.path.join(self.out, 'boot_umask')) as handle:
            umask = handle.read().strip()
        return {'args': parts[1:], 'exec': exec_ed, 'files': files, 'status': status, 'umask': umask}

    def __repr__(self):
        return 'pod rc=%s\n--- stdout\n%s--- stderr\n%s' % (self.rc, self.stdout, self.stderr)


def _secret_components(r):
    """Secret name -> component whose pki bundle it carries (the Secret's component label)."""
    return {s['metadata']['name']: s['metadata']['labels']['app.kubernetes.io/component'].replace('security-', '', 1)
            for s in r.kinds('Secret')}


def _start(host, material, tmp_path, r, deployment, args=None, damage=None, script=None, starts=1, init=True):
    """Start the rendered pod of `deployment`: its init containers once (unless `init` is False), then its
    serving container `starts` times (restarts keep the volumes). Each container gets its own mount
    namespace inside the pod's, with only its own volume mounts, as a container runtime gives it.

    `damage(dir)` spoils the mounted copy of a Secret first; `script(text)` edits pd_start.sh.
    """
    spec = r.get('Deployment', deployment)['spec']['template']['spec']
    container = spec['containers'][0]
    inits = spec.get('initContainers', []) if init else []
    env = _container_env(r, container)
    args = list(container['args'] if args is None else args)
    volumes = {v['name']: v for v in spec['volumes']}
    stage, out, install = tmp_path / 'stage', tmp_path / 'out', tmp_path / 'install'
    for d in (stage, out, install):
        d.mkdir()
    secrets = _secret_components(r)
    sources, memory_vols = {}, []  # volume name -> host dir (memory ones: a tmpfs the pod mounts there)
    script_dir = os.path.dirname(next(c for c in container['command'] if c.endswith('.sh')))
    for c in inits + [container]:
        for m in c['volumeMounts']:
            vol, name = volumes[m['name']], m['name']
            if name in sources or 'hostPath' in vol:
                continue  # model weights, logs: pd_start.sh reads none of them
            if 'emptyDir' in vol:
                src = stage / ('emptydir-' + name)
                src.mkdir()
                if vol['emptyDir'].get('medium') == 'Memory':
                    memory_vols.append(name)
            elif 'secret' in vol:
                comp = secrets[vol['secret']['secretName']]
                src = stage / ('secret-' + name)
                for item in vol['secret']['items']:  # the rendered items restore the layout from the keys
                    dest = src / item['path']
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(str(material['root'] / comp / item['key'].replace('__', '/')), str(dest))
                    os.chmod(str(dest), vol['secret']['defaultMode'])
                if damage:
                    damage(src)
            elif 'configMap' in vol and m['mountPath'] == script_dir:
                src = stage / ('configmap-' + name)
                src.mkdir()
                for fname, text in r.get('ConfigMap', vol['configMap']['name'])['data'].items():
                    if fname in POD_SOURCES:
                        shutil.copy(POD_SOURCES[fname], str(src / fname))
                    else:
                        (src / fname).write_text(script(text) if script and fname == 'pd_start.sh' else text)
                    os.chmod(str(src / fname), vol['configMap']['defaultMode'])
            else:
                continue  # configuration files: pd_start.sh reads none of them
            sources[name] = src
    (install / 'scripts').mkdir()
    shutil.copy(CERTTOOLS, str(install / IMAGE_CERTTOOLS))
    env['CERTTOOLS_STANDIN_LOG'] = str(out / 'certtools_calls')
    (stage / 'boot.sh').write_text('\n'.join([
        '# boot.sh stand-in of test_start_script.py: how it was started, what was issued by then',
        "printf '%%s\\0' \"$#\" \"$@\" > %s" % shlex.quote(str(out / 'boot_args')),
        'echo "$$" >> %s' % shlex.quote(str(out / 'boot_pids')),
        'find "$MIES_INSTALL_PATH" "$PD_PROBE_DIR" -type f | sort > %s' % shlex.quote(str(out / 'boot_files')),
        "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status > %s" % shlex.quote(str(out / 'boot_status')),
        'umask > %s' % shlex.quote(str(out / 'boot_umask')),
        'echo "boot.sh stand-in: started with $# argument(s)"', '']))
    bindir = stage / 'bin'  # the image's python3 (PD_PYTHON) on PATH
    bindir.mkdir()
    (bindir / os.path.basename(env['PD_PYTHON'])).write_text('#!/bin/sh\nexec %s "$@"\n' % shlex.quote(host['python']))
    os.chmod(str(bindir / os.path.basename(env['PD_PYTHON'])), 0o755)
    env['PATH'] = '%s:/usr/sbin:/usr/bin:/sbin:/bin' % bindir

    def container_mounts(c):
        """(container path, kind, host source) of one container; the image's install dir in every one."""
        mounts = [(env['MIES_INSTALL_PATH'], 'bind', install)]
        for m in c['volumeMounts']:
            if m['name'] not in sources:
                continue
            src = sources[m['name']]
            if m.get('subPath'):
                src = src / m['subPath']  # made when missing, as kubelet does
            ro = m.get('readOnly') or 'secret' in volumes[m['name']] or 'configMap' in volumes[m['name']]
            mounts.append((m['mountPath'], 'bind-ro' if ro else 'bind', src))
        if c is container:
            mounts.append((os.path.dirname(env['PD_BOOT_SCRIPT']), 'tmpfs', None))  # where the image has boot.sh
        return mounts

    def container_script(c, name, c_args, boot):
        lines, made = ['set -eu'], []
        for path, kind, src in sorted(container_mounts(c), key=lambda m: m[0]):
            if not any(_under(path, top) for top in made):
                if os.path.isdir(path):
                    _check_mount_point(host, path)
                else:
                    top = path
                    while not os.path.exists(top):
                        top = os.path.dirname(top)
                    _check_mount_point(host, top)
                    lines.append('mount -t tmpfs -o mode=0755 pd-start-test %s' % shlex.quote(top))
                    made.append(top)
            q = shlex.quote(path)
            lines.append('mkdir -p %s' % q)
            if kind == 'tmpfs':
                lines.append('mount -t tmpfs -o mode=0777 pd-start-test %s' % q)
            else:
                # a subPath inside a memory volume exists only once the pod's tmpfs is there
                lines.append('mkdir -p %s' % shlex.quote(str(src)))
                lines.append('mount --bind %s %s' % (shlex.quote(str(src)), q))
                if kind == 'bind-ro':
                    lines.append('mount -o remount,bind,ro %s' % q)
            made.append(path)
        if boot:
            lines.append('cp %s %s' % (shlex.quote(str(stage / 'boot.sh')), shlex.quote(env['PD_BOOT_SCRIPT'])))
        lines += ['cd /', 'umask 0022',
                  'exec %s' % ' '.join(shlex.quote(a) for a in _security_context(c) + c['command'] + c_args)]
        path = stage / ('container-%s.sh' % name)
        path.write_text('\n'.join(lines) + '\n')
        return path

    run_one = [host['unshare'], '--mount', '--propagation', 'private', '/bin/bash']
    lines = ['set -eu']
    for name in memory_vols:  # memory emptyDirs: a tmpfs for the pod's lifetime
        lines.append('mount -t tmpfs -o mode=0777 pd-start-test %s' % shlex.quote(str(sources[name])))
    lines.append('set +e')
    for i, c in enumerate(inits):
        c_args = args if c.get('args') == container.get('args') else list(c.get('args', []))
        lines += ['%s %s' % (' '.join(run_one), shlex.quote(str(container_script(c, 'init%d' % i, c_args, False)))),
                  'rc=$?', '[ "$rc" = 0 ] || { echo "init container %s exited $rc" >&2; exit "$rc"; }' % c['name']]
    main = container_script(container, 'main', args, True)
    lines += ['for start in %s; do' % ' '.join(str(n) for n in range(starts)),
              '    %s %s &' % (' '.join(run_one), shlex.quote(str(main))), '    pid=$!', '    wait "$pid"', '    rc=$?',
              '    echo "$pid" >> %s' % shlex.quote(str(out / 'start_pids')), '    [ "$rc" = 0 ] || break', 'done']
    keep = []
    for name in memory_vols:  # keep what the memory volumes got: they vanish with the namespace
        dest = out / 'memory' / name
        lines.append('mkdir -p %s && cp -a %s/. %s'
                     % (shlex.quote(str(dest)), shlex.quote(str(sources[name])), shlex.quote(str(dest))))
        keep.append(name)
    lines.append('exit "$rc"')
    (stage / 'pod.sh').write_text('\n'.join(lines) + '\n')
    proc = subprocess.run(run_one + [str(stage / 'pod.sh')], env=env, cwd='/', capture_output=True, text=True,
                          timeout=300, check=False)
    # container paths of the serving container -> where the test finds them now
    mapping, memory = [], []
    for path, kind, src in container_mounts(container):
        if kind == 'tmpfs':
            continue
        for name in keep:
            if src == sources[name] or str(src).startswith(str(sources[name]) + '/'):
                src = out / 'memory' / name / os.path.relpath(str(src), str(sources[name]))
                memory.append(path)
        mapping.append((path, str(src)))
    return Pod(proc, env, container, args, mapping, memory, str(out))


def _security_context(container):
    """setpriv arguments for the rendered container securityContext (dropped capabilities, no new privileges)."""
    ctx = container.get('securityContext', {})
    prefix = ['setpriv']
    if ctx.get('allowPrivilegeEscalation') is False:
        prefix.append('--no-new-privs')
    if 'ALL' in ctx.get('capabilities', {}).get('drop', []):
        prefix += ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all']
    return prefix + ['--']


def _check_mount_point(host, path):
    if path in SYSTEM_DIRS or any(_under(keep, path) for keep in host['keep']):
        pytest.skip('the pod path needs a tmpfs over %s, which this host needs itself' % path)


# ----------------------------------------------------------------------------- checks
def _configs(r):
    out = {}
    for cm in r.kinds('ConfigMap'):
        for name, text in (cm.get('data') or {}).items():
            if name in ('config.json', 'ms_controller.json', 'ms_coordinator.json', 'http_client_ctl.json'):
                out[name] = json.loads(text)
    return out


def _named_files(r, component, install):
    """The TLS files the rendered configuration tells `component` to read (container paths)."""
    cfg = _configs(r)
    if component == 'server':
        s, client = cfg['config.json']['ServerConfig'], cfg['http_client_ctl.json']['cert']
        named = {'cert': s['tlsCert'], 'key': s['tlsPk'], 'ca': os.path.join(s['tlsCaPath'], s['tlsCaFile'][0]),
                 'passwd': s.get('tlsPkPwd', client['tls_passwd']),
                 'ksf_master': s.get('kmcKsfMaster'), 'ksf_standby': s.get('kmcKsfStandby')}
    else:
        name, items = {'controller': ('ms_controller.json', 'http_server_tls_items'),
                       'coordinator': ('ms_coordinator.json', 'status_tls_items')}[component]
        i = cfg[name]['tls_config'][items]
        named = {'cert': i['tls_cert'], 'key': i['tls_key'], 'ca': i['ca_cert'], 'passwd': i['tls_passwd'],
                 'ksf_master': i.get('kmc_ksf_master', i.get('kmcKsfMaster')),
                 'ksf_standby': i.get('kmc_ksf_standby', i.get('kmcKsfStandby'))}
    return {k: os.path.normpath(os.path.join(install, v)) for k, v in named.items() if v}


def _san(cert):
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(ip) for ip in san.get_values_for_type(x509.IPAddress)], san.get_values_for_type(x509.DNSName)


def _check_component(pod, r, component, ips, material):
    """Issued before boot where the configuration looks, for `ips`, from the component's own bundle; returns its password."""
    files = _named_files(r, component, pod.env['MIES_INSTALL_PATH'])
    at_boot = pod.boot()['files']
    for name in ('cert', 'key', 'passwd', 'ca'):
        assert files[name] in at_boot, (component, name, files[name], at_boot)
        assert stat.S_IMODE(os.stat(pod.host(files[name])).st_mode) == 0o400, (component, name)
    cert = pki.load_cert(pod.read(files['cert']))
    assert _san(cert) == (ips, ['mindie-' + component]), component
    pki.verify_signature(cert, material['ca'])
    assert pod.read(files['ca']) == material['ca_pem']
    stored = pod.read(files['passwd']).decode()
    if pod.env['PD_SECRET_FORMAT'] == 'kmc':
        # written by MindIE's CertTools (their KMC), never by us; the password reached them at a prompt
        password = pod_security.certtools_standin().decrypt(pod.host(files['passwd']), pod.host(files['ksf_master']))
        assert stored.startswith(pod_security.certtools_standin().HEADER) and password not in stored
        with open(os.path.join(pod.out, 'certtools_calls')) as handle:
            calls = handle.read()
        assert '"import_cert"' in calls and password not in calls
    else:
        assert pod.env['PD_SECRET_FORMAT'] == 'plaintext'
        password = stored
        assert pod.in_memory(files['passwd']), 'a plain password outside the memory volumes: %s' % files['passwd']
    key = pki.load_private_key(pod.read(files['key']), password)
    assert pki.public_der(key) == pki.public_der(cert)
    return password


def _check_probe(pod):
    """The probes' client certificate: Pod IP only, signed by the CA the probe trusts, plain password in memory."""
    env = pod.env
    cert = pki.load_cert(pod.read(env['PD_PROBE_CERT']))
    assert _san(cert)[0] == [POD_IP]
    pki.verify_signature(cert, pki.load_cert(pod.read(env['PD_PROBE_CA'])))
    for name in ('PD_PROBE_CERT', 'PD_PROBE_KEY', 'PD_PROBE_KEY_PASSWORD_FILE'):
        assert pod.in_memory(env[name]), name
    password = pod.read(env['PD_PROBE_KEY_PASSWORD_FILE']).decode()
    assert pki.public_der(pki.load_private_key(pod.read(env['PD_PROBE_KEY']), password)) == pki.public_der(cert)
    return password


def _check_boot(pod):
    assert pod.rc == 0, pod
    boot = pod.boot()
    assert boot['args'] == pod.args[1:], pod
    assert boot['exec'], 'boot.sh must replace the start script (exec), not run as its child'
    assert boot['umask'] == '0022', 'MindIE must get the container\'s umask, not the 0077 used for the secrets'
    ctx = pod.container['securityContext']  # it ran as confined as the rendered container
    assert ('ALL' in ctx['capabilities']['drop']) == (int(boot['status']['CapEff'], 16) == 0)
    assert (ctx['allowPrivilegeEscalation'] is False) == (boot['status']['NoNewPrivs'] == '1')
    assert 'boot.sh stand-in: started with %d argument(s)' % len(boot['args']) in pod.stdout


def _quiet(pod, passwords):
    for password in list(passwords) + [CA_PASSWORD]:
        assert password not in pod.stdout + pod.stderr


# ----------------------------------------------------------------------------- tests
def test_coordinator_names_pod_and_host_ip(host, material, tmp_path, multi):
    pod = _start(host, material, tmp_path, multi, 'mindie-ms-coordinator',
                 args=multi.get('Deployment', 'mindie-ms-coordinator')['spec']['template']['spec']['containers'][0]['args']
                 + EXTRA_ARGS)
    assert pod.env['PD_COORDINATOR_HOST_IP_IN_CERT'] == 'true' and pod.env['PD_SECRET_FORMAT'] == 'kmc'
    _check_boot(pod)
    passwords = [_check_component(pod, multi, 'coordinator', [POD_IP, HOST_IP], material), _check_probe(pod)]
    _quiet(pod, passwords)
    # only the Coordinator's set: nothing of the other components' paths was written
    for other in ('controller', 'server'):
        assert not os.path.exists(pod.host(_named_files(multi, other, pod.env['MIES_INSTALL_PATH'])['cert']))


def test_single_pod_issues_every_component_from_its_own_bundle(host, material, tmp_path, single_plaintext):
    r = single_plaintext
    args = r.get('Deployment', 'mindie-server')['spec']['template']['spec']['containers'][0]['args']
    assert args[0] == 'single'
    pod = _start(host, material, tmp_path, r, 'mindie-server', args=args + EXTRA_ARGS)
    assert pod.env['PD_SECRET_FORMAT'] == 'plaintext'
    _check_boot(pod)
    passwords = [_check_component(pod, r, comp, [POD_IP, HOST_IP] if comp == 'coordinator' else [POD_IP], material)
                 for comp in COMPONENTS]
    passwords.append(_check_probe(pod))
    assert len(set(passwords)) == len(passwords)  # a key and password of its own each
    _quiet(pod, passwords)


def test_server_names_only_the_pod_ip_and_restarts(host, material, tmp_path, multi):
    # the init container issues once per pod; a restart of the serving container finds the files in the volumes
    pod = _start(host, material, tmp_path, multi, 'mindie-server', starts=2)
    assert pod.env['PD_COORDINATOR_HOST_IP_IN_CERT'] == 'true'
    _check_boot(pod)
    assert pod.stderr.count('issuing the server certificate for %s\n' % POD_IP) == 1, pod
    with open(os.path.join(pod.out, 'boot_pids')) as handle:
        assert len(handle.read().split()) == 2, 'the serving container did not boot twice'
    assert pod.stdout.count('boot.sh stand-in: started') == 2
    _quiet(pod, [_check_component(pod, multi, 'server', [POD_IP], material), _check_probe(pod)])


def test_tls_off_issues_nothing_and_boots(host, material, tmp_path, tls_off):
    args = tls_off.get('Deployment', 'mindie-ms-coordinator')['spec']['template']['spec']['containers'][0]['args']
    pod = _start(host, material, tmp_path, tls_off, 'mindie-ms-coordinator', args=args + EXTRA_ARGS)
    assert pod.env['PD_TLS_ENABLED'] == 'false'
    _check_boot(pod)
    # nothing in the install dir (beyond the image's own CertTools) nor the probe dir at hand-over
    assert pod.boot()['files'] == [os.path.join(pod.env['MIES_INSTALL_PATH'], IMAGE_CERTTOOLS)]
    assert 'issuing' not in pod.stderr


@pytest.mark.parametrize('tls', ['multi', 'tls_off'])
def test_unknown_component_stops_with_exit_2(host, material, tmp_path, request, tls):
    render = request.getfixturevalue(tls)
    pod = _start(host, material, tmp_path, render, 'mindie-ms-coordinator', args=['coordinatr'] + EXTRA_ARGS)
    assert pod.rc == 2, pod
    assert "ascend.mindie: unknown component 'coordinatr'" in pod.stderr
    assert not pod.booted
    # the image's files untouched, nothing written (the volumes' mount points aside)
    top = pod.host(pod.env['MIES_INSTALL_PATH'])
    assert sorted(os.path.relpath(os.path.join(d, f), top) for d, _dirs, fs in os.walk(top) for f in fs) == [IMAGE_CERTTOOLS]


@pytest.mark.parametrize('rel, content, fragment', [
    ('security/ca/ca.key.pem', None, 'cannot read CA key'),
    ('gen_cert.json', '{"ca_cert": ', 'not valid JSON'),
])
def test_broken_security_material_stops_before_boot(host, material, tmp_path, multi, rel, content, fragment):
    def damage(mounted):
        if content is None:
            os.remove(str(mounted / rel))
        else:
            (mounted / rel).write_text(content)
    pod = _start(host, material, tmp_path, multi, 'mindie-ms-controller', damage=damage)
    assert pod.rc == 1, pod
    assert 'mindie_gen_cert: error' in pod.stderr and fragment in pod.stderr, pod
    assert not pod.booted


@pytest.mark.parametrize('layout, deployment', [('multi', 'mindie-server'), ('single_plaintext', 'mindie-server')])
def test_serving_container_sees_no_ca_key_password_or_key_store(host, material, tmp_path, request, layout, deployment):
    """Issue 16's promise: only the init container mounts the component Secrets. Everything the serving
    container can see on its volumes (scanned file by file) holds no CA key, no CA key password, no
    key store of the Secret, and no file of the Secret at all."""
    r = request.getfixturevalue(layout)
    pod = _start(host, material, tmp_path, r, deployment)
    _check_boot(pod)
    secret_blobs = set()
    for comp in COMPONENTS:
        for d, _dirs, files in os.walk(str(material['root'] / comp)):
            for f in files:
                with open(os.path.join(d, f), 'rb') as handle:
                    data = handle.read()
                if not (f.endswith('.pem') and b'BEGIN CERTIFICATE' in data) and f not in ('gen_cert.json', 'cert_info.json'):
                    secret_blobs.add((os.path.relpath(os.path.join(d, f), str(material['root'])), data))
    names = [name for name, _blob in secret_blobs]
    assert any('ca.key.pem' in name for name in names) and any('ksfa' in name for name in names)
    seen = 0
    for path, source in pod.mapping:
        for d, _dirs, files in os.walk(source):
            for f in files:
                with open(os.path.join(d, f), 'rb') as handle:
                    data = handle.read()
                seen += 1
                where = os.path.join(path, os.path.relpath(os.path.join(d, f), source))
                assert CA_PASSWORD.encode() not in data, where
                for name, blob in secret_blobs:
                    assert data != blob and (len(blob) < 64 or blob[-64:] not in data), (where, name)
    assert seen >= 5  # the leaf material it needs is there


def test_serving_container_without_its_init_container_refuses_to_boot(host, material, tmp_path, multi):
    pod = _start(host, material, tmp_path, multi, 'mindie-ms-controller', init=False)
    assert pod.rc == 1, pod
    assert 'TLS is on but' in pod.stderr and 'the init container mindie-tls issues these' in pod.stderr, pod
    assert 'security/controller/certs/cert.pem' in pod.stderr
    assert not pod.booted
