"""A bridge that breaks the worker protocol in one way, chosen by its first argument, for the
trust tests; with "good" it answers well (x = a + b). Raw bytes, no numpy: it must control them.

    extra        one answer, then 50 bytes too many
    garbage      1 MiB of garbage in place of the second answer
    short        an answer that announces its length and sends half of it
    orphan       exits at the first batch while a child of its own holds stdout open
    close        closes stdout at every batch and goes on running
    escape       answers every batch with an error whose message holds terminal escapes
    version1     a handshake of protocol version 1
"""
import os
import struct
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "good"
inp, out = sys.stdin.buffer, sys.stdout.buffer
version = 1 if mode == "version1" else 2
names = b'{"parameters": ["a", "b"]}'
out.write(b"SIMBIWK1" + struct.pack("<4I", version, 2, 1, len(names)) + names)
out.flush()


def read(n):
    data = inp.read(n)
    if len(data) < n:
        sys.exit(0)
    return data


batch = 0
while True:
    (kind,) = struct.unpack("<I", read(4))
    if kind == 2:
        sys.exit(0)
    seq, seed, first, n = struct.unpack("<4Q", read(32))
    theta = struct.unpack("<%dd" % (2 * n), read(16 * n))
    batch += 1
    x = b"".join(struct.pack("<d", theta[2 * i] + theta[2 * i + 1]) for i in range(n))
    payload = x + b"\x01" * n
    answer = struct.pack("<IQQ", 0, seq, len(payload)) + payload
    if mode == "extra" and batch == 1:
        answer += b"\x00" * 50
    elif mode == "garbage" and batch == 2:
        answer = os.urandom(1 << 20)
    elif mode == "short":
        answer = answer[: len(answer) // 2]
    elif mode == "orphan":
        if os.fork() == 0:
            time.sleep(60)  # holds stdout open long after its parent is gone
            os._exit(0)
        os._exit(3)
    elif mode == "close":
        os.close(1)
        time.sleep(60)
    elif mode == "escape":
        message = b"model failed: \x1b[2J\x1b[31mred\x1b[0m\x07"
        answer = struct.pack("<IQQ", 1, seq, len(message)) + message
    out.write(answer)
    out.flush()
