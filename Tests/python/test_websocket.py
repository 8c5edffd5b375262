"""WebSocket against chopin-example's GET /ws echo, on both backends, with a
real client (Python's `websockets`) and, for what no well-behaved client
sends, frames written by hand. The cases follow the Autobahn test suite's
categories: framing (payload lengths at every length encoding), ping/pong,
reserved bits, opcodes, fragmentation, UTF-8 handling, close codes, limits.
Beyond them: the subprotocol the route offers is agreed (and none when the
client offers others), and the code and reason of a client's close reach the
handler (the example logs them; the log is read back).

usage: test_websocket.py PATH_TO_CHOPIN_EXAMPLE
"""
import asyncio
import base64
import os
import socket
import struct
import subprocess
import sys
import time

from websockets.asyncio.client import connect as aconnect
from websockets.sync.client import connect

failures = 0
MAX_MESSAGE = 16 << 20  # the example route's maxMessageBytes


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL {what}", file=sys.stderr)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def client(port, **kw):
    return connect(f"ws://127.0.0.1:{port}/ws", compression=None, max_size=None, open_timeout=5, **kw)


# ---- frames by hand ------------------------------------------------------------


def frame(b0, payload, mask=True, length=None):
    n = len(payload) if length is None else length
    head = bytes([b0])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def raw_open(port, extra=""):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed during the handshake")
        head += chunk
    head, rest = head.split(b"\r\n\r\n", 1)
    return s, head.decode(), bytearray(rest)


def read_frame(s, buf):
    """(opcode, payload) of the server's next frame, or None at EOF."""
    def need(n):
        while len(buf) < n:
            chunk = s.recv(65536)
            if not chunk:
                return False
            buf.extend(chunk)
        return True
    if not need(2):
        return None
    n = buf[1] & 0x7F
    at = 2
    if n == 126:
        if not need(4):
            return None
        n, at = struct.unpack(">H", bytes(buf[2:4]))[0], 4
    elif n == 127:
        if not need(10):
            return None
        n, at = struct.unpack(">Q", bytes(buf[2:10]))[0], 10
    if not need(at + n):
        return None
    op, payload = buf[0] & 0x0F, bytes(buf[at:at + n])
    del buf[:at + n]
    return op, payload


def close_code_for(port, data, name):
    """Sends data after the handshake; the server must answer with a close
    frame (its code returned) and then close the connection."""
    s, _, buf = raw_open(port)
    try:
        s.sendall(data)
        got = read_frame(s, buf)
        while got and got[0] != 8:  # echoes that came before the refusal
            got = read_frame(s, buf)
        check(got is not None, f"{name}: a close frame")
        if got is None:
            return None
        code = struct.unpack(">H", got[1][:2])[0] if len(got[1]) >= 2 else None
        s.sendall(frame(0x88, got[1][:2]))
        s.settimeout(5)
        check(read_frame(s, buf) is None, f"{name}: the connection closes after the close")
        return code
    finally:
        s.close()


# ---- the categories --------------------------------------------------------------


def framing(port):
    with client(port) as ws:
        for n in (0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20):
            text = "x" * n
            ws.send(text)
            check(ws.recv(timeout=10) == text, f"1.1 text of {n} bytes")
            data = os.urandom(n)
            ws.send(data)
            check(ws.recv(timeout=10) == data, f"1.2 binary of {n} bytes")


def ping_pong(port):
    with client(port) as ws:
        for payload in (b"", b"hello", os.urandom(125)):
            waiter = ws.ping(payload)
            check(waiter.wait(5), f"2.x pong for a ping of {len(payload)} bytes")
    s, _, buf = raw_open(port)
    s.sendall(frame(0x89, b"echo me") + frame(0x8A, b"unsolicited") + frame(0x81, b"after"))
    check(read_frame(s, buf) == (0xA, b"echo me"), "2.2 the pong carries the ping's payload")
    check(read_frame(s, buf) == (0x1, b"after"), "2.8 an unsolicited pong is ignored")
    s.close()
    check(close_code_for(port, frame(0x89, b"p" * 126), "2.5 ping of 126 bytes") == 1002, "2.5 -> 1002")


def reserved_bits(port):
    for rsv in (0x40, 0x20, 0x10, 0x70):
        code = close_code_for(port, frame(0x81 | rsv, b"hi"), f"3.x RSV {rsv:#x}")
        check(code == 1002, f"3.x RSV {rsv:#x} -> 1002, got {code}")
    code = close_code_for(port, frame(0x81, b"first") + frame(0xC1, b"bad"), "3.2 RSV after a good frame")
    check(code == 1002, f"3.2 -> 1002, got {code}")


