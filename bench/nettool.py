#!/usr/bin/env python3
"""bench/nettool.py: small loopback helpers for bench/run.sh.

  nettool.py free-port              print a free TCP port on 127.0.0.1
  nettool.py wait-port PORT SECS    exit 0 once 127.0.0.1:PORT accepts, 1 after SECS
  nettool.py post URL [FILE]        POST {} to URL; print status, content-type and
                                    body length; with FILE, exit 1 unless the body
                                    is FILE's bytes
"""
import socket
import sys
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def wait_port(port, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return 0
        except OSError:
            time.sleep(0.05)
    return 1


def post(url, path=None):
    req = urllib.request.Request(url, data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
        print(f"{r.status} {r.headers.get('content-type')} {len(body)} bytes")
    if path is not None:
        with open(path, "rb") as f:
            if f.read() != body:
                print("the body differs from " + path)
                return 1
    return 0


def main(argv):
    if argv[:1] == ["free-port"]:
        free_port()
        return 0
    if argv[:1] == ["wait-port"] and len(argv) == 3:
        return wait_port(int(argv[1]), float(argv[2]))
    if argv[:1] == ["post"] and len(argv) in (2, 3):
        return post(argv[1], argv[2] if len(argv) == 3 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
