#!/usr/bin/env python3
"""metrics_check.py FILE: is FILE (a /metrics reply) Prometheus text format?

The prometheus_client parser reads it (a ValueError is a failure), and since
that parser is laxer than Prometheus itself, also: no sample (name and label
set) twice, every sample under the # TYPE of its family (the family's name;
NAME_bucket, NAME_sum, NAME_count for a histogram; NAME, NAME_sum, NAME_count
for a summary), a family's HELP and TYPE at most once each and its lines
together, and histogram buckets cumulative, ending in le="+Inf" equal to
NAME_count. Each problem is a line on stderr, and the exit status 1. On
success prints every sample as NAME{LABEL="VALUE",...} VALUE (labels sorted),
one a line, for the caller to check values with.
"""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

SUFFIXES = {
    "counter": [""],
    "gauge": [""],
    "untyped": [""],
    "histogram": ["_bucket", "_sum", "_count"],
    "summary": ["", "_sum", "_count"],
}
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def structure(lines, problems):
    """The line-level rules the parser does not enforce."""
    seen = {}  # family -> {"HELP": line, "TYPE": line}
    closed = set()  # families whose lines have ended
    cur, cur_type, cur_samples = None, None, 0
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
                continue
            kind, name = parts[1], parts[2]
            if name in closed:
                problems.append("line %d: # %s %s: family %s already ended above" % (no, kind, name, name))
            if seen.setdefault(name, {}).get(kind):
                problems.append("line %d: # %s %s repeated (first on line %d)" % (no, kind, name, seen[name][kind]))
            seen[name][kind] = no
            if name != cur:
                if cur is not None:
                    closed.add(cur)
                cur, cur_type, cur_samples = name, None, 0
            if kind == "TYPE":
                t = parts[3].strip() if len(parts) > 3 else ""
                if t not in SUFFIXES:
                    problems.append("line %d: # TYPE %s has unknown type %r" % (no, name, t))
                if cur_samples:
                    problems.append("line %d: # TYPE %s after its samples" % (no, name))
                cur_type = t
            continue
        m = NAME.match(line)
        if not m:
            problems.append("line %d: not a sample: %r" % (no, line[:80]))
            continue
        sample = m.group(0)
        if cur is None or cur_type is None:
            problems.append("line %d: sample %s under no # TYPE" % (no, sample))
        elif sample not in [cur + s for s in SUFFIXES.get(cur_type, [""])]:
            problems.append("line %d: sample %s is not of family %s (# TYPE %s %s)" % (no, sample, cur, cur, cur_type))
        cur_samples += 1


def show(name, labels):
    return name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}" if labels else "")


def number(v):
    return "%d" % v if v == int(v) else repr(v)


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    problems = []
    structure(text.splitlines(), problems)
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as e:
        families = []
        problems.append("the prometheus_client parser rejects it: %s" % e)
    count = {}
    out = []
    for fam in families:
        for s in fam.samples:
            key = show(s.name, s.labels)
            count[key] = count.get(key, 0) + 1
            out.append("%s %s" % (key, number(s.value)))
        if fam.type == "histogram":
            series = {}
            for s in fam.samples:
                rest = {k: v for k, v in s.labels.items() if k != "le"}
                series.setdefault(show(fam.name, rest), {}).setdefault(s.name, []).append((s.labels.get("le"), s.value))
            for key, parts in series.items():
                buckets = parts.get(fam.name + "_bucket", [])
                les = [float(le) for le, _ in buckets]
                values = [v for _, v in buckets]
                if les != sorted(les) or values != sorted(values):
                    problems.append("%s: buckets not in order or not cumulative: %s" % (key, buckets))
                if not buckets or les[-1] != float("inf"):
                    problems.append("%s: no le=\"+Inf\" bucket" % key)
                elif [v for _, v in parts.get(fam.name + "_count", [])] != [values[-1]]:
                    problems.append("%s: _count is not the +Inf bucket" % key)
    for key, n in count.items():
        if n > 1:
            problems.append("sample %s appears %d times" % (key, n))
    for p in problems:
        print("metrics_check: " + p, file=sys.stderr)
    if problems:
        return 1
    print("\n".join(sorted(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
