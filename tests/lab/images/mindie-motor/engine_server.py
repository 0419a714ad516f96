# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fake inference engine for the lab (TEST CODE standing in for vLLM on NPUs), started by MindIE
PyMotor's NodeManager exactly as it starts its real `engine_server`:

  engine_server --dp-rank N --instance-id N --role prefill|decode --host IP --port P --mgmt-port M
                --config-path USER_CONFIG_PATH

It reads its section of user_config.json with motor's own loader (motor.engine_server.config) when
the wheel is importable, and speaks the protocol motor expects:
- management port (TLS when mgmt_tls_config.enable_tls, as motor's clients dial it): GET /status
  -> {"status": "normal"}, GET /metrics (Prometheus text);
- business port (TLS when infer_tls_config.enable_tls): POST /v1/completions, /v1/chat/completions
  (plain or `stream: true` server-sent events), GET /health, /v1/models;
- pd_separate: the Coordinator calls D first with kv_transfer_params.metaserver; D posts
  {"request_id": "cmpl-<X-Request-Id>-0" | "chatcmpl-<X-Request-Id>", ...} there, the Coordinator calls
  P with max_tokens 1 and hands P's answer back to D; D then generates.
The answer names who did what: the text starts with "[prefill=<P> decode=<D>]" and the JSON carries
"ascend_mindie_trace" {"prefill": ..., "decode": ...}; each request is also logged to stdout.
Tokens are words of a fixed text, deterministic per prompt. Standard library only (+ motor if present).
"""

import argparse
import hashlib
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("the prefill instance computed the prompt and the decode instance wrote these words one by "
         "one through the coordinator of mindie motor on the lab").split()
STATE = {"requests": 0, "tokens": 0, "started": time.time()}
LOCK = threading.Lock()


def log(msg):
    sys.stdout.write("%s engine_server %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


def load_config(path, role):
    """(mgmt_tls, infer_tls, model_name) from user_config.json, through motor's loader if available."""
    try:
        from motor.engine_server.config.config_loader import DeployConfig  # the wheel's own code
        cfg = DeployConfig.load(path, role)
        mgmt = cfg.mgmt_tls_config.__dict__ if cfg.mgmt_tls_config else {}
        infer = cfg.infer_tls_config.__dict__ if cfg.infer_tls_config else {}
        return mgmt, infer, cfg.model_config.model_name, "motor.engine_server.config"
    except ImportError:
        with open(path) as fh:
            raw = json.load(fh)
        tls = raw.get("motor_deploy_config", {}).get("tls_config", {})
        key = "motor_engine_decode_config" if role == "decode" else "motor_engine_prefill_config"
        return (tls.get("mgmt_tls_config", {}), tls.get("infer_tls_config", {}),
                raw[key]["model_config"]["model_name"], "json")


def server_context(tls):
    if not tls or not tls.get("enable_tls"):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    password = None
    if tls.get("passwd_file"):
        with open(tls["passwd_file"]) as fh:
            password = fh.read().strip()
    ctx.load_cert_chain(tls["cert_file"], tls["key_file"], password=password)
    return ctx


def client_context(tls):
    if not tls or not tls.get("enable_tls"):
        return None
    return ssl.create_default_context(cafile=tls["ca_file"])


class Engine(object):
    def __init__(self, args):
        self.args = args
        self.mgmt_tls, self.infer_tls, self.model, self.loader = load_config(args.config_path, args.role)
        pod = os.environ.get("HOSTNAME") or socket.gethostname()
        self.ident = "%s/%s-%s@%s:%s" % (pod, args.role, args.instance_id, args.host, args.port)

    def words(self, prompt, count):
        seed = int(hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:8], 16)
        return [WORDS[(seed + i) % len(WORDS)] for i in range(count)]

    def metaserver(self, url, rid, chat):
        """Ask the Coordinator (metaserver) to run the prefill; returns P's answer."""
        body = {"request_id": ("chatcmpl-%s" % rid) if chat else ("cmpl-%s-0" % rid),
                "do_remote_decode": True, "do_remote_prefill": False,
                "remote_engine_id": self.ident, "remote_host": self.args.host, "remote_port": self.args.port}
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-Request-Id": rid})
        ctx = client_context(self.mgmt_tls) if url.startswith("https") else None
        with urllib.request.urlopen(req, timeout=60, context=ctx) as resp:
            return json.loads(resp.read() or b"{}")


