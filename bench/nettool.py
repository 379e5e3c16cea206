#!/usr/bin/env python3
"""bench/nettool.py: small loopback helpers for bench/run.sh.

  nettool.py free-port              print a free TCP port on 127.0.0.1
  nettool.py wait-port PORT SECS    exit 0 once 127.0.0.1:PORT accepts, 1 after SECS
  nettool.py post URL [FILE]        POST {} to URL; print status, content-type and
                                    body length; with FILE, exit 1 unless the body
                                    is FILE's bytes
  nettool.py sink PORT_FILE SECS    an HTTP/1.1 server that reads each request body
                                    (Content-Length) and throws it away, answering
                                    {"received": N}; its port goes to PORT_FILE; it
                                    stops after SECS
"""
import socket
import sys
import threading
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


def sink_conn(conn):
    f = conn.makefile("rb")
    while True:
        if not f.readline():
            return
        n = 0
        while True:
            h = f.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            if h.lower().startswith(b"content-length:"):
                n = int(h.split(b":", 1)[1])
        left = n
        while left > 0:
            d = f.read(min(left, 1 << 20))
            if not d:
                return
            left -= len(d)
        body = b'{"received": %d}' % n
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(body) + body)


def sink(port_file, secs):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.settimeout(1.0)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=sink_conn, args=(c,), daemon=True).start()
    return 0


def main(argv):
    if argv[:1] == ["free-port"]:
        free_port()
        return 0
    if argv[:1] == ["wait-port"] and len(argv) == 3:
        return wait_port(int(argv[1]), float(argv[2]))
    if argv[:1] == ["post"] and len(argv) in (2, 3):
        return post(argv[1], argv[2] if len(argv) == 3 else None)
    if argv[:1] == ["sink"] and len(argv) == 3:
        return sink(argv[1], float(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
