#!/usr/bin/env python3
"""bench/slow_server.py: a minimal HTTP/1.1 keep-alive server on loopback
that answers every request with a canned body after a fixed delay (nginx
cannot wait before answering). Paths under /fast/ are answered at once, to
measure the server's own capacity.

  python3 bench/slow_server.py --body FILE [--delay 0.05] [--port 0]
                               [--port-file F] [--max-seconds 240]

It binds 127.0.0.1 only, writes the port it got to --port-file, and stops
by itself after --max-seconds (or on SIGTERM / SIGINT). It is an asyncio
Protocol (not streams) to keep its own cost per request small: each parsed
request schedules its answer with loop.call_later(delay, ...).
"""
import argparse
import asyncio
import os
import signal
import sys

MAX_HEAD = 64 * 1024


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--body", required=True)
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=240.0)
    return ap.parse_args()


class Stats:
    served = 0


def make_protocol(loop, delay, keep, close):
    class Conn(asyncio.Protocol):
        def connection_made(self, transport):
            self.t = transport
            self.buf = b""
            self.closing = False

        def data_received(self, data):
            self.buf += data
            while not self.closing:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > MAX_HEAD:
                        self.t.close()
                    return
                head = self.buf[:end]
                lines = head.split(b"\r\n")
                first = lines[0].split(b" ")
                target = first[1] if len(first) > 1 else b"/"
                length = 0
                want_close = lines[0].endswith(b"HTTP/1.0")
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value.strip() or b"0")
                    elif name == b"connection":
                        want_close = value.strip().lower() == b"close"
                if len(self.buf) < end + 4 + length:
                    return                      # the body is not all here yet
                self.buf = self.buf[end + 4 + length:]
                answer = close if want_close else keep
                if want_close:
                    self.closing = True
                if delay > 0 and not target.startswith(b"/fast/"):
                    loop.call_later(delay, self.answer, answer, want_close)
                else:
                    self.answer(answer, want_close)

        def answer(self, answer, then_close):
            if self.t.is_closing():
                return
            self.t.write(answer)
            Stats.served += 1
            if then_close:
                self.t.close()

    return Conn


async def main():
    args = parse_args()
    loop = asyncio.get_running_loop()
    with open(args.body, "rb") as f:
        body = f.read().rstrip(b"\n")
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n")
    keep = head + b"Connection: keep-alive\r\n\r\n" + body
    close = head + b"Connection: close\r\n\r\n" + body
    proto = make_protocol(loop, args.delay, keep, close)
    server = await loop.create_server(proto, "127.0.0.1", args.port, backlog=1024,
                                      reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    try:
        await asyncio.wait_for(stop, timeout=args.max_seconds)
    except asyncio.TimeoutError:
        print("slow_server: --max-seconds reached, stopping", file=sys.stderr)
    server.close()
    print(f"slow_server: served {Stats.served} requests", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
