#!/usr/bin/python3
"""An independent Trustee KBS-protocol client, for interoperability tests of crypta.

Written only from the public protocol description (Trustee's kbs_attestation_protocol.md,
kbs-types, RFC 7516/7518 for the JWE, RFC 8785 for canonical JSON, EAR for the token); it
shares no code with crypta. It runs as a workload inside crypta's simulated TEE
(`crypta sim launch -- /usr/bin/python3 trustee_client.py --expect allow|refuse ...`) and
uses `crypta attest collect` only as the TEE "hardware" that produces evidence over a
report_data value.

Needs only Debian's python3 with the standard library, python3-cryptography, python3-jwt.

Environment (not part of the measured command line):
  CRYPTA_BIN           the crypta binary (for `attest collect`)
  KBS_URL              the server, e.g. http://127.0.0.1:PORT
  KBS_RESOURCE         repository/type/tag (default hospital/models/scan-model)
  KBS_EXPECT_DEK_B64   standard base64 of the DEK the resource must decrypt to (allow mode)

Arguments:
  --expect allow       the workload is allowed: each body variant must obtain the DEK and a
                       valid EAR; the negative /auth and RSA1_5 checks run too
  --expect refuse      the workload is not allowed: every /attest must answer 401 (RFC 7807)
                       with no token, and the resource must not be released
  any further arguments are ignored (they only change the launch measurement)

Prints one "PASS: ..." or "FAIL: ..." line per check and a summary line; exits 1 on any
failure.
"""

import argparse
import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

HTTP_TIMEOUT_S = 15


class CheckFailed(Exception):
    pass


def require(cond, what):
    if not cond:
        raise CheckFailed(what)


