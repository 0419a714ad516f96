# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline validation of Kubernetes objects against the schemas of one cluster version.

Private to the collection: the module ``k8s_manifest_validate`` is a thin wrapper over this.
The schemas come from the ``kubernetes-validate`` package (one set per Kubernetes minor version,
``-strict`` variants refuse unknown fields). We pick the schema set by exact ``major.minor``:
``kubernetes-validate`` itself silently falls back to the newest set that is not newer than the
requested version (and compares versions as strings), which would validate a 1.24 cluster against
1.25 schemas without saying so.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

try:
    import kubernetes_validate
    from kubernetes_validate import utils as _kv_utils
    HAS_KUBERNETES_VALIDATE = True
    KUBERNETES_VALIDATE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised through the module
    kubernetes_validate = None
    _kv_utils = None
    HAS_KUBERNETES_VALIDATE = False
    KUBERNETES_VALIDATE_IMPORT_ERROR = exc

_VERSION_RE = re.compile(r'^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$')


class SchemaError(Exception):
    """Raised for a request we cannot honour (unknown version, malformed object list)."""


def parse_version(version):
    """'v1.30.2' / '1.30' / '1.30.0-eks' -> (1, 30). Raise SchemaError otherwise."""
    match = _VERSION_RE.match(str(version).strip())
    if not match:
        raise SchemaError(
            "kubernetes_version %r is not a Kubernetes version; expected MAJOR.MINOR[.PATCH], e.g. 1.30"
            % (version,))
    return int(match.group(1)), int(match.group(2))


def supported_versions():
    """Sorted (major, minor) tuples for which the installed kubernetes-validate ships schemas."""
    if not HAS_KUBERNETES_VALIDATE:
        return []
    found = set()
    for name in _kv_utils.all_versions():
        try:
            found.add(parse_version(name))
        except SchemaError:
            continue
    return sorted(found)


def _fmt(ver):
    return '%d.%d' % ver


def resolve_version(version):
    """Return the 'MAJOR.MINOR' schema set for ``version`` or raise SchemaError naming the range."""
    wanted = parse_version(version)
    available = supported_versions()
    if wanted not in available:
        rng = ('%s..%s' % (_fmt(available[0]), _fmt(available[-1]))) if available else 'none'
        raise SchemaError(
            "no Kubernetes %s schemas in the installed kubernetes-validate %s (it ships %s); "
            "install a kubernetes-validate release that covers %s (older releases carry older schemas) "
            "or correct the cluster version in the inventory"
            % (_fmt(wanted), getattr(kubernetes_validate, '__version__', '?'), rng, _fmt(wanted)))
    return _fmt(wanted)


def object_ref(obj):
    """Human name of an object: Kind/namespace/name (namespace omitted when absent)."""
    if not isinstance(obj, dict):
        return '<not a mapping>'
    meta = obj.get('metadata') if isinstance(obj.get('metadata'), dict) else {}
    parts = [str(obj.get('kind', '<no kind>'))]
    if meta.get('namespace'):
        parts.append(str(meta['namespace']))
    parts.append(str(meta.get('name', '<no name>')))
    return '/'.join(parts)


def _path(error):
    return '.'.join(str(p) for p in error.absolute_path) or '<root>'


def validate_objects(objects, version, strict=True):
    """Validate every object; return (schema_version, errors).

    ``errors`` is a list of dicts ``{index, object, path, message}``; empty means all valid.
    All objects are checked (not just up to the first failure) so one run lists every problem.
    """
    if not HAS_KUBERNETES_VALIDATE:
        raise SchemaError('kubernetes-validate is not installed')
    schema_version = resolve_version(version)
    errors = []
    seen = {}
    for index, obj in enumerate(objects):
        ref = object_ref(obj)
        if not isinstance(obj, dict):
            errors.append(dict(index=index, object=ref, path='<root>',
                               message='expected a mapping, got %s' % type(obj).__name__))
            continue
        missing = [k for k in ('apiVersion', 'kind') if not obj.get(k)]
        if not isinstance(obj.get('metadata'), dict) or not obj['metadata'].get('name'):
            missing.append('metadata.name')
        if missing:
            errors.append(dict(index=index, object=ref, path='<root>',
                               message='missing %s' % ', '.join(missing)))
            continue
        key = (obj['apiVersion'].split('/')[0] if '/' in obj['apiVersion'] else '', obj['kind'],
               obj['metadata'].get('namespace', ''), obj['metadata']['name'])
        if key in seen:
            errors.append(dict(index=index, object=ref, path='metadata.name',
                               message='duplicate of object #%d: the later one would overwrite it' % seen[key]))
            continue
        seen[key] = index
        try:
            kubernetes_validate.validate(obj, schema_version, strict=strict)
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(dict(index=index, object=ref, path='apiVersion',
                               message='no schema for %s %s in Kubernetes %s (kind or apiVersion unknown to that version)'
                               % (obj['apiVersion'], obj['kind'], schema_version)))
        except kubernetes_validate.ValidationError as exc:
            errors.append(dict(index=index, object=ref, path=_path(exc), message=exc.message))
    return schema_version, errors


def format_errors(errors, limit=20):
    """One line per error, capped so a broken template does not flood the terminal."""
    lines = ['%s at %s: %s' % (e['object'], e['path'], e['message']) for e in errors[:limit]]
    if len(errors) > limit:
        lines.append('... and %d more' % (len(errors) - limit))
    return '; '.join(lines)
