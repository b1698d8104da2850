#!/usr/bin/env python3
"""payment_provider.py: a payment provider's payout API on 127.0.0.1 for the tests.

  payment_provider.py PORT_FILE SECRET_FILE CALLBACK [--seed N]
                      [--client-timeout S] [--fail-every N] [--lifetime S]
                      [--no-callbacks] [--pending-answers N]

Takes payouts as packcode-server's payout dispatcher sends them (POST, JSON
body, Idempotency-Key, Packcode-Signature: HMAC-SHA256 of "T." + body under
the shared secret, refused 401 when wrong) and pays each idempotency key at
most once, as WeChat Pay, Alipay and PayPal payouts do. What it does with a
request for a key it has not settled yet is drawn from a seeded generator:

  accept    200, paid; a signed callback "paid" later (a fifth of them twice)
  fail      200, then a callback "failed" later: the payout is not paid
  refuse    422: not paid (a definitive no, the payout is failed)
  error     503: not paid (try again)
  timeout   no reply within the client's timeout; half of them paid first
            (the client cannot know), with their callback

A key it settled already is answered 200 again with its status
({"status": "paid"} or "failed": what a payer asking about a payout it sent
reads) and its callback sent again (never paid twice); with
--pending-answers N the first N questions about a key (requests with
Packcode-Query, the dispatcher asking about a payout it sent) answer
{"status": "pending"} instead (settling takes a while). --no-callbacks
swallows every callback (counted in "swallowed"): only asking again
settles a payout then. Payouts whose serial is divisible by --fail-every get
503 every time (the dispatcher gives up: failed, returned). The callbacks
go to CALLBACK (a URL, or @FILE: the URL in FILE, read when it is
needed, so the server may start after the provider), signed like the requests, each sent until it is
answered (at most 5 times). GET /state answers what it did: paid (key ->
amount), failed keys, requests per key, the distinct bodies per key (their
SHA-256), callbacks sent, swallowed and still to send, pending answers. It exits by itself
after --lifetime seconds.
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def sign(secret, body):
    t = str(int(time.time()))
    mac = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return "t=%s,v1=%s" % (t, mac)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("secret_file")
    ap.add_argument("callback")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--client-timeout", type=float, default=1.0)
    ap.add_argument("--fail-every", type=int, default=37)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--no-callbacks", action="store_true")
    ap.add_argument("--pending-answers", type=int, default=0)
    # payouts whose serial is a multiple of N: paid on the first request, and
    # no request to send them is ever answered in time (only a question,
    # Packcode-Query, is answered)
    ap.add_argument("--timeout-every", type=int, default=0)
    args = ap.parse_args()
    with open(args.secret_file, "rb") as f:
        secret = f.readline().rstrip(b"\r\n")
    rng = random.Random(args.seed)
    lock = threading.Lock()
    state = {"paid": {}, "failed": [], "requests": {}, "callbacks": 0, "bad_signatures": 0,
             "callback_errors": 0, "callbacks_pending": 0, "swallowed": 0, "bodies": {},
             "pending_answers": 0, "always_late": 0}
    asked = {}  # key -> requests after it was settled
    settled = {}  # key -> "paid" | "failed"

    def callback(key, status, delay):
        with lock:
            if args.no_callbacks:
                state["swallowed"] += 1
                return
            state["callbacks_pending"] += 1

        def run():
            try:
                send()
            finally:
                with lock:
                    state["callbacks_pending"] -= 1

        def send():
            time.sleep(delay)
            body = json.dumps({"idempotency_key": key, "status": status,
                               "provider_ref": "prov-" + key}).encode()
            url = args.callback
            if url.startswith("@"):
                with open(url[1:]) as f:
                    url = f.read().strip()
            for _ in range(5):
                req = urllib.request.Request(url, data=body, method="POST", headers={
                    "Content-Type": "application/json", "Packcode-Signature": sign(secret, body)})
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        if r.status == 200:
                            with lock:
                                state["callbacks"] += 1
                            return
                except Exception:
                    pass
                with lock:
                    state["callback_errors"] += 1
                time.sleep(0.2)
        threading.Thread(target=run, daemon=True).start()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, obj):
            b = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def do_GET(self):
            with lock:
                self.reply(200, state)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            sig = self.headers.get("Packcode-Signature") or ""
            t, _, v1 = sig.partition(",v1=")
            want = hmac.new(secret, t[2:].encode() + b"." + body, hashlib.sha256).hexdigest()
            if not t.startswith("t=") or not hmac.compare_digest(want, v1):
                with lock:
                    state["bad_signatures"] += 1
                return self.reply(401, {"error": "bad signature"})
            p = json.loads(body)
            key = self.headers.get("Idempotency-Key")
            if key != p.get("idempotency_key"):
                return self.reply(400, {"error": "Idempotency-Key is not the body's"})
            with lock:
                state["requests"][key] = state["requests"].get(key, 0) + 1
                digest = hashlib.sha256(body).hexdigest()
                seen = state["bodies"].setdefault(key, [])
                if digest not in seen:
                    seen.append(digest)
                done = settled.get(key)
                if done and self.headers.get("Packcode-Query"):
                    asked[key] = asked.get(key, 0) + 1
                    if asked[key] <= args.pending_answers:
                        state["pending_answers"] += 1
                        done = "pending"
                x = rng.random()
                late = rng.uniform(0.05, 1.5)
                twice = rng.random() < 0.2
            if (args.timeout_every and p["serial"] % args.timeout_every == 0
                    and not self.headers.get("Packcode-Query")):
                with lock:
                    if key not in settled:
                        settled[key] = "paid"
                        state["paid"][key] = p["amount"]
                        state["always_late"] += 1
                time.sleep(args.client_timeout + 0.5)
                try:
                    self.reply(200, {"status": "late"})
                except Exception:
                    pass
                return
            if done:  # idempotent: the same answer, nothing paid again
                if done != "pending":
                    callback(key, done, late)
                return self.reply(200, {"status": done, "idempotency_key": key})
            if args.fail_every and p["serial"] % args.fail_every == 0:
                return self.reply(503, {"error": "unavailable"})
            if x < 0.55:
                act = "accept"
            elif x < 0.65:
                act = "fail"
            elif x < 0.72:
                act = "refuse"
            elif x < 0.85:
                act = "error"
            else:
                act = "timeout"
            pays = act == "accept" or (act == "timeout" and rng.random() < 0.5)
            if pays or act == "fail":
                with lock:
                    settled[key] = "paid" if pays else "failed"
                    if pays:
                        state["paid"][key] = p["amount"]
                    else:
                        state["failed"].append(key)
                callback(key, settled[key], late)
                if twice:
                    callback(key, settled[key], late + rng.uniform(0.1, 1.0))
            if act == "timeout":
                time.sleep(args.client_timeout + 0.5)
                try:
                    self.reply(200, {"status": "late"})
                except Exception:
                    pass
                return
            if act == "refuse":
                return self.reply(422, {"error": "account cannot receive"})
            if act == "error":
                return self.reply(503, {"error": "busy"})
            self.reply(200, {"status": "accepted", "idempotency_key": key})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