def opcodes(port):
    for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
        code = close_code_for(port, frame(0x80 | op, b"x"), f"4.x opcode {op}")
        check(code == 1002, f"4.x opcode {op} -> 1002, got {code}")


def fragmentation(port):
    with client(port) as ws:
        ws.send(["frag", "men", "ted"])
        check(ws.recv(timeout=5) == "fragmented", "5.x a text message in three fragments")
        ws.send([b"\x00\x01", b"", b"\x02"])
        check(ws.recv(timeout=5) == b"\x00\x01\x02", "5.x binary fragments, one empty")
    s, _, buf = raw_open(port)
    s.sendall(frame(0x01, b"Hel") + frame(0x89, b"mid") + frame(0x80, b"lo"))
    check(read_frame(s, buf) == (0xA, b"mid"), "5.6 a ping between fragments is answered")
    check(read_frame(s, buf) == (0x1, b"Hello"), "5.6 and the message is whole")
    s.close()
    check(close_code_for(port, frame(0x09, b"p") + frame(0x80, b"p"), "5.1 fragmented ping") == 1002, "5.1 -> 1002")
    check(close_code_for(port, frame(0x80, b"orphan"), "5.3 continuation first") == 1002, "5.3 -> 1002")
    check(close_code_for(port, frame(0x01, b"a") + frame(0x81, b"b"), "5.18 a new message mid-message") == 1002,
          "5.18 -> 1002")


def utf8(port):
    with client(port) as ws:
        for text in ("κόσμε", "\U0010ffff", "a\u00e9\u4e2d\U0001f600z"):
            ws.send(text)
            check(ws.recv(timeout=5) == text, f"6.x valid UTF-8 {text!r}")
        ws.send("")
        check(ws.recv(timeout=5) == "", "6.1 an empty text message")
    # Split mid-character across fragments: still valid once joined.
    s, _, buf = raw_open(port)
    e = "κόσμε".encode()
    s.sendall(frame(0x01, e[:1]) + frame(0x00, e[1:5]) + frame(0x80, e[5:]))
    check(read_frame(s, buf) == (0x1, e), "6.2 a character split across fragments")
    s.close()
    for bad, name in ((b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", "a surrogate"),
                      (b"\xc0\xaf", "an overlong slash"), (b"\xf4\x90\x80\x80", "past U+10FFFF"),
                      (b"\xff", "0xff"), (b"\xce", "cut at the end")):
        code = close_code_for(port, frame(0x81, bad), f"6.x {name}")
        check(code == 1007, f"6.x {name} -> 1007, got {code}")
    # Fail fast: the bad byte in the first fragment is refused before the rest comes.
    code = close_code_for(port, frame(0x01, b"\xce\xba\xff"), "6.4 fail fast")
    check(code == 1007, f"6.4 fail fast -> 1007, got {code}")


def close_codes(port):
    for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999):
        with client(port) as ws:
            ws.close(code, "bye")
            rcvd = ws.protocol.close_rcvd
            check(rcvd is not None and rcvd.code == code, f"7.7 close {code} echoed, got {rcvd}")
    for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535):
        got = close_code_for(port, frame(0x88, struct.pack(">H", code)), f"7.9 close code {code}")
        check(got == 1002, f"7.9 close code {code} -> 1002, got {got}")
    got = close_code_for(port, frame(0x88, b"\x03"), "7.3 a close of one byte")
    check(got == 1002, f"7.3 -> 1002, got {got}")
    got = close_code_for(port, frame(0x88, b"\x03\xe8\xce"), "7.5 a close reason not UTF-8")
    check(got == 1007, f"7.5 -> 1007, got {got}")
    # An empty close is answered with an empty close.
    s, _, buf = raw_open(port)
    s.sendall(frame(0x88, b""))
    check(read_frame(s, buf) == (0x8, b""), "7.1 an empty close echoed empty")
    s.close()
    # Nothing after the close is echoed.
    s, _, buf = raw_open(port)
    s.sendall(frame(0x88, b"\x03\xe8") + frame(0x81, b"late"))
    check(read_frame(s, buf) == (0x8, b"\x03\xe8"), "7.1 close echoed")
    check(read_frame(s, buf) is None, "7.1 nothing after the close")
    s.close()


