"""Minting JWTs on the test side (good ones and forged ones), independent of seedcast."""
import base64
import hashlib
import hmac
import json
import subprocess
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signing_input(header: dict, claims: dict) -> str:
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())


def hs256(secret: bytes | str, claims: dict, header: dict | None = None) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    si = _signing_input(header or {"alg": "HS256", "typ": "JWT"}, claims)
    return si + "." + b64url(hmac.new(key, si.encode(), hashlib.sha256).digest())


def rs256(private_key_pem_path, claims: dict) -> str:
    si = _signing_input({"alg": "RS256", "typ": "JWT"}, claims)
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(private_key_pem_path)],
                         input=si.encode(), capture_output=True, check=True).stdout
    return si + "." + b64url(sig)


def alg_none(claims: dict) -> str:
    return _signing_input({"alg": "none", "typ": "JWT"}, claims) + "."


def claims(user="alice", ttl=3600, **extra) -> dict:
    now = int(time.time())
    return {"userId": user, "iat": now, "exp": now + ttl, **extra}


def rsa_keypair(directory):
    """(private.pem, public.pem) made with the openssl command."""
    priv, pub = directory / "private.pem", directory / "public.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(priv)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)], check=True,
                   capture_output=True)
    return priv, pub
