#!/usr/bin/python3
"""seed-transfers.py - the partner organisation sends many small files to us
through the emulator's Broker API (initialize + upload per file), so that the
listing benchmarks can have 100, 1,000 or 10,000 transfers known.

  seed-transfers.py --partner-conf GW_DIR/partner.conf --emulator URL --ca CA
                    --recipient 0192:ORG --count N [--prefix P] [--start K]
                    [--size BYTES] [--no-pause-limits]

Files are named PREFIX-NNNNN.txt (NNNNN from --start). By default the
emulator's rate limits are switched off while seeding (this is test set-up,
not the measured behaviour) and switched back to what they were at the end.
Prints one line: "seeded=N published_at_ms=<epoch ms after the last upload
returned> secs=T". The partner's Maskinporten key and client come from its
CLI config (AltinnBrokerClient line), as the admin CLI reads them.
"""
import argparse
import base64
import http.client
import json
import ssl
import sys
import time
import uuid
from urllib.parse import urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def read_client(conf_path):
    """The first AltinnBrokerClient line: client-id, key, kid, org."""
    with open(conf_path) as f:
        for line in f:
            words = line.split()
            if words and words[0] == "AltinnBrokerClient":
                kv = dict(w.split("=", 1) for w in words[2:] if "=" in w)
                return kv["client-id"], kv["key"], kv["kid"], kv["org"]
    sys.exit("seed-transfers: no AltinnBrokerClient line in %s" % conf_path)


class Emulator:
    def __init__(self, url, ca):
        u = urlparse(url)
        self.base = url.rstrip("/")
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.conn = None

    def call(self, method, path, body=None, headers=None):
        for attempt in range(3):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        return None, None

    def json(self, method, path, obj=None, token=None):
        h = {"Accept": "application/json"}
        if obj is not None:
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        status, data = self.call(method, path, json.dumps(obj) if obj is not None else None, h)
        return status, (json.loads(data) if data and data[:1] in (b"{", b"[") else data)


def grant_token(emu, client_id, key_path, kid):
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    now = int(time.time())
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    claims = {"aud": emu.base + "/", "iss": client_id, "iat": now, "exp": now + 100,
              "jti": str(uuid.uuid4()), "scope": "altinn:broker.read altinn:broker.write"}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    assertion = signing_input + "." + b64url(sig)
    body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion
    status, data = emu.call("POST", "/token", body, {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        sys.exit("seed-transfers: token grant failed: %s %s" % (status, data[:200]))
    return json.loads(data)["access_token"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partner-conf", required=True)
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--recipient", required=True)
    ap.add_argument("--resource", default="demo-resource")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--prefix", default="seed")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--no-pause-limits", action="store_true")
    a = ap.parse_args()

    client_id, key_path, kid, sender_org = read_client(a.partner_conf)
    emu = Emulator(a.emulator, a.ca)
    limits_were = None
    if not a.no_pause_limits:
        _, knobs = emu.json("GET", "/_emulator/knobs")
        limits_were = knobs.get("rateLimits", True)
        emu.json("POST", "/_emulator/knobs", {"rateLimits": False})
    started = time.time()
    token, token_at = None, 0.0
    payload = (b"x" * a.size)
    try:
        for i in range(a.start, a.start + a.count):
            if token is None or time.time() - token_at > 60:   # tokens live 120 s
                token, token_at = grant_token(emu, client_id, key_path, kid), time.time()
            init = {"fileName": "%s-%05d.txt" % (a.prefix, i), "resourceId": a.resource,
                    "sender": "0192:" + sender_org, "recipients": [a.recipient],
                    "sendersFileTransferReference": "bench-seed-%d" % i}
            status, body = emu.json("POST", "/broker/api/v1/filetransfer", init, token)
            if status != 200:
                sys.exit("seed-transfers: initialize %d failed: %s %s" % (i, status, body))
            tid = body["fileTransferId"]
            status, body = emu.call("POST", "/broker/api/v1/filetransfer/%s/upload" % tid, payload,
                                    {"Authorization": "Bearer " + token, "Accept": "application/json",
                                     "Content-Type": "application/octet-stream"})
            if status != 200:
                sys.exit("seed-transfers: upload %d failed: %s %s" % (i, status, body[:200]))
    finally:
        if limits_were is not None:
            emu.json("POST", "/_emulator/knobs", {"rateLimits": limits_were})
    print("seeded=%d published_at_ms=%d secs=%.1f" % (a.count, int(time.time() * 1000), time.time() - started))


if __name__ == "__main__":
    main()
