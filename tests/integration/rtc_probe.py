"""A browser's first steps toward seedcast's WebRTC peer, written out by hand so that tests can
forge them: an SDP offer sent through the WebSocket tracker, the answer it gets back, and STUN
Binding requests (RFC 8489) to the answer's candidate, right or wrong.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import socket
import struct
import zlib

import websocket  # python3-websocket

MAGIC = 0x2112A442


def binary_string(b: bytes) -> str:
    """A WebSocket-tracker "binary string": each byte a code point U+0000..U+00FF."""
    return b.decode("latin1")


def offer_sdp(ufrag: str, pwd: str, fingerprint: bytes, mid: str = "0") -> str:
    fp = ":".join(f"{x:02X}" for x in fingerprint)
    return ("v=0\r\n"
            "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "t=0 0\r\n"
            f"a=group:BUNDLE {mid}\r\n"
            "a=msid-semantic: WMS\r\n"
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
            "c=IN IP4 0.0.0.0\r\n"
            f"a=ice-ufrag:{ufrag}\r\n"
            f"a=ice-pwd:{pwd}\r\n"
            f"a=fingerprint:sha-256 {fp}\r\n"
            "a=setup:actpass\r\n"
            f"a=mid:{mid}\r\n"
            "a=sctp-port:5000\r\n"
            "a=max-message-size:262144\r\n")


def ws_offer(port: int, info_hash: str, sdp: str, token: str | None = None, peer_id: bytes | None = None,
             timeout: float = 10.0) -> dict | None:
    """Announces `info_hash` (hex) with one offer; returns the relayed answer message, or None
    when none came within `timeout` (the other messages are in the result's "seen" list)."""
    url = f"ws://127.0.0.1:{port}/announce" + (f"?token={token}" if token else "")
    ws = websocket.create_connection(url, timeout=timeout)
    try:
        offer_id = os.urandom(20)
        msg = {"action": "announce", "info_hash": binary_string(bytes.fromhex(info_hash)),
               "peer_id": binary_string(peer_id or (b"-PY0001-" + os.urandom(6).hex().encode())),
               "numwant": 1, "uploaded": 0, "downloaded": 0, "left": 1000, "event": "started",
               "offers": [{"offer": {"type": "offer", "sdp": sdp}, "offer_id": binary_string(offer_id)}]}
        ws.send(json.dumps(msg))
        seen = []
        import time
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ws.settimeout(max(0.1, end - time.monotonic()))
            try:
                m = json.loads(ws.recv())
            except (websocket.WebSocketTimeoutException, TimeoutError):
                break
            seen.append(m)
            if "answer" in m:
                assert m["offer_id"].encode("latin1") == offer_id, m
                m["seen"] = seen
                return m
        return {"seen": seen} if seen else None
    finally:
        ws.close()


def answer_parts(sdp: str) -> dict:
    ufrag = re.search(r"^a=ice-ufrag:(\S+)", sdp, re.M).group(1)
    pwd = re.search(r"^a=ice-pwd:(\S+)", sdp, re.M).group(1)
    cands = [(m.group(1), int(m.group(2)))
             for m in re.finditer(r"^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", sdp, re.M)]
    fp = re.search(r"^a=fingerprint:sha-256 (\S+)", sdp, re.M).group(1)
    return {"ufrag": ufrag, "pwd": pwd, "candidates": cands, "fingerprint": fp,
            "lite": bool(re.search(r"^a=ice-lite", sdp, re.M)),
            "setup": re.search(r"^a=setup:(\S+)", sdp, re.M).group(1)}


def _attr(t: int, v: bytes) -> bytes:
    return struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)


def binding_request(username: str, key: str, controlling: bool = True, use_candidate: bool = True,
                    integrity: bool = True, tid: bytes | None = None) -> tuple[bytes, bytes]:
    """A Binding request with USERNAME, PRIORITY, ICE-CONTROLLING (or -CONTROLLED),
    USE-CANDIDATE, MESSAGE-INTEGRITY (HMAC-SHA1 with `key`) and FINGERPRINT."""
    tid = tid or os.urandom(12)
    attrs = _attr(0x0006, username.encode()) + _attr(0x0024, struct.pack("!I", 1853824767))
    attrs += _attr(0x802A if controlling else 0x8029, os.urandom(8))
    if use_candidate:
        attrs += _attr(0x0025, b"")
    if integrity:
        head = struct.pack("!HHI", 0x0001, len(attrs) + 24, MAGIC) + tid
        mac = hmac.new(key.encode(), head + attrs, hashlib.sha1).digest()
        attrs += _attr(0x0008, mac)
    head = struct.pack("!HHI", 0x0001, len(attrs) + 8, MAGIC) + tid
    crc = (zlib.crc32(head + attrs) ^ 0x5354554E) & 0xFFFFFFFF
    attrs += _attr(0x8028, struct.pack("!I", crc))
    return struct.pack("!HHI", 0x0001, len(attrs), MAGIC) + tid + attrs, tid


def parse_response(data: bytes, key: str | None = None) -> dict:
    """Type, error code, XOR-MAPPED-ADDRESS, and whether MESSAGE-INTEGRITY verifies with `key`."""
    t, length, magic = struct.unpack("!HHI", data[:8])
    out = {"type": t, "tid": data[8:20], "error": None, "mapped": None, "integrity": None}
    pos = 20
    while pos + 4 <= 20 + length:
        at, al = struct.unpack("!HH", data[pos:pos + 4])
        v = data[pos + 4:pos + 4 + al]
        if at == 0x0009:
            out["error"] = (v[2] & 7) * 100 + v[3]
        elif at == 0x0020 and v[1] == 1:
            port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
            ip = bytes(a ^ b for a, b in zip(v[4:8], struct.pack("!I", MAGIC)))
            out["mapped"] = (socket.inet_ntoa(ip), port)
        elif at == 0x0008 and key is not None:
            head = struct.pack("!HHI", t, pos - 20 + 24, magic) + data[8:20]
            out["integrity"] = hmac.compare_digest(
                hmac.new(key.encode(), head + data[20:pos], hashlib.sha1).digest(), v)
        pos += 4 + al + ((4 - al % 4) % 4)
    return out


def exchange(sock: socket.socket, dest, datagram: bytes, timeout: float = 2.0) -> bytes | None:
    sock.settimeout(timeout)
    sock.sendto(datagram, dest)
    try:
        data, _ = sock.recvfrom(2048)
        return data
    except (socket.timeout, TimeoutError):
        return None
