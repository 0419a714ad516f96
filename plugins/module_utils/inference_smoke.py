# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One OpenAI-compatible request through a MindIE entrance, timed (first byte, total) and checked.

Works the same against MindIE 2.x's and 3.x's Coordinator (both speak /v1/completions and
/v1/chat/completions). MindIE 3.x's Coordinator answers /readiness with HTTP 200 even when it is not
ready: the body ({"ready": false, ...}) is what tells, so ``readiness`` returns it verbatim.
Only the standard library (used by the module and by the tests).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re
import ssl
import time

try:
    import http.client as httplib
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection
    import httplib  # type: ignore
    from urlparse import urlsplit  # type: ignore

TRACE = re.compile(r"\[prefill=(?P<prefill>\S+) decode=(?P<decode>\S+)\]")


class SmokeError(Exception):
    pass


def _connection(url, ca_file=None, timeout=30):
    parts = urlsplit(url)
    if parts.scheme == "https":
        ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        # The smoke stage's CA file is the pki role's components/*/ca/ca.pem: the deployment's
        # intermediate CA alone. Trust it as an anchor (OpenSSL's partial chain; Python's default only
        # from 3.13), or the server's chain must reach a root the file does not hold.
        if ca_file and hasattr(ssl, "VERIFY_X509_PARTIAL_CHAIN"):
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        return httplib.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=ctx), parts
    if parts.scheme != "http":
        raise SmokeError("url must start with http:// or https://, not %r" % url)
    return httplib.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout), parts


def _text_of(obj, chat):
    out = []
    for choice in obj.get("choices") or []:
        if chat:
            part = (choice.get("message") or choice.get("delta") or {}).get("content")
        else:
            part = choice.get("text")
        if part:
            out.append(part)
    return "".join(out)


