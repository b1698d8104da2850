#!/usr/bin/env python3
"""webhook_receiver.py: a webhook receiver on 127.0.0.1 for the tests.

  webhook_receiver.py PORT_FILE LOG_FILE [--mode accept|random] [--seed N]
                      [--client-timeout S] [--lifetime S]

Listens on a free port of 127.0.0.1 (written to PORT_FILE once it listens)
and appends one JSON line per request to LOG_FILE: when it came, its
Packcode-* headers, its raw body, and what the receiver did with it:

  accept   200 at once
  slow     200 after a pause well within the client's timeout
  error    500
  timeout  200 only after the client's timeout has passed (the client gave up)

--mode accept always accepts, --mode hang always times out; --mode random picks (seeded by --seed): error
10 %, timeout 10 %, slow 15 %, accept otherwise. A request "arrived" when it
was accepted or slow: the sender saw a 2xx. It exits by itself after
--lifetime seconds (default 300), so a test that forgets it cannot leave it
running.
"""
import argparse
import json
import os
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("log_file")
    ap.add_argument("--mode", choices=("accept", "random", "hang"), default="accept")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--client-timeout", type=float, default=1.0)
    ap.add_argument("--lifetime", type=float, default=300.0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lock = threading.Lock()
    log = open(args.log_file, "a", encoding="utf-8")

    def pick():
        if args.mode in ("accept", "hang"):
            return "accept" if args.mode == "accept" else "timeout"
        with lock:
            x = rng.random()
        if x < 0.10:
            return "error"
        if x < 0.20:
            return "timeout"
        if x < 0.35:
            return "slow"
        return "accept"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def setup(self):
            super().setup()
            # headers and body go out in two writes: no Nagle wait between them
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            action = pick()
            entry = {
                "at": time.time(),
                "path": self.path,
                "signature": self.headers.get("Packcode-Signature"),
                "event_id": self.headers.get("Packcode-Event-Id"),
                "event": self.headers.get("Packcode-Event"),
                "attempt": self.headers.get("Packcode-Attempt"),
                "webhook": self.headers.get("Packcode-Webhook-Id"),
                "content_type": self.headers.get("Content-Type"),
                "body": body.decode("utf-8"),
                "action": action,
            }
            # logged before the answer: a test that saw the sender's success sees the line
            with lock:
                log.write(json.dumps(entry) + "\n")
                log.flush()
            if action == "slow":
                time.sleep(args.client_timeout * 0.3)
            elif action == "timeout":
                time.sleep(args.client_timeout + 0.5)
            status = 500 if action == "error" else 200
            reply = b'{"error":"random failure"}' if status == 500 else b"{}"
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except OSError:
                pass  # the client gave up (timeout)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    threading.Timer(args.lifetime, srv.shutdown).start()
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
