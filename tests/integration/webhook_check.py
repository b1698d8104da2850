#!/usr/bin/env python3
"""webhook_check.py: what a receiver (webhook_receiver.py) logged, checked.

  webhook_check.py LOG SECRET VERIFY_PY EXPECTED [--exact]

EXPECTED holds the events the receiver should have got, one a line:
"ID TYPE SUBJECT" (from the database's outbox). Checks, each failure a line
on stderr and exit status 1:

- every expected event arrived (the receiver answered 2xx in time) at least
  once, and (--exact) no other event came at all;
- every request of one event carries the same body, byte for byte, and
  Packcode-Event-Id, Packcode-Event and the body agree with EXPECTED;
- every request's Packcode-Signature verifies with SECRET by verify() of
  VERIFY_PY (the documented snippet, docs/webhooks.md), and neither a body
  changed by one byte nor another secret does;
- per subject, events came in their order: in arrival order, the event ids
  of one subject never go down (retries repeat one, the next comes after).

On success prints "requests=N events=N retried=N" and the receiver's actions.
"""
import json
import sys
from collections import Counter, defaultdict


def main():
    log, secret, verify_py, expected_file = sys.argv[1:5]
    exact = "--exact" in sys.argv[5:]
    ns = {}
    with open(verify_py, encoding="utf-8") as f:
        exec(compile(f.read(), verify_py, "exec"), ns)
    verify = ns["verify"]
    problems = []
    expected = {}
    with open(expected_file, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                eid, typ, subject = line.split(None, 2)
                expected[eid] = (typ, subject.strip())
    reqs = [json.loads(line) for line in open(log, encoding="utf-8") if line.strip()]
    reqs.sort(key=lambda r: r["at"])
    bodies = {}
    arrived = set()
    by_event = Counter()
    last_of_subject = defaultdict(int)
    for r in reqs:
        eid = r["event_id"]
        by_event[eid] += 1
        body = r["body"].encode("utf-8")
        try:
            payload = json.loads(body)
        except ValueError:
            problems.append("event %s: the body is not JSON: %r" % (eid, r["body"][:80]))
            continue
        if str(payload.get("id")) != eid:
            problems.append("event %s: the body's id is %r" % (eid, payload.get("id")))
        if payload.get("type") != r["event"]:
            problems.append("event %s: Packcode-Event %r, body type %r" % (eid, r["event"], payload.get("type")))
        if r["content_type"] != "application/json":
            problems.append("event %s: Content-Type %r" % (eid, r["content_type"]))
        if eid in bodies and bodies[eid] != body:
            problems.append("event %s: a retry's body differs from the first" % eid)
        bodies.setdefault(eid, body)
        if eid not in expected:
            if exact:
                problems.append("event %s (%s) was not expected here" % (eid, r["event"]))
        elif (payload.get("type"), payload.get("subject")) != expected[eid]:
            problems.append("event %s: %s %s, expected %s %s" % ((eid, payload.get("type"), payload.get("subject")) + expected[eid]))
        sig = r["signature"] or ""
        if not verify(secret, sig, body):
            problems.append("event %s attempt %s: the signature does not verify: %s" % (eid, r["attempt"], sig))
        if verify(secret, sig, body + b" ") or verify(secret + "x", sig, body):
            problems.append("event %s: a changed body or another secret verifies too" % eid)
        subject = payload.get("subject")
        if int(eid) < last_of_subject[subject]:
            problems.append("subject %s: event %s came after event %d" % (subject, eid, last_of_subject[subject]))
        last_of_subject[subject] = max(last_of_subject[subject], int(eid))
        if r["action"] in ("accept", "slow"):
            arrived.add(eid)
    missing = sorted(set(expected) - arrived, key=int)
    if missing:
        problems.append("%d events never arrived: %s" % (len(missing), " ".join(missing[:20])))
    for p in problems[:30]:
        print(p, file=sys.stderr)
    if problems:
        return 1
    actions = Counter(r["action"] for r in reqs)
    print("requests=%d events=%d retried=%d %s" % (
        len(reqs), len(by_event), sum(1 for n in by_event.values() if n > 1),
        " ".join("%s=%d" % kv for kv in sorted(actions.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