def request(url, path="/v1/completions", model="", prompt="Hello", max_tokens=8, stream=False,
            ca_file=None, timeout=60, request_id=None):
    """Send one request; returns a dict with status, text, ttfb_ms, total_ms, prefill, decode, raw."""
    chat = "chat/" in path
    body = {"model": model, "max_tokens": int(max_tokens), "stream": bool(stream)}
    if chat:
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
    if request_id:
        headers["X-Request-Id"] = request_id
    conn, parts = _connection(url, ca_file, timeout)
    base = parts.path.rstrip("/")
    start = time.monotonic()
    try:
        conn.request("POST", base + path, body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        first = resp.read(1)
        ttfb = time.monotonic() - start
        raw = (first + resp.read()).decode("utf-8", "replace")
        total = time.monotonic() - start
        status = resp.status
    except (OSError, httplib.HTTPException, ssl.SSLError) as exc:
        raise SmokeError("%s%s: %s" % (url, path, exc))
    finally:
        conn.close()
    text, chunks, trace = "", 0, {}
    if status == 200 and stream:
        for line in raw.splitlines():
            line = line.strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            try:
                obj = json.loads(line[5:].strip())
            except ValueError:
                continue
            chunks += 1
            trace = obj.get("ascend_mindie_trace") or trace
            if obj.get("error"):
                raise SmokeError("stream carried an error: %s" % json.dumps(obj["error"])[:500])
            text += _text_of(obj, chat)
    elif status == 200:
        try:
            obj = json.loads(raw)
        except ValueError:
            raise SmokeError("answer is not JSON: %s" % raw[:500])
        text = _text_of(obj, chat)
        trace = (obj.get("ascend_mindie_trace") if isinstance(obj, dict) else None) or {}
    match = TRACE.search(text)
    if not isinstance(trace, dict):
        trace = {}
    # the lab's engine names who served a request in the text and in ascend_mindie_trace (also when
    # Prefill answered alone, which the text cannot show)
    return {"status": status, "text": text, "chunks": chunks, "ttfb_ms": round(ttfb * 1000, 1),
            "total_ms": round(total * 1000, 1),
            "prefill": match.group("prefill") if match else trace.get("prefill"),
            "decode": match.group("decode") if match else trace.get("decode"), "raw": raw if status != 200 else ""}


def check(result, expect_trace=False, min_chars=1):
    """Problems with an answer (empty list = it answered)."""
    problems = []
    if result["status"] != 200:
        problems.append("HTTP %s: %s" % (result["status"], result["raw"][:500]))
    elif len(result["text"].strip()) < min_chars:
        problems.append("empty answer")
    elif expect_trace and result["prefill"] and not result["decode"]:
        problems.append("answered by Prefill alone (%s), no Decode instance took part: %r"
                        % (result["prefill"], result["text"][:200]))
    elif expect_trace and not (result["prefill"] and result["decode"]):
        problems.append("the answer does not name the Prefill and Decode instances: %r" % result["text"][:200])
    return problems


def pd_roles_missing(pods):
    """Problems when the Prefill or the Decode role has no Ready pod (label ascend.mindie/role, as
    pd_deploy's MindIE 3.x pods carry it). mindie-motor's Coordinator stays ready and keeps answering
    with Prefill alone when no Decode instance is registered (InstanceReadiness.ONLY_PREFILL routes
    requests single-node): an answer then proves nothing about Prefill/Decode disaggregation."""
    seen = {"prefill": [], "decode": []}
    ready = {"prefill": [], "decode": []}
    for pod in pods:
        meta = pod.get("metadata") or {}
        role = (meta.get("labels") or {}).get("ascend.mindie/role")
        if role not in seen or meta.get("deletionTimestamp"):
            continue
        seen[role].append(meta.get("name"))
        conds = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
            ready[role].append(meta.get("name"))
    problems = []
    for role in ("prefill", "decode"):
        if not ready[role]:
            problems.append("no %s pod is Ready (%s)" % (role.capitalize(), ", ".join(seen[role]) + " not Ready"
                                                         if seen[role] else "none exists"))
    if problems and ready["prefill"] and not ready["decode"]:
        problems[-1] += (": MindIE 3.x's Coordinator then answers from Prefill alone (%s), so an answer does not"
                         " show Prefill/Decode disaggregation" % ", ".join(ready["prefill"]))
    return problems


def readiness(url, ca_file=None, timeout=10):
    """(HTTP status, body text) of a readiness endpoint, or (None, error text)."""
    conn, parts = _connection(url, ca_file, timeout)
    try:
        conn.request("GET", parts.path or "/readiness")
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")[:2000]
    except (OSError, httplib.HTTPException, ssl.SSLError) as exc:
        return None, str(exc)
    finally:
        conn.close()


def is_ready(status, body):
    """MindIE 3.x answers 200 with {"ready": false} while not ready; 2.x answers with the status code."""
    if status != 200:
        return False
    try:
        obj = json.loads(body)
    except ValueError:
        return True
    if isinstance(obj, dict):
        for key in ("ready", "is_ready"):
            if key in obj:
                return bool(obj[key])
        data = obj.get("data")
        if isinstance(data, dict) and "ready" in data:
            return bool(data["ready"])
    return True


def entrance_scheme(generation, tls_enabled, v3_infer_tls=False):
    """http or https for the inference entrance: 2.x serves it with TLS when TLS is on; 3.x (mindie-motor
    3.0.0b2) only with its inference TLS, which stays off (its Coordinator worker crashes with it)."""
    if not tls_enabled:
        return "http"
    if int(generation) == 3:
        return "https" if v3_infer_tls else "http"
    return "https"


def attempt(url, path, model, prompt, max_tokens, stream, ca_file, timeout, expect_trace, wait, delay=3.0,
            readiness_url=None, sleep=time.sleep, extra_check=None):
    """Retry one request until it answers or `wait` seconds pass (a fresh deployment may still be
    registering instances). `extra_check()` returns more problems with an answer (e.g. pd_roles_missing
    on the deployment's pods). Returns (result or None, problems, attempts, readiness (status, body))."""
    deadline = time.monotonic() + max(float(wait), 0)
    attempts, problems, result = 0, [], None
    while True:
        attempts += 1
        try:
            result = request(url, path, model, prompt, max_tokens, stream, ca_file, timeout)
            problems = check(result, expect_trace)
            if not problems and extra_check is not None:
                problems = extra_check()
        except SmokeError as exc:
            result, problems = None, [str(exc)]
        if not problems or time.monotonic() + delay > deadline:
            break
        sleep(delay)
    ready = readiness(readiness_url, ca_file) if (problems and readiness_url) else (None, "")
    return result, problems, attempts, ready
