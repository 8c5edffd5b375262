#!/usr/bin/env python3
"""sequential_client.py PORT PATH N [DEPTH]: N requests on one keep-alive
connection, DEPTH at a time in one write (1: one at a time; 16: pipelined as
bench/tools/pipeline.lua sends them), each batch's answers read before the
next is sent. For instruction counts under callgrind."""
import socket
import sys

port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
depth = int(sys.argv[4]) if len(sys.argv) > 4 else 1
request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
s = socket.create_connection(("127.0.0.1", port))
buf = b""
done = 0
while done < n:
    batch = min(depth, n - done)
    s.sendall(request * batch)
    answered = 0
    while answered < batch:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if len(buf) >= end + 4 + length:
                buf = buf[end + 4 + length:]
                answered += 1
                continue
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("server closed the connection")
        buf += chunk
    done += batch
