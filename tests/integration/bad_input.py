#!/usr/bin/env python3
"""bad_input.py: the table of malformed and hostile requests of
test_bad_input.sh, sent over raw sockets (duplicate headers, NUL bytes,
lying Content-Lengths and truncated bodies are beyond curl).

Each row states the status expected and what the reply must be: a JSON
error (or, for a code that is no code, the JSON typo verdict), an HTML page
that escapes whatever came in, or libevent's own small HTML reply where
libevent answers before packcode-server sees the request (docs/api.md,
"Limits"). After every row /healthz must answer on a new connection. Prints
one line per row and, last, "scans=N": how many scan records the rows must
have left (landing pages, lookups and claims of a code that is no code are
recorded; requests refused as malformed are not).

Usage: bad_input.py PORT CODE PINCODE XSSCODE
  CODE     a genuine unclaimed code (rows must never award it)
  PINCODE  a genuine code of a batch minted with --pin
  XSSCODE  a genuine code of a product whose name and brand hold HTML
Exit status 0 if every row passed.
"""
import json
import socket
import sys
import time

PORT = int(sys.argv[1])
CODE, PINCODE, XSSCODE = sys.argv[2], sys.argv[3], sys.argv[4]
HOST = "127.0.0.1"
TIMEOUT = 5.0

# what must never appear raw in an HTML reply, whatever was sent
HTML_FORBIDDEN = [b"<script", b"<img", b"<svg", b"<iframe"]


class Reply:
    def __init__(self, raw):
        self.raw = raw
        self.status = None
        self.headers = {}
        self.dup = []
        self.body = b""
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            return
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1].isdigit():
            self.status = int(parts[1])
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            k = k.strip().lower().decode("latin-1")
            self.headers.setdefault(k, v.strip().decode("latin-1"))
        self.body = body
        n = self.headers.get("content-length")
        if n is not None and n.isdigit():
            self.body = body[: int(n)]

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


def exchange(data, half_close=False, linger=TIMEOUT, until_close=False):
    """Send data, read until the server closes (or TIMEOUT): a Reply, or None
    if nothing came back within the time (a hang). until_close: do not stop
    at the first complete reply (pipelined requests)."""
    s = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
    got = b""
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + linger
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return None if not got else Reply(got)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
            r = Reply(got)
            # a complete reply with its Content-Length: no need to wait for the close
            if not until_close and r.status and "content-length" in r.headers and \
                    len(r.body) >= int(r.headers["content-length"] or 0):
                return r
    finally:
        s.close()
    return Reply(got)