def make_handler(engine, plane):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # one line per request of our own instead
            pass

        def send_json(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if plane == "mgmt" and self.path == "/status":
                return self.send_json(200, {"status": "normal"})
            if self.path == "/metrics":
                text = ("# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 0\n"
                        "# TYPE engine_requests_total counter\nengine_requests_total %d\n"
                        "engine_generated_tokens_total %d\n" % (STATE["requests"], STATE["tokens"])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                return self.wfile.write(text)
            if plane == "infer" and self.path in ("/health", "/v1/models"):
                return self.send_json(200, {"object": "list", "data": [{"id": engine.model, "object": "model"}]}
                                      if self.path == "/v1/models" else {"status": "ok"})
            return self.send_json(404, {"error": "not found: %s" % self.path})

        def do_POST(self):
            if plane != "infer" or self.path not in ("/v1/completions", "/v1/chat/completions"):
                return self.send_json(404, {"error": "not found: %s" % self.path})
            length = int(self.headers.get("Content-Length") or 0)
            try:
                req = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self.send_json(400, {"error": "body is not JSON"})
            chat = self.path.endswith("chat/completions")
            rid = self.headers.get("X-Request-Id") or "req-%d" % time.time_ns()
            prompt = (" ".join(m.get("content", "") for m in req.get("messages", []) if isinstance(m, dict))
                      if chat else str(req.get("prompt", "")))
            kv = req.get("kv_transfer_params") or {}
            prefill_by = engine.ident if engine.args.role == "prefill" else None
            if engine.args.role == "decode" and kv.get("metaserver"):
                try:
                    p_answer = engine.metaserver(kv["metaserver"], rid, chat)
                except Exception as exc:  # the Coordinator retries D on an error
                    log("request %s: metaserver %s failed: %s" % (rid, kv["metaserver"], exc))
                    return self.send_json(502, {"error": "prefill via metaserver failed: %s" % exc})
                prefill_by = ((p_answer.get("kv_transfer_params") or {}).get("remote_engine_id")
                              or (p_answer.get("ascend_mindie_trace") or {}).get("prefill") or "unknown")
            max_tokens = int(req.get("max_tokens") or 16)
            if engine.args.role == "prefill":
                max_tokens = 1
            trace = {"prefill": prefill_by, "decode": engine.ident if engine.args.role == "decode" else None}
            words = self.words_for(prompt, max_tokens, trace)
            with LOCK:
                STATE["requests"] += 1
                STATE["tokens"] += len(words)
            log("request %s %s role=%s prefill=%s decode=%s tokens=%d stream=%s" % (
                rid, self.path, engine.args.role, trace["prefill"], trace["decode"], len(words), bool(req.get("stream"))))
            created = int(time.time())
            oid = ("chatcmpl-%s" % rid) if chat else ("cmpl-%s-0" % rid)
            usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(words),
                     "total_tokens": len(prompt.split()) + len(words)}
            extra = {"ascend_mindie_trace": trace}
            if engine.args.role == "prefill":
                extra["kv_transfer_params"] = {"do_remote_prefill": True, "do_remote_decode": False,
                                               "remote_engine_id": engine.ident, "remote_host": engine.args.host,
                                               "remote_port": engine.args.port, "remote_block_ids": [0]}
            if not req.get("stream"):
                text = " ".join(words)
                choice = ({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
                          if chat else {"index": 0, "text": text, "finish_reason": "length", "logprobs": None})
                return self.send_json(200, dict({"id": oid, "object": "chat.completion" if chat else "text_completion",
                                                 "created": created, "model": engine.model, "choices": [choice],
                                                 "usage": usage}, **extra))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                last = i == len(words) - 1
                choice = ({"index": 0, "delta": {"content": piece}, "finish_reason": "length" if last else None}
                          if chat else {"index": 0, "text": piece, "finish_reason": "length" if last else None})
                chunk = dict({"id": oid, "object": "chat.completion.chunk" if chat else "text_completion",
                              "created": created, "model": engine.model, "choices": [choice]}, **extra)
                if last:
                    chunk["usage"] = usage
                self.chunk("data: %s\n\n" % json.dumps(chunk))
                time.sleep(0.01)
            self.chunk("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            return None

        def chunk(self, text):
            data = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def words_for(self, prompt, count, trace):
            words = engine.words(prompt, count)
            if trace["decode"]:  # the answer itself says which P and D produced it
                words = ["[prefill=%s decode=%s]" % (trace["prefill"], trace["decode"])] + words[:max(count - 1, 0)]
            return words

    return Handler


def serve(host, port, handler, ctx):
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    if ctx is not None:
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd


def main(argv=None):
    parser = argparse.ArgumentParser(prog="engine_server", description="lab fake of MindIE's engine_server")
    parser.add_argument("--dp-rank", type=int, default=0)
    parser.add_argument("--instance-id", default="0")
    parser.add_argument("--role", choices=("prefill", "decode", "union", "both"), required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mgmt-port", type=int, required=True)
    parser.add_argument("--config-path", required=True)
    args, unknown = parser.parse_known_args(argv)
    engine = Engine(args)
    serve(args.host, args.mgmt_port, make_handler(engine, "mgmt"), server_context(engine.mgmt_tls))
    serve(args.host, args.port, make_handler(engine, "infer"), server_context(engine.infer_tls))
    log("%s up (model %s, config via %s, mgmt TLS %s, infer TLS %s%s)" % (
        engine.ident, engine.model, engine.loader, bool(engine.mgmt_tls.get("enable_tls")),
        bool(engine.infer_tls.get("enable_tls")), ", ignored args %s" % unknown if unknown else ""))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
