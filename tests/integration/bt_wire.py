"""A bare BitTorrent peer-wire client for tests (BEP 3 with the fast extension, BEP 6): it says
exactly what a test tells it to and reports every message the other side sends, so a test can
check a seed's answers to single requests.

    w = Wire("127.0.0.1", port, info_hash_bytes, num_pieces)
    w.send_bitfield({3})        # or w.send_have_none(); w.send_have(i)
    w.interested(); w.wait_unchoke()
    w.request(5, 0, 16384)
    kind, payload = w.answer(5, 0, 16384)   # ("piece", bytes) or ("reject", None) or ("choke", None)
    w.close()

Every wait has a deadline (a test never hangs); a deadline that passes raises TimeoutError.
"""
import socket
import struct
import time

CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED, HAVE, BITFIELD, REQUEST, PIECE, CANCEL = range(9)
SUGGEST, HAVE_ALL, HAVE_NONE, REJECT, ALLOWED_FAST = 13, 14, 15, 16, 17
EXTENDED = 20


class Wire:
    def __init__(self, host, port, info_hash: bytes, num_pieces: int, peer_id=b"-TW0001-wirewirewire",
                 fast=True, timeout=20.0):
        self.num_pieces = num_pieces
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        reserved = bytearray(8)
        if fast:
            reserved[7] |= 0x04
        self.sock.sendall(b"\x13BitTorrent protocol" + bytes(reserved) + info_hash + peer_id)
        hs = self._read(68)
        if hs[28:48] != info_hash:
            raise ConnectionError("handshake for another torrent")
        self.remote_reserved = hs[20:28]
        self.remote_fast = bool(hs[27] & 0x04)
        self.choked = True
        self.messages = []  # (id, payload) in arrival order, keep-alives left out

    def close(self):
        self.sock.close()

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by the remote side")
            buf += chunk
        return buf

    def _send(self, msg_id, payload=b""):
        self.sock.sendall(struct.pack(">IB", 1 + len(payload), msg_id) + payload)

    def send_bitfield(self, have):
        bits = bytearray((self.num_pieces + 7) // 8)
        for i in have:
            bits[i // 8] |= 0x80 >> (i % 8)
        self._send(BITFIELD, bytes(bits))

    def send_have_none(self):
        self._send(HAVE_NONE)

    def send_have(self, piece):
        self._send(HAVE, struct.pack(">I", piece))

    def interested(self):
        self._send(INTERESTED)

    def request(self, piece, begin, length):
        self._send(REQUEST, struct.pack(">III", piece, begin, length))

    def next_message(self, deadline):
        """The next message (id, payload); keep-alives are skipped. Updates `choked`."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the remote side in time")
            self.sock.settimeout(left)
            try:
                (n,) = struct.unpack(">I", self._read(4))
            except socket.timeout:
                raise TimeoutError("no message from the remote side in time") from None
            self.sock.settimeout(self.timeout)
            if n == 0:
                continue
            body = self._read(n)
            msg = (body[0], body[1:])
            if msg[0] == CHOKE:
                self.choked = True
            elif msg[0] == UNCHOKE:
                self.choked = False
            self.messages.append(msg)
            return msg

    def wait_unchoke(self):
        deadline = time.monotonic() + self.timeout
        while self.choked:
            self.next_message(deadline)

    def answer(self, piece, begin, length):
        """What the remote side did with the request (piece, begin, length): ("piece", block bytes),
        ("reject", None) for a fast-extension reject, or ("choke", None) when it choked us first
        (without the fast extension a choke drops every request)."""
        deadline = time.monotonic() + self.timeout
        while True:
            mid, payload = self.next_message(deadline)
            if mid == PIECE and struct.unpack(">II", payload[:8]) == (piece, begin):
                return "piece", payload[8:]
            if mid == REJECT and struct.unpack(">III", payload) == (piece, begin, length):
                return "reject", None
            if mid == CHOKE and not self.remote_fast:
                return "choke", None
