#!/usr/bin/env python3
"""export_check.py: an export read back by an independent parser.

  export_check.py csv|jsonl FILE   prints the rows (CSV: without its header)
                                   and fails on anything csv or json refuse
  export_check.py slow URL TOKEN PID OUT  GET URL (a large export), read 1 MiB,
                                   pause 3 s (the server must hold, not buffer),
                                   then read to the end into OUT; samples the
                                   server's RSS (PID) every 50 ms all along and
                                   prints "rows=N base_kib=B max_kib=M"
  export_check.py cut URL TOKEN    read 1 MiB of URL and hang up
"""
import csv
import http.client
import json
import sys
import threading
import time
import urllib.parse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def get(url, token):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("GET", u.path + ("?" + u.query if u.query else ""),
              headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    if r.status != 200:
        sys.exit(f"status {r.status}: {r.read()[:300]!r}")
    return c, r


def main():
    mode = sys.argv[1]
    if mode in ("csv", "jsonl"):
        with open(sys.argv[2], newline="", encoding="utf-8") as f:
            if mode == "csv":
                rows = list(csv.reader(f, strict=True))
                print(len(rows) - 1)
                json.dump(rows, open(sys.argv[2] + ".json", "w"))
            else:
                rows = [json.loads(line) for line in f]
                print(len(rows))
                json.dump(rows, open(sys.argv[2] + ".json", "w"))
        return
    if mode == "cut":
        c, r = get(sys.argv[2], sys.argv[3])
        r.read(1 << 20)
        c.sock.close()
        return
    url, token, pid, out = sys.argv[2:6]
    base = rss_kib(pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.05)

    t = threading.Thread(target=sample)
    t.start()
    c, r = get(url, token)
    lines = 0
    with open(out, "wb") as f:
        first = r.read(1 << 20)
        f.write(first)
        time.sleep(3)
        while True:
            b = r.read(1 << 16)
            if not b:
                break
            f.write(b)
    done.set()
    t.join()
    with open(out, newline="", encoding="utf-8") as f:
        lines = sum(1 for _ in csv.reader(f, strict=True)) - 1
    print(f"rows={lines} base_kib={base} max_kib={peak[0]}")


main()
