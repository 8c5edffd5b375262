#!/usr/bin/env python3
"""idle_conns.py PORT N: opens N keep-alive connections, makes one request
on each, prints "ready" and holds them open until stdin closes."""
import socket
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
request = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n"
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    conns.append(s)
for s in conns:
    got = b""
    while b"Hello, World!" not in got:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection closed early")
        got += chunk
print("ready", flush=True)
sys.stdin.read()
