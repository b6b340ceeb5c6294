"""A deliberately dishonest BitTorrent seed for tests: it claims every piece and answers block
requests from the bytes it is given, which may be corrupt. Only the peer-wire basics (BEP 3):
handshake, bitfield, unchoke, request -> piece. Real clients verify; this one is the attacker.

    liar = Liar(info_hash_bytes, data, piece_length); liar.port; ...; liar.close()

With `hold=(b, g)`, the liar claims piece b only once every block of piece g went out (its
bitfield lacks b; a HAVE follows), so a test can count on piece g arriving whole before a
corrupt piece b fails its hash (after which the client may ban this peer). Claiming b and
holding its requests instead could fill the client's request queue with them, piece g never
asked for: a deadlock until the client gives up.
"""
import socket
import struct
import threading


class Liar:
    def __init__(self, info_hash: bytes, data: bytes, piece_length: int, hold=None):
        self.hold = hold
        self.info_hash, self.data, self.piece_length = info_hash, data, piece_length
        self.num_pieces = (len(data) + piece_length - 1) // piece_length
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.served = 0  # blocks sent
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        self.sock.close()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def _serve(self, conn):
        try:
            hs = self._read(conn, 68)
            if hs[28:48] != self.info_hash:
                return
            conn.sendall(b"\x13BitTorrent protocol" + b"\0" * 8 + self.info_hash + b"-XX0000-liarliarliar")
            bits = bytearray((self.num_pieces + 7) // 8)
            for i in range(self.num_pieces):
                if not (self.hold and i == self.hold[0]):
                    bits[i // 8] |= 0x80 >> (i % 8)
            conn.sendall(struct.pack(">IB", 1 + len(bits), 5) + bytes(bits) + struct.pack(">IB", 1, 1))
            good_left = 0
            if self.hold:
                good_left = min(self.piece_length, len(self.data) - self.hold[1] * self.piece_length)

            def send(index, begin, size):
                nonlocal good_left
                off = index * self.piece_length + begin
                block = self.data[off:off + size]
                conn.sendall(struct.pack(">IBII", 9 + len(block), 7, index, begin) + block)
                self.served += 1
                if self.hold and index == self.hold[1] and good_left > 0:
                    good_left -= len(block)
                    if good_left <= 0:  # piece g is out: now claim piece b
                        conn.sendall(struct.pack(">IBI", 5, 4, self.hold[0]))

            while not self.closed:
                (length,) = struct.unpack(">I", self._read(conn, 4))
                if length == 0:
                    continue  # keep-alive
                msg = self._read(conn, length)
                if msg[0] == 6 and length == 13:  # request
                    send(*struct.unpack(">III", msg[1:]))
        except (ConnectionError, OSError, struct.error):
            pass
        finally:
            conn.close()
