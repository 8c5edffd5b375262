"""chopin-example's OpenAPI-defined bookshelf (Examples/chopin-example/openapi.yaml,
served through ChopinOpenAPI) checked by schemathesis, from PyPI: every
operation, with schema-valid and schema-invalid requests (--mode all), every
check it has (--checks all: no 5xx, documented status codes and content
types, response bodies that match their schema, invalid input rejected with
a 4xx, valid input accepted, 405 for undeclared methods). 0 failures, on both
backends, under the default isolation (worker processes) and threads.

usage: test_openapi.py PATH_TO_CHOPIN_EXAMPLE
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "..", "Examples", "chopin-example", "openapi.yaml")
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_serving(port):
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/plaintext", timeout=2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def run(binary, backend, isolation):
    port = free_port()
    server = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
         "--backend", backend, "--isolation", isolation],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_serving(port):
            print(f"FAIL {backend}/{isolation}: the example did not serve", file=sys.stderr)
            return False
        # A fixed seed: the same cases on every run, so that a failure repeats.
        result = subprocess.run(
            [SCHEMATHESIS, "run", SPEC, "--url", f"http://127.0.0.1:{port}/shelf",
             "--checks", "all", "--mode", "all", "--max-examples", "40", "--seed", "1830",
             "--workers", "1", "--no-color"],
            capture_output=True, text=True, timeout=600)
        summary = [line for line in result.stdout.splitlines()
                   if "generated" in line or "passed" in line or "failures" in line or "❌" in line]
        print(f"{backend}/{isolation}: " + "; ".join(s.strip() for s in summary))
        if result.returncode != 0:
            print(result.stdout[-6000:], file=sys.stderr)
            return False
        return True
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    binary = sys.argv[1]
    ok = True
    for backend in ("epoll", "uring"):
        for isolation in ("shared-process", "threads"):
            ok = run(binary, backend, isolation) and ok
    if not ok:
        sys.exit("test_openapi: schemathesis found failures")
    print("test_openapi: schemathesis passed on every operation")


main()
