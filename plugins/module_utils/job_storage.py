# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What must outlive a job, as pure Python: the CA and the reports.

Under AWX (or any controller that runs the job in a throwaway execution environment) the control
node is a container that is deleted when the job ends, together with the project checkout and the
home directory in it. A CA built there is lost: the next job makes a new one and replaces the
cluster's trust. So under AWX the CA host must be a persistent inventory host, unless the operator
says that ``mindie_pki_dir`` is on storage that outlives the job (``mindie_pki_dir_persistent``).

AWX is recognised by the variables it passes to every job (``awx_job_id``, or ``tower_job_id`` from
older releases).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import posixpath

# Extra variables AWX (and Ansible Tower before it) gives every job.
JOB_ID_VARIABLES = ('awx_job_id', 'tower_job_id')
LOCAL_NAMES = ('localhost', '127.0.0.1', '::1')
# Where the report summary lives when no file survives the job.
ARTIFACTS_REF = "the job's artifacts, mindie_summary.reports"


def controller_job_id(variables):
    """The AWX/Tower job id found in ``variables`` (a dict of the job's variables), else None."""
    for name in JOB_ID_VARIABLES:
        value = variables.get(name)
        if value not in (None, ''):
            return str(value)
    return None


def is_control_node(host, connection=None, address=None):
    """Whether ``host`` is the control node itself (the job's container under AWX)."""
    return host in LOCAL_NAMES or connection == 'local' or (address or '') in LOCAL_NAMES


def _violation(variable, value, message, fix):
    return {'variable': variable, 'value': value, 'fix': fix, 'message': '%s Fix: %s' % (message, fix)}


def check_job_storage(job_id, ca_host, inventory_hosts, ca_connection=None, ca_address=None,
                      pki_dir='', pki_dir_persistent=False, report_host='', ca_needed=True):
    """Violations (dicts with variable, value, fix, message) of what must outlive the job.

    ``ca_needed`` is false when the job neither builds nor reads the CA (e.g. only preflight and RoCE).
    """
    found = []
    in_inventory = ca_host in inventory_hosts
    if ca_host not in LOCAL_NAMES and not in_inventory:
        found.append(_violation(
            'mindie_ca_host', ca_host,
            "mindie_ca_host is '%s', which is not in the inventory." % ca_host,
            'leave it unset (the control node builds the CA) or name an inventory host.'))
    if report_host and report_host not in inventory_hosts:
        found.append(_violation(
            'mindie_report_host', report_host,
            "mindie_report_host is '%s', which is not in the inventory." % report_host,
            'name an inventory host that keeps the reports, or leave it empty (the reports are then only '
            "in the job's artifacts under AWX)."))
    if job_id is None or not ca_needed:
        return found
    local_ca = is_control_node(ca_host, ca_connection, ca_address)
    if local_ca and not pki_dir_persistent:
        found.append(_violation(
            'mindie_ca_host', ca_host,
            "AWX job %s: mindie_ca_host is '%s', the job's execution environment, which AWX deletes when the "
            "job ends, with the CA in mindie_pki_dir ('%s'): every job would make a new CA and replace the "
            "cluster's trust." % (job_id, ca_host, pki_dir),
            "set mindie_ca_host to a persistent inventory host that keeps the CA (any host the job reaches "
            "over SSH, for example a Kubernetes control-plane node), or mount storage that outlives the job "
            "into the execution environment, point mindie_pki_dir at it and set mindie_pki_dir_persistent: true."))
    elif local_ca and not posixpath.isabs(pki_dir or ''):
        found.append(_violation(
            'mindie_pki_dir', pki_dir,
            "AWX job %s: mindie_pki_dir_persistent is true but mindie_pki_dir is '%s', which resolves inside "
            "the job's execution environment (project checkout or home directory)." % (job_id, pki_dir),
            'point mindie_pki_dir at an absolute path on the storage mounted into the execution environment.'))
    return found


def report_ref(job_id, report_dir, report_host='', report_host_dir=''):
    """Where a user finds the reports after the job: a directory that still exists, or the artifacts."""
    if job_id is None:
        return report_dir
    if report_host:
        return '%s:%s (and %s)' % (report_host, report_host_dir or report_dir, ARTIFACTS_REF)
    return ARTIFACTS_REF
