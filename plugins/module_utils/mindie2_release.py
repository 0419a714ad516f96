# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""MindIE 2.x (C++ MindIE-Motor) deploy material from the operator's own release.

The role ships none of MindIE's scripts: ``boot.sh`` and its Python helpers come from the release the
operator deploys, in the layout of MindIE-Motor's ``deploy_scripts`` directory (``boot_helper/``,
``conf/``, ``deployment/``, ``gen_ranktable_helper/``, ``utils/``).  Accepted inputs:

* an extracted ``deploy_scripts`` directory (or any directory that holds exactly one of them, e.g. an
  extracted ``.run`` tree or an unpacked wheel, where it is ``mindie_motor/examples/kubernetes_deploy_scripts``);
* a ``.run`` package, extracted with its own ``--extract=<dir>``;
* a wheel (``.whl``, a zip archive).

The JSON configuration bases are looked up in ``deploy_scripts/conf/`` first (where MindIE's
``deploy.sh`` reads them), then in an explicit config directory, then in the release's install
``conf/`` directories (``mindie-service/conf``, ``mindie_motor/conf``, ``mindie_llm/conf``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import zipfile

# ConfigMap name -> (key = file name under /mnt/configmap, path inside deploy_scripts). Names and keys
# are those MindIE's deploy.sh creates; boot.sh and the helpers find each other by these file names.
SCRIPTS = {
    'boot-bash-script': ('boot.sh', 'boot_helper/boot.sh'),
    'python-file-utils': ('file_utils.py', 'utils/file_utils.py'),
    'python-script-get-group-id': ('get_group_id.py', 'boot_helper/get_group_id.py'),
    'python-script-update-server-conf': ('update_mindie_server_config.py', 'boot_helper/update_mindie_server_config.py'),
    'python-script-gen-config-single-container': ('gen_config_single_container.py',
                                                  'boot_helper/gen_config_single_container.py'),
}
# Which helpers each layout's pods run (deploy.sh multi-pod vs single-container path).
LAYOUT_SCRIPTS = {
    'multi': ('boot-bash-script', 'python-file-utils', 'python-script-get-group-id',
              'python-script-update-server-conf'),
    'single': ('boot-bash-script', 'python-file-utils', 'python-script-gen-config-single-container'),
}
CONFIG_FILES = ('config.json', 'ms_controller.json', 'ms_coordinator.json', 'http_client_ctl.json')
# Install conf directories inside a release tree, in search order (.run layout, then wheel layout).
INSTALL_CONF_DIRS = ('mindie-service/conf', 'mindie_motor/conf', 'mindie_llm/conf', 'conf')
MAX_FILE = 4 * 1024 * 1024
MAX_DEPTH = 8


class ReleaseError(Exception):
    """Material missing or unreadable; the message names the file and the fix."""


def _is_deploy_scripts(path):
    return os.path.isfile(os.path.join(path, 'boot_helper', 'boot.sh'))


def find_deploy_scripts(root):
    """The one deploy_scripts directory at or under root."""
    if _is_deploy_scripts(root):
        return root
    found = []
    base_depth = root.rstrip(os.sep).count(os.sep)
    for dirpath, dirnames, _files in os.walk(root):
        if dirpath.count(os.sep) - base_depth >= MAX_DEPTH:
            dirnames[:] = []
            continue
        dirnames.sort()
        if _is_deploy_scripts(dirpath):
            found.append(dirpath)
            dirnames[:] = []
    if not found:
        raise ReleaseError('%s holds no MindIE deploy_scripts directory (no boot_helper/boot.sh at any depth up to %d); '
                           'point pd_deploy_mindie_release at the extracted deploy_scripts directory, the .run '
                           'package or the mindie_motor wheel of your MindIE release' % (root, MAX_DEPTH))
    if len(found) > 1:
        raise ReleaseError('%s holds several deploy_scripts directories (%s); point pd_deploy_mindie_release at the '
                           'one to deploy' % (root, ', '.join(found)))
    return found[0]


def _read_text(path, what):
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE:
            raise ReleaseError('%s (%s) is %d bytes, more than the %d a ConfigMap file may sensibly hold'
                               % (path, what, size, MAX_FILE))
        with open(path, 'rb') as handle:
            data = handle.read()
        return data.decode('utf-8')
    except (IOError, OSError) as exc:
        raise ReleaseError('cannot read %s (%s): %s' % (path, what, exc))
    except UnicodeDecodeError:
        raise ReleaseError('%s (%s) is not UTF-8 text' % (path, what))


def extract(path, workdir, run_command=None):
    """Unpack a .run or .whl into workdir and return the directory to search; a directory is used as is."""
    if os.path.isdir(path):
        return path
    if not os.path.exists(path):
        raise ReleaseError('pd_deploy_mindie_release %s does not exist on the control node' % path)
    if not os.access(path, os.R_OK):
        raise ReleaseError('pd_deploy_mindie_release %s is not readable by this user' % path)
    target = os.path.join(workdir, 'release')
    if path.endswith('.whl') or path.endswith('.zip'):
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    # never write outside the target (absolute or .. members)
                    norm = os.path.normpath(member)
                    if norm.startswith('..') or os.path.isabs(norm):
                        raise ReleaseError('%s has an unsafe member %s' % (path, member))
                archive.extractall(target)
        except zipfile.BadZipfile as exc:
            raise ReleaseError('%s is not a readable wheel: %s' % (path, exc))
        return target
    if path.endswith('.run'):
        os.makedirs(target)
        cmd = ['/bin/bash', path, '--extract=' + target]
        runner = run_command or _run
        rc, out, err = runner(cmd)
        if rc != 0:
            raise ReleaseError('%s --extract=%s failed (rc %s): %s' % (path, target, rc, (err or out).strip()[-500:]))
        return target
    raise ReleaseError('pd_deploy_mindie_release %s is neither a directory, a .run package nor a .whl' % path)


def _run(cmd):
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def _config_candidates(scripts_dir, root, config_dir, name):
    out = [os.path.join(scripts_dir, 'conf', name)]
    if config_dir:
        out.append(os.path.join(config_dir, name))
    for sub in INSTALL_CONF_DIRS:
        out.append(os.path.join(root, sub, name))
    # an extracted tree may nest the install dir (e.g. <tree>/mindie/latest/mindie-service/conf)
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        if name in files and os.path.basename(dirpath) == 'conf':
            out.append(os.path.join(dirpath, name))
    return out


def read_release(root, layout, config_dir=None):
    """Read the layout's helpers and the four JSON bases; raise ReleaseError naming the first missing file."""
    if layout not in LAYOUT_SCRIPTS:
        raise ReleaseError('unknown layout %r' % (layout,))
    scripts_dir = find_deploy_scripts(root)
    scripts, sources = {}, {}
    for cm in LAYOUT_SCRIPTS[layout]:
        key, rel = SCRIPTS[cm]
        path = os.path.join(scripts_dir, rel)
        if not os.path.isfile(path):
            raise ReleaseError('the MindIE release at %s lacks %s (%s, needed by boot.sh in the %s-machine layout); '
                               'use a complete deploy_scripts directory of your MindIE release'
                               % (scripts_dir, rel, key, layout))
        scripts[cm] = {key: _read_text(path, key)}
        sources[key] = path
    configs = {}
    if config_dir and not os.path.isdir(config_dir):
        raise ReleaseError('pd_deploy_mindie_config_dir %s is not a directory' % config_dir)
    for name in CONFIG_FILES:
        for path in _config_candidates(scripts_dir, root, config_dir, name):
            if os.path.isfile(path):
                text = _read_text(path, name)
                try:
                    configs[name] = json.loads(text)
                except ValueError as exc:
                    raise ReleaseError('%s is not valid JSON: %s' % (path, exc))
                if not isinstance(configs[name], dict):
                    raise ReleaseError('%s must hold a JSON object' % path)
                sources[name] = path
                break
        else:
            raise ReleaseError('no %s in the MindIE release (looked in %s/conf, %s and the install conf '
                               'directories %s); MindIE reads it at boot: put your release\'s %s there or set '
                               'pd_deploy_mindie_config_dir'
                               % (name, scripts_dir, config_dir or '(no pd_deploy_mindie_config_dir)',
                                  ', '.join(INSTALL_CONF_DIRS), name))
    return {'deploy_scripts': scripts_dir, 'scripts': scripts, 'configs': configs, 'sources': sources}
