#!/usr/bin/env python3
"""A raw HTTP/1.1 server for the specs that need a server the stand-in
cannot be: one that breaks the protocol on purpose.

    python3 spec/support/rogue.py --port-file PATH

The request path chooses the behaviour:
    /v1/early413, /v1/files  answers 413 after reading the head only, then closes
                     (the unread body makes the kernel reset the connection)
    /v1/overrun      answers {"n": k} and, right behind it on the same
                     connection, bytes of a second response nobody asked for
    /v1/overrun_late the same, the extra bytes sent 300 ms later
    /v1/overrun_soon the same, the extra bytes sent 5 ms later
    /v1/done_open, /v1/chat/completions
                     an event stream: one chunk, `data: [DONE]`, and then the
                     body stays open (no last chunk) for 5 s
    anything else    {"n": k, "path": ...}
It listens on 127.0.0.1 and, when the machine has IPv6 loopback, on [::1]
at the same port.
k counts the requests of this server, 1, 2, ... GET /_count answers
{"requests": k, "connections": c, "body_bytes": b} (not counted itself).
"""

import argparse
import json
import socket
import threading
import time

LOCK = threading.Lock()
STATE = {"requests": 0, "connections": 0, "body_bytes": 0}
SMUGGLED = b'{"smuggled": true}'
SMUGGLED_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(SMUGGLED)) + SMUGGLED


def count(key, n=1):
    with LOCK:
        STATE[key] += n
        return STATE[key]


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, rest


def read_body(conn, headers, rest):
    n = int(headers.get("content-length", "0") or "0")
    while len(rest) < n:
        data = conn.recv(65536)
        if not data:
            break
        rest += data
    count("body_bytes", min(n, len(rest)))
    return rest[n:]


def json_response(status, value, close=False):
    body = json.dumps(value).encode()
    return (b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (status, len(body), b"Connection: close\r\n" if close else b"")) + body


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def serve(conn):
    buf = b""
    counted = False
    try:
        while True:
            line, headers, rest = read_head(conn, buf)
            if line is None:
                return
            path = line.split(" ")[1]
            if path == "/_count":
                buf = read_body(conn, headers, rest)
                with LOCK:
                    conn.sendall(json_response(200, dict(STATE), close=True))
                return
            if not counted:
                counted = True
                count("connections")
            k = count("requests")
            if path in ("/v1/early413", "/v1/files"):
                conn.sendall(json_response(413, {"error": {
                    "message": "the request is too large", "type": "invalid_request_error",
                    "code": "payload_too_large"}}, close=True))
                return
            buf = read_body(conn, headers, rest)
            if path == "/v1/overrun":
                conn.sendall(json_response(200, {"n": k}) + SMUGGLED_RESPONSE)
            elif path in ("/v1/overrun_late", "/v1/overrun_soon"):
                conn.sendall(json_response(200, {"n": k}))
                time.sleep(0.3 if path == "/v1/overrun_late" else 0.005)
                conn.sendall(SMUGGLED_RESPONSE)
            elif path in ("/v1/done_open", "/v1/chat/completions"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n"
                             + chunk(b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n')
                             + chunk(b"data: [DONE]\n\n"))
                time.sleep(5)
                return
            else:
                conn.sendall(json_response(200, {"n": k, "path": path}))
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    port = srv.getsockname()[1]
    try:                                     # the same port on IPv6 loopback, when there is one
        srv6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv6.bind(("::1", port))
        srv6.listen(64)
        threading.Thread(target=accept_loop, args=(srv6,), daemon=True).start()
    except OSError:
        pass
    with open(args.port_file, "w") as f:
        f.write(str(port))
    accept_loop(srv)


def accept_loop(srv):
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