def request(method, path, body=None, ctype=None, headers=(), version="HTTP/1.1"):
    h = [f"{method} ".encode() + (path if isinstance(path, bytes) else path.encode()) +
         f" {version}".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    if ctype is not None:
        h.append(b"Content-Type: " + (ctype if isinstance(ctype, bytes) else ctype.encode()))
    for x in headers:
        h.append(x if isinstance(x, bytes) else x.encode())
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        if not any(x.lower().startswith(b"content-length:") or
                   x.lower().startswith(b"transfer-encoding:")
                   for x in (y if isinstance(y, bytes) else y.encode() for y in headers)):
            h.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(h) + b"\r\n\r\n" + (body or b"")


def claim_body(code=None, member=None, pin=None, **extra):
    o = {}
    if code is not None:
        o["code"] = code
    if member is not None:
        o["member"] = member
    if pin is not None:
        o["pin"] = pin
    o.update(extra)
    return json.dumps(o)


# the harness's claims token (an integration's): claims name their member only with it
CLAIMS_TOKEN = sys.argv[5] if len(sys.argv) > 5 else ""
# the claim form's CSRF token before sign-in: its field equals the pc_csrf cookie
FORM_CSRF = "badinputformtokenbadinputformtokenbadinput0"


def api_claim(body, ctype="application/json", headers=()):
    return request("POST", "/api/v1/claims", body, ctype,
                   (f"Authorization: Bearer {CLAIMS_TOKEN}",) + tuple(headers))


def member_read(path):
    """GET a member's path as an admin with the read scope (the harness's token)."""
    return request("GET", path, None, None, (f"Authorization: Bearer {CLAIMS_TOKEN}",))


def form(code, body, ctype="application/x-www-form-urlencoded"):
    """The claim form's first step (the phone) as a page that set pc_csrf posts it."""
    if isinstance(body, str) and ctype == "application/x-www-form-urlencoded":
        body = f"csrf={FORM_CSRF}&step=sms&" + body
    return request("POST", f"/c/{code}/claim", body, ctype, (f"Cookie: pc_csrf={FORM_CSRF}",))


def chunked(payload, size=4000):
    out = b""
    for i in range(0, len(payload), size):
        part = payload[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


SQLI = "' OR '1'='1'; DROP TABLE redemptions; --"
XSS = "<script>alert(1)</script>"
XSS2 = '"><img src=x onerror=alert(1)>'

# (name, request bytes, expected status, kind, scans, options)
# kind: json (JSON error), typo (JSON typo verdict or outcome), html (a page;
# payload escaped), libevent (libevent's own reply), none (no reply: the
# client left first), pipelined (a good reply, then libevent's 400 for the
# request that followed on the connection, and the close).
ROWS = []


def row(name, data, status, kind, scans=0, **opt):
    ROWS.append((name, data, status, kind, scans, opt))


# ---- the claim API: JSON ----
row("truncated JSON", api_claim('{"code": "%s", "member": ' % CODE), 400, "json", error="bad_json")
row("not JSON at all", api_claim("hello"), 400, "json", error="bad_json")
row("JSON array", api_claim('[1, 2, 3]'), 400, "json")
row("JSON string", api_claim('"just a string"'), 400, "json")
row("JSON null", api_claim('null'), 400, "json")
row("code is a number", api_claim('{"code": 5, "member": "alice"}'), 400, "json", error="bad_request")
row("code is a huge number", api_claim('{"code": 1e99999, "member": "alice"}'), 400, "json")
row("member is a number", api_claim(claim_body(code=CODE, member=None) [:-1] + ', "member": 42}'), 400, "json")
row("member is an object", api_claim('{"code": "%s", "member": {"$ne": null}}' % CODE), 400, "json")
row("member is an array", api_claim('{"code": "%s", "member": ["alice"]}' % CODE), 400, "json")
row("pin is a number", api_claim('{"code": "%s", "member": "alice", "pin": 1234}' % PINCODE), 400, "json")
row("pin is true", api_claim('{"code": "%s", "member": "alice", "pin": true}' % PINCODE), 400, "json")
row("code missing", api_claim(claim_body(member="alice")), 400, "json")
row("member missing", api_claim(claim_body(code=CODE)), 400, "json")
row("duplicate keys", api_claim('{"code": "%s", "member": "alice", "member": "bob"}' % CODE), 400,
    "json", error="bad_json")
row("empty body", api_claim(""), 400, "json", error="bad_json")
row("whitespace body", api_claim("  \r\n\t "), 400, "json", error="bad_json")
row("JSON nested 8000 deep", api_claim("[" * 8000), 400, "json", error="bad_json")
row("trailing garbage after JSON", api_claim(claim_body(code=CODE, member="alice") + "xyz"), 400,
    "json", error="bad_json")
row("UTF-16 body", api_claim(claim_body(code=CODE, member="alice").encode("utf-16"),
                             "application/json; charset=utf-16"), 400, "json", error="bad_json")
row("code over 64 characters", api_claim(claim_body(code="7" * 65, member="alice")), 400, "json",
    error="bad_request")
row("code of 10,000 characters", api_claim(claim_body(code="A" * 10000, member="alice")), 400, "json")
row("member over 64 characters", api_claim(claim_body(code=CODE, member="a" * 65)), 400, "json",
    error="bad_request")
row("phone number of 16 digits", api_claim(claim_body(code=CODE, member="+" + "1" * 16)), 400, "json")
row("pin over 16 characters", api_claim(claim_body(code=PINCODE, member="alice", pin="1" * 17)), 400,
    "json", error="bad_request")
row("NUL escape in code", api_claim('{"code": "AB\\u0000CD", "member": "alice"}'), 400, "json",
    error="bad_json")
row("NUL escape in member", api_claim('{"code": "%s", "member": "al\\u0000ice"}' % CODE), 400, "json",
    error="bad_json")
row("NUL escape in pin", api_claim('{"code": "%s", "member": "alice", "pin": "12\\u000034"}' % PINCODE),
    400, "json", error="bad_json")
row("raw NUL byte in a JSON string", api_claim(b'{"code": "AB\x00CD", "member": "alice"}'), 400,
    "json", error="bad_json")
row("raw control byte in a JSON string", api_claim(b'{"code": "%s", "member": "al\x01ice"}' % CODE.encode()),
    400, "json", error="bad_json")
row("invalid UTF-8 in member", api_claim(b'{"code": "%s", "member": "al\xffice"}' % CODE.encode()),
    400, "json", error="bad_json")
row("overlong UTF-8 encoding of '/'", api_claim(b'{"code": "%s", "member": "a\xc0\xafb"}' % CODE.encode()),
    400, "json", error="bad_json")
row("invalid UTF-8 in code", api_claim(b'{"code": "\xfe\xfe", "member": "alice"}'), 400, "json",
    error="bad_json")
row("lone surrogate in member", api_claim('{"code": "%s", "member": "al\\ud800ice"}' % CODE), 400,
    "json", error="bad_json")
row("member that is not an id (Han)", api_claim(claim_body(code=CODE, member="李雷")), 400, "json",
    error="bad_request")
row("SQL injection in code", api_claim(claim_body(code=SQLI, member="alice")), 400, "typo", scans=1)
row("SQL injection in member", api_claim(claim_body(code=CODE, member=SQLI)), 400, "json",
    error="bad_request")
row("SQL injection in member, phone form", api_claim(claim_body(code=CODE, member="+86 138' OR 1=1")),
    400, "json", error="bad_request")
row("SQL injection in pin", api_claim(claim_body(code=PINCODE, member="alice", pin="1' OR '1'='1")),
    400, "json", error="bad_request")
row("HTML in code", api_claim(claim_body(code=XSS, member="alice")), 400, "typo", scans=1)
row("HTML in member", api_claim(claim_body(code=CODE, member=XSS2)), 400, "json", error="bad_request")
row("HTML in pin", api_claim(claim_body(code=PINCODE, member="alice", pin=XSS)), 400, "json",
    error="bad_request")
row("PIN batch code, no PIN, bad member", api_claim(claim_body(code=PINCODE, member="-x")), 400, "json")

# ---- the claim API: content types, sizes, framing ----
row("text/plain body", api_claim(claim_body(code=CODE, member="alice"), "text/plain"), 415, "json",
    error="unsupported_media_type")
row("no Content-Type", api_claim(claim_body(code=CODE, member="alice"), None), 415, "json")
row("application/jsonx", api_claim(claim_body(code=CODE, member="alice"), "application/jsonx"), 415,
    "json")
row("form body to the JSON API", api_claim("code=%s&member=alice" % CODE,
                                           "application/x-www-form-urlencoded"), 415, "json")
row("multipart body", api_claim("--x\r\n\r\n--x--", "multipart/form-data; boundary=x"), 415, "json")
row("body of 17 KB", api_claim(claim_body(code=CODE, member="alice", pad="x" * 17000)), 413, "json",
    error="body_too_large")
row("chunked body of 20 KB", api_claim(chunked(claim_body(code=CODE, member="alice",
                                                          pad="x" * 20000).encode()),
                                       headers=["Transfer-Encoding: chunked"]), 413, "json",
    error="body_too_large")
row("chunked body of 300 KB", api_claim(chunked(b"x" * 300000, 65536),
                                        headers=["Transfer-Encoding: chunked"]), 413, "libevent")
row("Content-Length of 1 TB, small body",
    api_claim(b'{"code":"x"}', headers=["Content-Length: 1000000000000"]), 413, "libevent")
row("Content-Length past 2^63", api_claim(b'{}', headers=["Content-Length: 99999999999999999999"]),
    413, "libevent")
row("negative Content-Length", api_claim(b'{}', headers=["Content-Length: -5"]), 400, "libevent")
row("Content-Length not a number", api_claim(b'{}', headers=["Content-Length: ten"]), 400, "libevent")
row("truncated body (Content-Length 100, 40 sent, then EOF)",
    api_claim(b'{"code": "%s", "member": "ali' % CODE.encode(), headers=["Content-Length: 100"]),
    None, "none", half_close=True)
row("two different Content-Lengths",
    api_claim(claim_body(code=CODE, member="alice"),
              headers=["Content-Length: 10", "Content-Length: %d" %
                       len(claim_body(code=CODE, member="alice"))]), 400, "json",
    error="bad_request")
row("two Content-Types", api_claim(claim_body(code=CODE, member="alice"),
                                   headers=["Content-Type: text/plain"]), 400, "json",
    error="bad_request")
row("two Content-Lengths, the same", api_claim(claim_body(code=CODE, member="alice"),
                                               headers=["Content-Length: %d" % len(claim_body(code=CODE, member="alice"))] * 2),
    400, "json", error="bad_request")
row("two Transfer-Encodings", api_claim(chunked(claim_body(code=CODE, member="alice").encode()),
                                        headers=["Transfer-Encoding: chunked", "Transfer-Encoding: identity"]),
    400, "libevent")
row("two Transfer-Encodings, identity first",
    api_claim(chunked(claim_body(code=CODE, member="alice").encode()),
              headers=["Transfer-Encoding: identity", "Transfer-Encoding: chunked"]), 400,
    "libevent")
row("two Hosts", request("GET", "/api/v1/codes/" + CODE, headers=["Host: evil.example"]), 400, "json",
    error="bad_request")
row("chunked and Content-Length together",
    api_claim(chunked(claim_body(code=CODE, member="-bad").encode()),
              headers=["Transfer-Encoding: chunked", "Content-Length: 5"]), 400, "libevent")

# ---- methods ----
row("unknown method FOO", request("FOO", "/api/v1/claims"), 501, "libevent")
row("lower-case method get", request("get", "/healthz"), 501, "libevent")
row("WebDAV method PROPFIND", request("PROPFIND", "/c/" + CODE), 501, "libevent")
row("PUT on claims", request("PUT", "/api/v1/claims", claim_body(code=CODE, member="alice"),
                             "application/json"), 405, "json", allow="POST")
row("DELETE on a landing page", request("DELETE", "/c/" + CODE), 405, "json", allow="GET, HEAD")
# an admin route: who asks comes first (401), then the method
row("PATCH on a member", request("PATCH", "/api/v1/members/alice", "{}", "application/json"), 401,
    "json")
row("OPTIONS on healthz", request("OPTIONS", "/healthz"), 405, "json")
row("TRACE on claims", request("TRACE", "/api/v1/claims"), 405, "json")
row("CONNECT to a host", request("CONNECT", "example.com:443"), 404, "json")
row("GET on claims", request("GET", "/api/v1/claims"), 405, "json")

# ---- paths: traversal, NUL, encodings, injection ----
row("path traversal below /c/", request("GET", "/c/../../etc/passwd"), 404, "json", error="not_found")
row("path traversal at the root", request("GET", "/../../etc/passwd"), 404, "json")
row("encoded traversal %2e%2e at the root", request("GET", "/%2e%2e/%2e%2e/etc/passwd"), 404, "json")
row("encoded traversal as a landing code", request("GET", "/c/%2e%2e%2f%2e%2e%2fetc%2fpasswd"), 400,
    "html", scans=1, absent=[b"root:"])
row("encoded traversal as a lookup code", request("GET", "/api/v1/codes/..%2f..%2fetc%2fpasswd"), 400,
    "typo", scans=1)
row("encoded traversal as a member", member_read("/api/v1/members/..%2f..%2fetc%2fpasswd"), 400,
    "json")
row("traversal after a member", member_read("/api/v1/members/alice/../../etc"), 400, "json")
row("traversal after a code", request("GET", "/api/v1/codes/%s/../x" % CODE), 404, "json")
row("%00 in a lookup code", request("GET", "/api/v1/codes/AB%00CD"), 400, "json")
row("%00 in a landing code", request("GET", "/c/AB%00CD"), 400, "html", scans=1)
row("%00 in a member", member_read("/api/v1/members/al%00ice"), 400, "json")
row("raw NUL byte in the path", request("GET", b"/c/AB\x00CD"), 400, "libevent")
row("invalid UTF-8 in a landing code", request("GET", "/c/%FF%FE%C0%AF"), 400, "html", scans=1)
row("invalid UTF-8 in a member", member_read("/api/v1/members/%FF"), 400, "json")
row("broken percent-escape in a member", member_read("/api/v1/members/al%ZZice"), 400, "json")
row("SQL injection in a lookup path", request("GET", "/api/v1/codes/'%20OR%201=1--"), 400, "typo",
    scans=1)
row("SQL injection in a member path", member_read("/api/v1/members/x'%20OR%20'1'='1"), 400, "json")
row("SQL injection in the limit query", member_read("/api/v1/members/alice?limit=1;DROP%20TABLE%20ledger"),
    400, "json")
row("SQL injection in the before query", member_read("/api/v1/members/alice?before=1%20OR%201=1"),
    400, "json")
row("limit 0", member_read("/api/v1/members/alice?limit=0"), 400, "json")
row("limit past 2^64", member_read("/api/v1/members/alice?limit=99999999999999999999"), 400, "json")
row("HTML in a landing code", request("GET", "/c/%3Cscript%3Ealert(1)%3C%2Fscript%3E"), 400, "html",
    scans=1)
row("HTML attribute breakout in a landing code",
    request("GET", "/c/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E"), 400, "html", scans=1)
row("HTML in a landing code and query", request("GET", "/c/%3Csvg%3E?x=%3Cscript%3E"), 400, "html",
    scans=1)
row("HTML in a lookup code", request("GET", "/api/v1/codes/%3Cscript%3Ealert(1)%3C%2Fscript%3E"), 400,
    "typo", scans=1)
# a consumer route: a page without Accept (as a browser), JSON when Accept asks for it
row("HTML in a GS1 Digital Link GTIN", request("GET", "/01/%3Cscript%3E/21/" + CODE), 404, "html")
row("HTML in a GS1 Digital Link GTIN, for an API client",
    request("GET", "/01/%3Cscript%3E/21/" + CODE, headers=["Accept: application/json"]), 404, "json")
row("HTML in a GS1 Digital Link serial", request("GET", "/01/09506000134352/21/%3Cscript%3E"), 400,
    "html", scans=1)
row("GS1 Digital Link with a broken escape", request("GET", "/01/09506000134352/21/%ZZ"), 404, "html")
row("path of 3000 characters", request("GET", "/api/v1/codes/" + "A" * 3000), 414, "json",
    error="uri_too_long")

# ---- headers ----
row("SQL and HTML in User-Agent", request("GET", "/api/v1/codes/NOT-A-CODE",
                                          headers=["User-Agent: " + SQLI + XSS]), 400, "typo", scans=1)
row("HTML in Accept-Language", request("GET", "/c/NOTACODE",
                                       headers=["Accept-Language: zh;q=" + XSS + ", en;q=1e999"]),
    400, "html", scans=1)
row("header of 9 KB", request("GET", "/healthz", headers=["X-Big: " + "x" * 9000]), 400, "libevent")
row("header line without a colon", request("GET", "/healthz", headers=["NoColonHere"]), 400, "libevent")
row("NUL byte in a header", request("GET", "/api/v1/codes/NOTACODE", headers=[b"User-Agent: a\x00b"]),
    400, "typo", scans=1)
row("HTTP/9.9", request("GET", "/healthz", version="HTTP/9.9"), 400, "libevent")
row("no HTTP version", b"GET /healthz\r\n\r\n", 400, "libevent")
row("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "libevent")

# ---- strict HTTP/1.1 framing: refused before routing (libevent's 400, Connection: close) ----
# libevent 2.1 alone would take each of these as some request: a proxy in
# front may have framed it otherwise (request smuggling), so none is served.
GOOD_CLAIM = claim_body(code=CODE, member="-bad")  # framed right it is a 400 bad_request
row("space before a header's colon", b"GET /healthz HTTP/1.1\r\nHost : 127.0.0.1\r\n"
    b"Connection: close\r\n\r\n", 400, "libevent")
row("tab before Transfer-Encoding's colon",
    api_claim(chunked(GOOD_CLAIM.encode()), headers=["Transfer-Encoding\t: chunked"]), 400,
    "libevent")
row("header name with a non-token character", request("GET", "/healthz", headers=["X(y): 1"]),
    400, "libevent")
row("header name with a non-ASCII byte", request("GET", "/healthz", headers=[b"X-\xc3\xa9: 1"]),
    400, "libevent")
row("folded header line (obs-fold)", request("GET", "/healthz", headers=["X-A: 1", " folded"]),
    400, "libevent")
row("Transfer-Encoding: gzip, chunked",
    api_claim(chunked(GOOD_CLAIM.encode()), headers=["Transfer-Encoding: gzip, chunked"]), 400,
    "libevent")
row("Transfer-Encoding: chunked, identity",
    api_claim(chunked(GOOD_CLAIM.encode()), headers=["Transfer-Encoding: chunked, identity"]),
    400, "libevent")
row("Transfer-Encoding: identity with a Content-Length",
    api_claim(GOOD_CLAIM, headers=["Transfer-Encoding: identity",
                                   "Content-Length: %d" % len(GOOD_CLAIM)]), 400, "libevent")
row("Transfer-Encoding: chunked;ext",
    api_claim(chunked(GOOD_CLAIM.encode()), headers=["Transfer-Encoding: chunked;x=1"]), 400,
    "libevent")
row("Transfer-Encoding: CHUNKED is chunked",
    api_claim(chunked(GOOD_CLAIM.encode()), headers=["Transfer-Encoding: CHUNKED"]), 400, "json",
    error="bad_request")
row("Content-Length: +N", api_claim(GOOD_CLAIM, headers=["Content-Length: +%d" % len(GOOD_CLAIM)]),
    400, "libevent")
row("Content-Length: +N, no body sent", api_claim(b"", headers=["Content-Length: +5"]), 400,
    "libevent")
row("Content-Length after a vertical tab",
    api_claim(GOOD_CLAIM, headers=["Content-Length: \x0b%d" % len(GOOD_CLAIM)]), 400, "libevent")
row("Content-Length: N,N",
    api_claim(GOOD_CLAIM, headers=["Content-Length: %d,%d" % (len(GOOD_CLAIM), len(GOOD_CLAIM))]),
    400, "libevent")
row("Content-Length: N N",
    api_claim(GOOD_CLAIM, headers=["Content-Length: %d %d" % (len(GOOD_CLAIM), len(GOOD_CLAIM))]),
    400, "libevent")
row("Content-Length between spaces and tabs is N",
    api_claim(GOOD_CLAIM, headers=["Content-Length: \t %d \t" % len(GOOD_CLAIM)]), 400, "json",
    error="bad_request")
row("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400,
    "libevent")
for v in ["HTTP/1.4294967297", "HTTP/1.99999999999", "HTTP/01.1", "HTTP/+1.1", "HTTP/-1.1",
          "HTTP/1.10", "HTTP/1.1 "]:
    row("version %r" % v, request("GET", "/healthz", version=v), 400, "libevent")
row("two spaces in the request line", request("GET", " /healthz"), 400, "libevent")
row("bare CR in a header value", request("GET", "/healthz", headers=[b"X-A: a\rb"]), 400,
    "libevent")
row("a good request, then a pipelined one with a space before a colon",
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    b"GET /healthz HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n", 200, "pipelined")

# ---- the landing page's claim form ----
row("form: HTML in phone", form(CODE, "phone=%3Cscript%3Ealert(1)%3C%2Fscript%3E"), 400, "html")
row("form: SQL injection in phone", form(CODE, "phone=%27%20OR%201%3D1%20--"), 400, "html")
row("form: HTML in pin", form(PINCODE, "phone=alice&pin=%3Cscript%3E"), 400, "html")
row("form: broken escape", form(CODE, "phone=al%ZZice"), 400, "json", error="bad_request")
row("form: invalid UTF-8 phone", form(CODE, "phone=al%FFice"), 400, "json", error="bad_request")
row("form: NUL in phone", form(CODE, "phone=al%00ice"), 400, "json", error="bad_request")
row("form: phone of 1000 characters", form(CODE, "phone=" + "a" * 1000), 400, "json",
    error="bad_request")
row("form: HTML in the code of the path", form("%3Cscript%3E", "phone=alice"), 400, "html")
row("form: JSON body", form(CODE, claim_body(member="alice"), "application/json"), 415, "json")
row("form: body of 17 KB", form(CODE, "phone=alice&pad=" + "x" * 17000), 413, "json")

# ---- stored HTML: a product whose name and brand hold markup ----
row("landing page of a product named with HTML", request("GET", "/c/" + XSSCODE), 200, "html",
    scans=1, escaped=[b"&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;",
                      b"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"])

# ---- the client leaves before the reply ----
row("client gone before the reply", request("GET", "/api/v1/codes/" + CODE), None, "none", scans=1,
    reset=True)


def check(name, data, status, kind, opt):
    """Send one row; return a list of problems (empty if it passed)."""
    problems = []
    if opt.get("reset"):
        s = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
        s.sendall(data)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST at once
        time.sleep(0.2)
        return problems
    r = exchange(data, half_close=opt.get("half_close", False), until_close=kind == "pipelined")
    if r is None:
        return ["no reply within %.0f s (a hang)" % TIMEOUT]
    if kind == "none":
        if r.raw:
            problems.append("expected no reply, got %r" % r.raw[:200])
        return problems
    if r.status != status:
        problems.append("status %s, expected %s: %r" % (r.status, status, r.raw[:300]))
        return problems
    ctype = r.headers.get("content-type", "")
    if kind in ("json", "typo"):
        if not ctype.startswith("application/json"):
            problems.append("Content-Type %r, not JSON" % ctype)
        o = r.json()
        if not isinstance(o, dict):
            problems.append("body is not a JSON object: %r" % r.body[:200])
            return problems
        if kind == "json":
            if not isinstance(o.get("error"), str) or not isinstance(o.get("message"), str):
                problems.append("no error and message: %r" % o)
            if "error" in opt and o.get("error") != opt["error"]:
                problems.append("error %r, expected %r" % (o.get("error"), opt["error"]))
        elif o.get("verdict", o.get("outcome")) != "typo":
            problems.append("not the typo verdict: %r" % o)
        if "allow" in opt and r.headers.get("allow") != opt["allow"]:
            problems.append("Allow %r, expected %r" % (r.headers.get("allow"), opt["allow"]))
    elif kind == "html":
        if not ctype.startswith("text/html"):
            problems.append("Content-Type %r, not HTML" % ctype)
        if b"<html" not in r.body:
            problems.append("not a page: %r" % r.body[:200])
        low = r.body.lower()
        for bad in HTML_FORBIDDEN + opt.get("absent", []):
            if bad in low:
                i = low.index(bad)
                problems.append("unescaped %r in the page: %r" % (bad, r.body[max(0, i - 80):i + 80]))
        for good in opt.get("escaped", []):
            if good not in r.body:
                problems.append("%r not shown escaped in the page" % good)
        if "script-src" in r.headers.get("content-security-policy", "") or \
                "default-src 'none'" not in r.headers.get("content-security-policy", ""):
            problems.append("CSP %r" % r.headers.get("content-security-policy"))
    elif kind == "pipelined":
        # the first reply served, the second request refused, the connection closed
        rest = r.raw.split(b"\r\n\r\n", 1)[1][len(r.body):] if b"\r\n\r\n" in r.raw else b""
        second = Reply(rest)
        if second.status != 400 or b"<TITLE>400 " not in second.body:
            problems.append("the pipelined request was not refused: %r" % rest[:300])
        if second.headers.get("connection", "").lower() != "close":
            problems.append("the refusal does not close the connection")
    elif kind == "libevent":
        # libevent's own reply (docs/api.md): its small HTML page, the connection closed
        if not ctype.startswith("text/html") or b"<TITLE>%d " % status not in r.body:
            problems.append("not libevent's %d page: %r" % (status, r.raw[:300]))
        if r.headers.get("connection", "").lower() != "close":
            problems.append("libevent's reply does not close the connection")
    return problems


def healthy():
    r = exchange(request("GET", "/healthz"))
    return r is not None and r.status == 200 and r.json() == {"status": "ok"}


def main():
    failed = 0
    scans = 0
    if len(ROWS) < 50:
        print("FAIL - only %d rows" % len(ROWS))
        return 1
    for name, data, status, kind, nscans, opt in ROWS:
        problems = check(name, data, status, kind, opt)
        if not healthy():
            problems.append("/healthz does not answer afterwards")
        scans += nscans
        if problems:
            failed += 1
            print("FAIL - %s: %s" % (name, "; ".join(problems)))
        else:
            print("ok - %s (%s)" % (name, status if status else "no reply"))
        if problems and not healthy():
            print("FAIL - the server is down; stopping")
            break
    print("rows=%d failed=%d" % (len(ROWS), failed))
    print("scans=%d" % scans)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
