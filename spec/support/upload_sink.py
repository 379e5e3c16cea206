#!/usr/bin/env python3
"""spec/support/upload_sink.py: a raw HTTP/1.1 server on loopback that
receives uploads and says exactly how many body bytes came, for what the
stand-in cannot do: change the uploaded file while it is being sent.

  upload_sink.py PORT_FILE REPORT_FILE [GROW_PATH GROW_BYTES]

Writes its port to PORT_FILE once listening. Per connection: reads the
request head (answers `Expect: 100-continue`), then, with GROW_PATH,
appends GROW_BYTES bytes to that file (the client is still sending it: the
receive buffer is small and nothing was read yet; a negative GROW_BYTES
cuts that many bytes off instead), reads Content-Length
bytes (or until the peer closes), then waits 500 ms for bytes beyond them.
Appends one line per request to REPORT_FILE:

  declared=N received=N extra=N complete=0|1

and answers a complete request with 200 and a file object, then closes
the connection. Exits after the first connection with GROW_PATH, else
after 5 s without a connection.
"""
import json
import os
import socket
import sys


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def header(head, name):
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


def serve(conn, report, grow):
    head, buf = read_head(conn, b"")
    if head is None:
        return
    declared = int(header(head, "content-length") or "0")
    if (header(head, "expect") or "").lower() == "100-continue":
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if grow and grow[1] >= 0:
        with open(grow[0], "ab") as f:
            f.write(b"X" * grow[1])
    elif grow:                                  # a negative count: the file shrinks
        os.truncate(grow[0], max(0, os.path.getsize(grow[0]) + grow[1]))
    received = len(buf)
    while received < declared:
        data = conn.recv(1 << 20)
        if not data:
            break
        received += len(data)
        buf += data
    extra_bytes = buf[declared:] if received > declared else b""
    conn.settimeout(0.5)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            extra_bytes += data
    except socket.timeout:
        pass
    conn.settimeout(20)
    complete = received >= declared
    with open(report, "a") as f:
        f.write("declared=%d received=%d extra=%d complete=%d\n"
                % (declared, min(received, declared), len(extra_bytes), int(complete)))
    if not complete:
        return
    body = json.dumps({"id": "file-sink", "object": "file", "bytes": declared,
                       "created_at": 0, "filename": "upload", "purpose": "batch"}).encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def main():
    port_file, report = sys.argv[1], sys.argv[2]
    grow = (sys.argv[3], int(sys.argv[4])) if len(sys.argv) > 4 else None
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)   # inherited by accepted sockets
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(5)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            return
        conn.settimeout(20)
        try:
            serve(conn, report, grow)
        except (OSError, ValueError):
            pass
        conn.close()
        if grow:                  # a changing file is sent once
            return


if __name__ == "__main__":
    main()
