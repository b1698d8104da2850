#!/usr/bin/env python3
"""oauth_provider.py: an OpenID Connect provider and a WeChat OAuth server on
127.0.0.1 for the tests, speaking the real protocols.

  oauth_provider.py PORT_FILE [--client-id ID] [--client-secret S]
                    [--wechat-appid A] [--wechat-secret S] [--lifetime S]

Listens on a free port of 127.0.0.1 (written to PORT_FILE once it listens).

OpenID Connect (issuer http://127.0.0.1:PORT):
  GET  /.well-known/openid-configuration   the discovery document
  GET  /authorize   checks client_id, response_type=code, S256 challenge; the
                    user is who /control names; 302 to redirect_uri with
                    code and state
  POST /token       client_secret_basic; the code once (invalid_grant after),
                    redirect_uri as sent, PKCE S256 checked; an ID token
  GET  /jwks        the keys
WeChat web authorization (snsapi_base):
  GET  /connect/oauth2/authorize   302 to redirect_uri?code=...&state=...
  GET  /sns/oauth2/access_token    {"access_token", "openid", "unionid", ...}
                                   or {"errcode": 40029, "errmsg": "invalid code"}
Test control:
  POST /control {"sub", "alg" (RS256|ES256), "tamper" (signature), "aud",
                 "iss", "exp" (seconds from now), "nonce", "rotate" (true: a new
                 RSA key and kid, the JWKS holds only it from now on, but the
                 next /jwks still answers the old set once if "stale_once"),
                 "openid", "unionid", "delay" (seconds before /token answers)}
  GET  /stats   {"discovery": n, "jwks": n, "token": n, "wechat_token": n}

It exits by itself after --lifetime seconds (default 300).
"""
import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def int_bytes(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return n.to_bytes(size, "big")


class Key:
    def __init__(self, alg, kid):
        self.alg, self.kid = alg, kid
        if alg == "RS256":
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.priv = ec.generate_private_key(ec.SECP256R1())

    def jwk(self):
        pub = self.priv.public_key().public_numbers()
        if self.alg == "RS256":
            return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                    "n": b64u(int_bytes(pub.n)), "e": b64u(int_bytes(pub.e))}
        return {"kty": "EC", "kid": self.kid, "use": "sig", "crv": "P-256",
                "x": b64u(int_bytes(pub.x, 32)), "y": b64u(int_bytes(pub.y, 32))}

    def sign(self, data):
        if self.alg == "RS256":
            return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self.priv.sign(data, ec.ECDSA(hashes.SHA256())))
        return int_bytes(r, 32) + int_bytes(s, 32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("--client-id", default="packcode")
    ap.add_argument("--client-secret", default="s3cret")
    ap.add_argument("--wechat-appid", default="wx0123456789")
    ap.add_argument("--wechat-secret", default="wxsecret")
    ap.add_argument("--lifetime", type=float, default=300.0)
    args = ap.parse_args()
    lock = threading.Lock()
    keys = {"RS256": Key("RS256", "rsa-1"), "ES256": Key("ES256", "ec-1")}
    st = {"published": [keys["RS256"], keys["ES256"]], "stale": None,
          "codes": {}, "wx_codes": {}, "control": {"sub": "alice", "alg": "RS256"},
          "stats": {"discovery": 0, "jwks": 0, "token": 0, "wechat_token": 0}, "rotations": 1}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, obj=None, headers=()):
            body = json.dumps(obj).encode() if obj is not None else b""
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if obj is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def issuer(self):
            return "http://127.0.0.1:%d" % self.server.server_address[1]

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            iss = self.issuer()
            if u.path == "/.well-known/openid-configuration":
                with lock:
                    st["stats"]["discovery"] += 1
                return self.reply(200, {
                    "issuer": iss, "authorization_endpoint": iss + "/authorize",
                    "token_endpoint": iss + "/token", "jwks_uri": iss + "/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"]})
            if u.path == "/jwks":
                with lock:
                    st["stats"]["jwks"] += 1
                    pub = st["published"]
                    if st["stale"] is not None:
                        pub, st["stale"] = st["stale"], None
                    return self.reply(200, {"keys": [k.jwk() for k in pub]})
            if u.path == "/authorize":
                if (q.get("client_id") != args.client_id or q.get("response_type") != "code"
                        or q.get("code_challenge_method") != "S256" or "openid" not in
                        q.get("scope", "").split() or not q.get("redirect_uri")):
                    return self.reply(400, {"error": "invalid_request"})
                code = secrets.token_urlsafe(24)
                with lock:
                    st["codes"][code] = dict(q, at=time.time(), user=st["control"]["sub"])
                loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                    {"code": code, "state": q.get("state", "")})
                return self.reply(302, None, [("Location", loc)])
            if u.path == "/connect/oauth2/authorize":
                if q.get("appid") != args.wechat_appid or q.get("scope") != "snsapi_base":
                    return self.reply(400, {"errcode": 10003, "errmsg": "redirect_uri error"})
                code = secrets.token_hex(16)
                with lock:
                    st["wx_codes"][code] = dict(st["control"])
                loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                    {"code": code, "state": q.get("state", "")})
                return self.reply(302, None, [("Location", loc)])
            if u.path == "/sns/oauth2/access_token":
                with lock:
                    st["stats"]["wechat_token"] += 1
                    if q.get("appid") != args.wechat_appid or q.get("secret") != args.wechat_secret:
                        return self.reply(200, {"errcode": 40125, "errmsg": "invalid appsecret"})
                    who = st["wx_codes"].pop(q.get("code", ""), None)
                if who is None or q.get("grant_type") != "authorization_code":
                    return self.reply(200, {"errcode": 40029, "errmsg": "invalid code"})
                reply = {"access_token": secrets.token_hex(16), "expires_in": 7200,
                         "refresh_token": secrets.token_hex(16),
                         "openid": who.get("openid", "oOPENID1"), "scope": "snsapi_base"}
                if who.get("unionid"):
                    reply["unionid"] = who["unionid"]
                return self.reply(200, reply)
            if u.path == "/stats":
                with lock:
                    return self.reply(200, st["stats"])
            self.reply(404, {"error": "not_found"})

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n).decode()

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            raw = self.body()
            if u.path == "/control":
                c = json.loads(raw)
                with lock:
                    if c.pop("rotate", False):
                        st["rotations"] += 1
                        k = Key("RS256", "rsa-%d" % st["rotations"])
                        keys["RS256"] = k
                        if c.pop("stale_once", False):
                            st["stale"] = st["published"]
                        st["published"] = [k, keys["ES256"]]
                    st["control"] = {"sub": "alice", "alg": "RS256", **c}
                return self.reply(200, {"ok": True})
            if u.path != "/token":
                return self.reply(404, {"error": "not_found"})
            with lock:
                st["stats"]["token"] += 1
                delay = float(st["control"].get("delay", 0))
            if delay:
                time.sleep(delay)
            auth = self.headers.get("Authorization", "")
            want = base64.b64encode(("%s:%s" % (urllib.parse.quote(args.client_id, safe=""),
                                                 urllib.parse.quote(args.client_secret, safe="")))
                                    .encode()).decode()
            if auth != "Basic " + want:
                return self.reply(401, {"error": "invalid_client"})
            f = dict(urllib.parse.parse_qsl(raw))
            with lock:
                grant = st["codes"].pop(f.get("code", ""), None)
                ctl = dict(st["control"])
                key = keys[ctl.get("alg", "RS256")]
            if (grant is None or f.get("grant_type") != "authorization_code"
                    or f.get("redirect_uri") != grant["redirect_uri"]):
                return self.reply(400, {"error": "invalid_grant"})
            challenge = b64u(hashlib.sha256(f.get("code_verifier", "").encode()).digest())
            if challenge != grant.get("code_challenge"):
                return self.reply(400, {"error": "invalid_grant",
                                        "error_description": "PKCE verification failed"})
            now = int(time.time())
            claims = {"iss": ctl.get("iss", self.issuer()), "sub": grant["user"],
                      "aud": ctl.get("aud", args.client_id), "iat": now,
                      "exp": now + int(ctl.get("exp", 300)),
                      "nonce": ctl.get("nonce", grant.get("nonce"))}
            header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
            signing = (b64u(json.dumps(header).encode()) + "." +
                       b64u(json.dumps(claims).encode())).encode()
            sig = key.sign(signing)
            if ctl.get("tamper") == "signature":
                sig = bytes([sig[0] ^ 1]) + sig[1:]
            token = signing.decode() + "." + b64u(sig)
            self.reply(200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                             "expires_in": 300, "id_token": token})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Timer(args.lifetime, lambda: srv.shutdown()).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