def limits(port):
    with client(port) as ws:
        big = os.urandom(MAX_MESSAGE)
        ws.send(big)
        check(ws.recv(timeout=30) == big, "9.x a message at the limit (16 MiB) echoed")
    # Refused from the frame's header, before its payload is read.
    code = close_code_for(port, frame(0x82, b"", length=MAX_MESSAGE + 1) + os.urandom(1000), "9.x one byte over")
    check(code == 1009, f"9.x a message one byte over the limit -> 1009, got {code}")
    # Over the limit in fragments, refused at the fragment that crosses it.
    half = MAX_MESSAGE // 2 + 1
    code = close_code_for(port, frame(0x02, b"", length=0) + frame(0x00, os.urandom(half)) +
                          frame(0x80, b"", length=half) + os.urandom(1000), "9.x fragments over the limit")
    check(code == 1009, f"9.x fragments over the limit -> 1009, got {code}")
    # Many messages sent without reading the echoes: the server stops reading
    # instead of queueing without bound, and all of them still come back.
    check(asyncio.run(many_unread(port)), "9.x 200 x 64 KiB sent before reading one echo: all echoed in order")


async def many_unread(port):
    """Sends 200 x 64 KiB before taking one echo. The asyncio client reads
    into its queue (unbounded here) while a send waits for the socket, as a
    client that expects backpressure must: the sync client holds its lock
    across a blocked write, so it stops reading too, and then both sides
    wait on each other (the server stops reading and its writes fill up)."""
    n, size = 200, 64 << 10
    async with aconnect(f"ws://127.0.0.1:{port}/ws", compression=None, max_size=None, max_queue=None,
                        open_timeout=5) as ws:
        for i in range(n):
            await asyncio.wait_for(ws.send(bytes([i % 256]) * size), 30)
        for i in range(n):
            if await asyncio.wait_for(ws.recv(), 30) != bytes([i % 256]) * size:
                return False
    return True


def handshake(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
    check(s.recv(4096).startswith(b"HTTP/1.1 400"), "a plain GET /ws is 400")
    s.close()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    answer = s.recv(4096)
    check(answer.startswith(b"HTTP/1.1 426") and b"Sec-WebSocket-Version: 13" in answer, "version 8 is 426")
    s.close()
    s, head, _ = raw_open(port)
    check(head.startswith("HTTP/1.1 101"), "101 Switching Protocols")
    s.close()


def subprotocols(port):
    with client(port, subprotocols=["chat", "chopin.echo.v1"]) as ws:
        check(ws.subprotocol == "chopin.echo.v1", f"the route's subprotocol is agreed, got {ws.subprotocol!r}")
        ws.send("hi")
        check(ws.recv(timeout=5) == "hi", "echo over the agreed subprotocol")
    s, head, _ = raw_open(port, extra="Sec-WebSocket-Protocol: chat, mqtt\r\n")
    check(head.startswith("HTTP/1.1 101") and "sec-websocket-protocol" not in head.lower(),
          "none agreed: a 101 that names no subprotocol")
    s.close()


def close_reaches_handler(port, log_path):
    with client(port) as ws:
        ws.send("x")
        ws.recv(timeout=5)
        ws.close(code=4001, reason="gone to lunch")
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(log_path, errors="replace") as f:
            text = f.read()
        if "code=4001" in text and 'reason="gone to lunch"' in text:
            return
        time.sleep(0.05)
    check(False, "the handler heard the client's close code 4001 and its reason (logged by the example)")


def run(binary, backend):
    port = free_port()
    log_path = f"/tmp/chopin-ws-test-{os.getpid()}-{backend}.log"
    log = open(log_path, "w")
    server = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--backend", backend,
         "--isolation", "threads"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        for case in (handshake, framing, ping_pong, reserved_bits, opcodes, fragmentation, utf8, close_codes,
                     limits, subprotocols, lambda p: close_reaches_handler(p, log_path)):
            before = failures
            try:
                case(port)
            except Exception as e:  # a case that crashed counts as failed, the others still run
                check(False, f"{case.__name__} on {backend}: {type(e).__name__}: {e}")
            name = getattr(case, "__name__", "case")
            name = "close_reaches_handler" if name == "<lambda>" else name
            print(f"  {backend} {name}: {'ok' if failures == before else 'FAILED'}")
        check(server.poll() is None, f"the server is still up on {backend}")
    finally:
        server.terminate()
        server.wait(10)
        log.close()
        os.unlink(log_path)


def main():
    binary = sys.argv[1]
    for backend in ("epoll", "uring"):
        run(binary, backend)
    print(f"test_websocket.py: {'FAIL' if failures else 'ok'} ({failures} failures)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