# ---- encodings --------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    require(isinstance(text, str), f"base64url member is not a string: {text!r}")
    require("=" not in text, f"base64url with padding: {text!r}")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def uint_to_b64url(n: int) -> str:
    return b64url(n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big"))


def jcs(obj) -> bytes:
    """RFC 8785 canonical JSON, sufficient for objects of strings and nested objects."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# ---- HTTP -------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise CheckFailed(f"HTTP {self.status} body is not JSON: {self.body[:300]!r}")

    def describe(self):
        return f"HTTP {self.status} {self.body[:400].decode('utf-8', 'replace')}"


def http(method, url, body=None, headers=None):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


def session_cookie(resp):
    """The kbs-session-id from Set-Cookie, checking the attributes the protocol gives."""
    for value in resp.headers.get_all("Set-Cookie") or []:
        parts = [p.strip() for p in value.split(";")]
        name, _, sid = parts[0].partition("=")
        if name != "kbs-session-id":
            continue
        attrs = {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "")
                 for p in parts[1:]}
        require(sid != "", f"empty kbs-session-id in Set-Cookie: {value!r}")
        require(attrs.get("path") == "/kbs", f"Set-Cookie Path is not /kbs: {value!r}")
        require("httponly" in attrs, f"Set-Cookie lacks HttpOnly: {value!r}")
        require(attrs.get("samesite", "").lower() == "strict",
                f"Set-Cookie lacks SameSite=Strict: {value!r}")
        return sid
    raise CheckFailed(f"no kbs-session-id Set-Cookie header (headers: {dict(resp.headers)})")


def check_problem(resp, status, needle=None):
    """An RFC 7807 problem body with the given status (and a detail naming `needle`)."""
    require(resp.status == status, f"want HTTP {status}, got {resp.describe()}")
    p = resp.json()
    require(isinstance(p, dict), f"problem body is not an object: {p!r}")
    for member in ("type", "title", "status", "detail"):
        require(member in p, f"problem body lacks {member!r}: {p!r}")
    require(p["status"] == status, f"problem status {p['status']!r} != HTTP {status}")
    require(isinstance(p["detail"], str), f"problem detail is not a string: {p!r}")
    if needle is not None:
        require(needle in p["detail"], f"problem detail does not name {needle!r}: {p!r}")
    require("token" not in p, f"problem body carries a token: {p!r}")
    return p


# ---- the TEE key pair and its JWK -------------------------------------------------------


class TeeKey:
    def __init__(self, kind, jwk_alg=None):
        self.kind = kind
        if kind == "ec":
            self.priv = ec.generate_private_key(ec.SECP256R1())
            nums = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "EC", "crv": "P-256", "alg": jwk_alg or "ECDH-ES+A256KW",
                        "x": b64url(nums.x.to_bytes(32, "big")),
                        "y": b64url(nums.y.to_bytes(32, "big"))}
        else:
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            nums = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "alg": jwk_alg or "RSA-OAEP-256",
                        "n": uint_to_b64url(nums.n), "e": uint_to_b64url(nums.e)}


def p256_public_from_jwk(jwk):
    require(isinstance(jwk, dict) and jwk.get("kty") == "EC" and jwk.get("crv") == "P-256",
            f"epk is not a P-256 JWK: {jwk!r}")
    x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
    require(len(x) == 32 and len(y) == 32, "epk coordinates are not 32 bytes")
    # Raises ValueError for a point not on the curve.
    return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                         ec.SECP256R1()).public_key()


def concat_kdf_sha256(z, alg, apu, apv, keydatalen_bits):
    """RFC 7518 §4.6.2 (NIST SP 800-56A Concat KDF, SHA-256)."""
    other = (struct.pack(">I", len(alg)) + alg + struct.pack(">I", len(apu)) + apu +
             struct.pack(">I", len(apv)) + apv + struct.pack(">I", keydatalen_bits))
    out = b""
    counter = 1
    while len(out) * 8 < keydatalen_bits:
        out += hashlib.sha256(struct.pack(">I", counter) + z + other).digest()
        counter += 1
    return out[: keydatalen_bits // 8]


def decrypt_flattened_jwe(jwe, key: TeeKey):
    """RFC 7516 flattened JSON serialization, with the algorithms of RFC 7518."""
    require(isinstance(jwe, dict), f"resource body is not a JSON object: {jwe!r}")
    for member in ("protected", "encrypted_key", "iv", "ciphertext", "tag"):
        require(isinstance(jwe.get(member), str), f"JWE lacks string member {member!r}: "
                f"{sorted(jwe)}")
    header = json.loads(b64url_decode(jwe["protected"]))
    require(header.get("enc") == "A256GCM", f"JWE enc is not A256GCM: {header!r}")
    require("zip" not in header, f"JWE uses zip: {header!r}")
    want_alg = key.jwk["alg"]
    require(header.get("alg") == want_alg, f"JWE alg {header.get('alg')!r}, want {want_alg}")
    encrypted_key = b64url_decode(jwe["encrypted_key"])
    if want_alg == "ECDH-ES+A256KW":
        epk = p256_public_from_jwk(header.get("epk"))
        z = key.priv.exchange(ec.ECDH(), epk)
        apu = b64url_decode(header["apu"]) if "apu" in header else b""
        apv = b64url_decode(header["apv"]) if "apv" in header else b""
        kek = concat_kdf_sha256(z, b"ECDH-ES+A256KW", apu, apv, 256)
        cek = aes_key_unwrap(kek, encrypted_key)
    elif want_alg == "RSA-OAEP-256":
        cek = key.priv.decrypt(encrypted_key, padding.OAEP(
            mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    else:
        raise CheckFailed(f"unexpected alg {want_alg}")
    require(len(cek) == 32, f"CEK is {len(cek)} bytes, want 32 for A256GCM")
    iv = b64url_decode(jwe["iv"])
    require(len(iv) == 12, f"IV is {len(iv)} bytes, want 12")
    tag = b64url_decode(jwe["tag"])
    require(len(tag) == 16, f"tag is {len(tag)} bytes, want 16")
    aad = jwe["protected"].encode("ascii")
    return AESGCM(cek).decrypt(iv, b64url_decode(jwe["ciphertext"]) + tag, aad)


# ---- the protocol -----------------------------------------------------------------------


class Client:
    def __init__(self, base_url, crypta_bin, workdir):
        self.base = base_url.rstrip("/")
        self.crypta = crypta_bin
        self.workdir = workdir
        self.n_evidence = 0

    def auth(self, version, tee="sim"):
        return http("POST", self.base + "/kbs/v0/auth",
                    {"version": version, "tee": tee, "extra-params": {}})

    def collect_evidence(self, report_data: bytes) -> str:
        """The TEE "hardware": evidence over report_data (SHA-384, 48 bytes), as text."""
        require(len(report_data) <= 64, "report_data over 64 bytes")
        self.n_evidence += 1
        out = os.path.join(self.workdir, f"evidence{self.n_evidence}")
        p = subprocess.run([self.crypta, "attest", "collect", "--report-data",
                            report_data.hex(), "--out", out],
                           capture_output=True, text=True, timeout=30)
        require(p.returncode == 0, f"attest collect exit {p.returncode}: {p.stderr.strip()}")
        with open(out, encoding="utf-8") as f:
            return f.read()

    def attest_body(self, shape, nonce, jwk):
        if shape == "classic":
            rd = hashlib.sha384(jcs({"nonce": nonce, "tee-pubkey": jwk})).digest()
            return {"tee-pubkey": jwk, "tee-evidence": self.collect_evidence(rd)}
        runtime_data = {"nonce": nonce, "tee-pubkey": jwk}
        if shape == "runtime-data":
            rd = hashlib.sha384(jcs(runtime_data)).digest()
            return {"runtime-data": runtime_data, "tee-evidence": self.collect_evidence(rd)}
        if shape == "composite":
            additional = ""
            rd = hashlib.sha384(jcs({"tee-pubkey": jwk, "nonce": nonce,
                                     "additional-evidence": additional})).digest()
            return {"runtime-data": runtime_data,
                    "tee-evidence": {"primary_evidence": self.collect_evidence(rd),
                                     "additional_evidence": additional}}
        raise ValueError(shape)

    def start(self, version):
        """/auth: the nonce and the session id."""
        r = self.auth(version)
        require(r.status == 200, f"/auth {version}: {r.describe()}")
        challenge = r.json()
        require(isinstance(challenge.get("nonce"), str) and challenge["nonce"],
                f"/auth: no nonce: {challenge!r}")
        require(challenge.get("extra-params") is not None,
                f"/auth: no extra-params member: {challenge!r}")
        return challenge["nonce"], session_cookie(r)

    def attest(self, sid, body):
        return http("POST", self.base + "/kbs/v0/attest", body,
                    {"Cookie": f"kbs-session-id={sid}"})

    def resource(self, sid, path):
        return http("GET", f"{self.base}/kbs/v0/resource/{path}", None,
                    {"Cookie": f"kbs-session-id={sid}"})

    def jwks(self):
        r = http("GET", self.base + "/.well-known/jwks.json")
        require(r.status == 200, f"JWKS: {r.describe()}")
        return r.json()


def verify_ear(token, jwks, nonce):
    """PyJWT with only the JWKS: signature, exp/iat, and the EAR claims we rely on."""
    require(isinstance(jwks.get("keys"), list) and jwks["keys"], f"JWKS has no keys: {jwks!r}")
    for k in jwks["keys"]:
        require(k.get("kid"), f"JWKS key without kid: {k!r}")
    header = jwt.get_unverified_header(token)
    require(header.get("alg") == "ES256", f"EAR alg is not ES256: {header!r}")
    matching = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    require(len(matching) == 1, f"EAR kid {header.get('kid')!r} matches "
            f"{len(matching)} JWKS keys")
    signing_key = jwt.PyJWK(matching[0], algorithm="ES256")
    claims = jwt.decode(token, signing_key.key, algorithms=["ES256"],
                        options={"require": ["exp", "iat"]})
    require(claims.get("eat_nonce") == nonce,
            f"eat_nonce {claims.get('eat_nonce')!r} != auth nonce {nonce!r}")
    cpu0 = (claims.get("submods") or {}).get("cpu0")
    require(isinstance(cpu0, dict), f"EAR has no submods.cpu0: {sorted(claims)}")
    require(cpu0.get("ear.status") == "warning",
            f"submods.cpu0 ear.status {cpu0.get('ear.status')!r}, want 'warning' (sim TEE)")
    policy_id = cpu0.get("ear.appraisal-policy-id")
    require(isinstance(policy_id, str) and policy_id.startswith("sha256:"),
            f"ear.appraisal-policy-id {policy_id!r} does not start with sha256:")
    return claims


# ---- the cases --------------------------------------------------------------------------

VARIANTS = [
    # (label, protocol version, body shape, key kind)
    ("0.1.0 classic EC P-256", "0.1.0", "classic", "ec"),
    ("0.4.0 runtime-data EC P-256", "0.4.0", "runtime-data", "ec"),
    ("0.4.0 composite EC P-256", "0.4.0", "composite", "ec"),
    ("0.4.0 composite RSA-OAEP-256", "0.4.0", "composite", "rsa"),
]


class Runner:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, fn):
        try:
            detail = fn()
        except CheckFailed as e:
            print(f"FAIL: {name}: {e}", flush=True)
            self.failed += 1
        except Exception as e:  # a crash in a check is a failure of that check
            print(f"FAIL: {name}: {type(e).__name__}: {e}", flush=True)
            self.failed += 1
        else:
            print(f"PASS: {name}" + (f" ({detail})" if detail else ""), flush=True)
            self.passed += 1


def allowed_case(client, resource, dek, version, shape, kind):
    key = TeeKey(kind)
    nonce, sid = client.start(version)
    r = client.attest(sid, client.attest_body(shape, nonce, key.jwk))
    require(r.status == 200, f"/attest: {r.describe()}")
    body = r.json()
    require(isinstance(body.get("token"), str), f"/attest: no token: {body!r}")
    sid_after = session_cookie(r)
    verify_ear(body["token"], client.jwks(), nonce)
    res = client.resource(sid_after, resource)
    require(res.status == 200, f"/resource: {res.describe()}")
    plaintext = decrypt_flattened_jwe(res.json(), key)
    require(plaintext == dek, f"decrypted {len(plaintext)} bytes that differ from the DEK")
    return f"DEK matches, EAR verified, alg {key.jwk['alg']}"


def refused_case(client, resource, version, shape, kind):
    key = TeeKey(kind)
    nonce, sid = client.start(version)
    r = client.attest(sid, client.attest_body(shape, nonce, key.jwk))
    p = check_problem(r, 401)
    res = client.resource(sid, resource)
    require(res.status != 200 and b"ciphertext" not in res.body,
            f"/resource after a refused /attest: {res.describe()}")
    return f"401 {p['detail']!r}; resource then HTTP {res.status}"


def rsa1_5_case(client):
    key = TeeKey("rsa", jwk_alg="RSA1_5")
    nonce, sid = client.start("0.1.0")
    r = client.attest(sid, client.attest_body("classic", nonce, key.jwk))
    p = check_problem(r, 400, "RSA1_5")
    return repr(p["detail"])


def bad_auth_case(client, version, tee, status, needle):
    r = client.auth(version, tee)
    p = check_problem(r, status, needle)
    require(not any(v.startswith("kbs-session-id=")
                    for v in (r.headers.get_all("Set-Cookie") or [])),
            "a refused /auth set a session cookie")
    return repr(p["detail"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect", choices=["allow", "refuse"], required=True)
    args, _ignored = ap.parse_known_args()  # extra args only change the measurement
    base = os.environ["KBS_URL"]
    crypta_bin = os.environ["CRYPTA_BIN"]
    resource = os.environ.get("KBS_RESOURCE", "hospital/models/scan-model")
    run = Runner()
    with tempfile.TemporaryDirectory() as workdir:
        client = Client(base, crypta_bin, workdir)
        if args.expect == "allow":
            dek = base64.b64decode(os.environ["KBS_EXPECT_DEK_B64"], validate=True)
            for label, version, shape, kind in VARIANTS:
                run.check(f"allowed workload, {label}: key released",
                          lambda: allowed_case(client, resource, dek, version, shape, kind))
            run.check("tee-pubkey alg RSA1_5 refused at /attest with 400",
                      lambda: rsa1_5_case(client))
            run.check("/auth version 0.5.0 refused with 400",
                      lambda: bad_auth_case(client, "0.5.0", "sim", 400, "0.5.0"))
            run.check("/auth tee azsnpvtpm refused with 501",
                      lambda: bad_auth_case(client, "0.4.0", "azsnpvtpm", 501, "azsnpvtpm"))
        else:
            for label, version, shape, kind in VARIANTS:
                run.check(f"refused workload, {label}: 401 at /attest, no token",
                          lambda: refused_case(client, resource, version, shape, kind))
    print(f"trustee_client --expect {args.expect}: {run.passed} passed, {run.failed} failed",
          flush=True)
    return 1 if run.failed or run.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
