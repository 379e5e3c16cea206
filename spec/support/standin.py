#!/usr/bin/env python3
"""Local stand-in for the OpenAI HTTP API, for the specs and `make demo`.

    python3 spec/support/standin.py [--host 127.0.0.1] [--port 0] [--port-file PATH]
                                    [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]

With --tls-cert and --tls-key it speaks HTTPS (Python's ssl module) with that
certificate; --tls-client-ca also requires each client to present a
certificate signed by that CA (mutual TLS). A failed handshake just closes
the connection.

Python 3 standard library only. One thread per TCP connection, HTTP/1.1 with
keep-alive, request bodies by Content-Length or chunked, `Expect: 100-continue`.

Canned endpoints (when no script applies):
    POST /v1/chat/completions   (also stream: true, tools, n, stream_options)
    POST /v1/images/generations
    POST /v1/responses          (also stream: true)
    GET  /v1/models, GET /v1/models/<id>
    POST /v1/embeddings, /v1/moderations, /v1/audio/{transcriptions,translations,speech},
         /v1/images/{edits,variations}
    /v1/files (upload, list, get, content, delete) and /v1/batches (create, list,
         get, cancel), kept until reset; each GET of a batch moves it one step
         (validating, in_progress, completed with output/error files)
    GET, DELETE /v1/responses/<id>, POST /v1/responses/<id>/cancel
    *    /v1/echo               the record of this very request
    GET  /v1/text, GET /v1/bytes?n=N
    GET  /health                not recorded

Control endpoints (never recorded, never scripted):
    POST /_control/reset        clear log, scripts, counters
    GET  /_control/requests     {"requests": [record, ...]}
    GET  /_control/stats        {"connections", "requests", "open", ...}
    POST /_control/script       {"path", "method"?, "responses": [R, ...]}
    GET  /_control/scripts      the scripts still queued

A scripted response R with "error_shape" answers its status with the error body
of another OpenAI-compatible server (see shaped_error), "message" its words.
A server that generates for longer than a client waits is R with "delay_ms":
the request is recorded when it arrives, so the log counts every one sent.

Structured outputs: a chat call with response_format {"type": "json_schema"} (or
a Responses call with text.format) is answered with an instance of its schema
(example_of), and a stream of it comes in pieces of 3 characters (mid-key,
mid-escape). A reasoning model (o1, o3, o4-mini, gpt-5...) puts a reasoning item
before the message in a Responses output. A scripted response R with
"answer": {"content": str | value, "refusal": str, "finish_reason": "length",
"pieces": n, "reasoning": bool} makes the chat or Responses answer (plain or
stream, as the request asks) with that content, that refusal, cut at the token
limit (Responses: status "incomplete"), streamed n characters at a time.

A scripted response R with "tool_calls": [{"name", "arguments", "id"?}, ...]
answers /v1/chat/completions with an assistant message that calls those tools
(streamed as tool-call deltas when the request streams), and /v1/responses
with function_call items (streamed as output_item and arguments events). The
canned answer to a conversation whose last message is a tool result (a "tool"
message, or a function_call_output item) is "You said: <results>", the
results of the last round joined by "; ". Each record has "received_ms", when
the request arrived (a monotonic clock), to tell calls that overlapped.

A scripted response R with "echo_key": "<placeholder>" has every occurrence of
the placeholder in its strings (body, json, sse, headers) replaced by the API
key the request carried: a server that echoes the key.

Request ids (x-request-id: req_<n>) count recorded requests only, so req_<n> is
record number n of /_control/requests. Control and /health answers carry req_0.

A connection is counted (and numbered 1, 2, ...) when it carries its first
recorded request since the last reset; connections that only talk to the
control API are not counted, so querying the stats does not change them.
"""

import argparse
import base64
import json
import os
import re
import signal
import socket
import ssl
import socketserver
import struct
import sys
import threading
import time
import traceback
import zlib
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qs, unquote

MAX_LINE = 65536          # longest request line / header line
MAX_HEADERS = 200         # most header lines in one request
IDLE_TIMEOUT = 600.0      # seconds a connection may sit idle before we drop it
RST_PAUSE = 0.05          # pause so partial data reaches the peer before a RST

MODELS = [
    ("gpt-4.1", 1744316542, "system"),
    ("gpt-3.5-turbo", 1677610602, "openai"),
    ("dall-e-3", 1698785189, "system"),
    ("ft:gpt-4o-mini:acme:demo:abc123", 1722470400, "acme"),
]


# --------------------------------------------------------------------------
# shared state


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.gen = 0              # bumped by reset
        self.log = []             # request records
        self.scripts = {}         # path -> [(method or None, R), ...]
        self.n = 0                # recorded requests since reset
        self.conn_count = 0       # connections counted since reset
        self.accepted = 0         # TCP accepts since reset
        self.live = set()         # open Conn objects

    def reset(self):
        with self.lock:
            self.gen += 1
            self.log = []
            self.scripts = {}
            self.n = 0
            self.conn_count = 0
            self.accepted = 0
        with STORE.lock:
            STORE.clear()

    def record(self, conn, rec):
        """Number the request and its connection, append it to the log."""
        with self.lock:
            if conn.gen != self.gen:
                self.conn_count += 1
                conn.gen = self.gen
                conn.cid = self.conn_count
            self.n += 1
            rec["connection"] = conn.cid
            rec["id"] = "req_%d" % self.n
            self.log.append(rec)
            return self.n

    def take_script(self, method, path):
        with self.lock:
            for key in (path, "*"):
                queue = self.scripts.get(key)
                if not queue:
                    continue
                for i, (m, r) in enumerate(queue):
                    if m is None or m == method:
                        del queue[i]
                        return r
        return None

    def add_script(self, path, method, responses):
        with self.lock:
            q = self.scripts.setdefault(path, [])
            for r in responses:
                q.append((method, r))

    def stats(self):
        with self.lock:
            return {
                "connections": self.conn_count,
                "requests": len(self.log),
                "open": sum(1 for c in self.live if c.gen == self.gen),
                "accepted": self.accepted,
                "open_all": len(self.live),
            }


STATE = State()


# --------------------------------------------------------------------------
# small helpers


class BadRequest(Exception):
    pass


class ClientGone(Exception):
    pass


def jdump(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dec_header(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def reason(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status %d" % status


def api_error(message, etype="invalid_request_error", param=None, code=None):
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def status_error(status):
    """An OpenAI-style error body for a scripted status with no body."""
    if status == 401:
        return api_error("Incorrect API key provided.", code="invalid_api_key")
    if status == 429:
        return api_error("Rate limit reached for requests. Please try again shortly.",
                         etype="requests", code="rate_limit_exceeded")
    if status >= 500:
        return api_error("The server had an error while processing your request. "
                         "Sorry about that!", etype="server_error")
    return api_error("%d %s" % (status, reason(status)))


def shaped_error(shape, status, message):
    """The error body of an OpenAI-compatible server that is not OpenAI, as
    it sends it: (body bytes, content type), or None for an unknown shape.
        fastapi             {"detail": "..."} (vLLM and other FastAPI servers)
        fastapi_validation  {"detail": [{"loc", "msg", "type"}, ...]} (FastAPI's 422)
        gemini              [{"error": {"code", "message", "status"}}]
        ollama              {"error": "..."}
        message             {"message": "...", "code": ...}
        text                text/plain, as a proxy sends it
        html                a proxy's HTML error page"""
    if shape == "fastapi":
        return jdump({"detail": message}), "application/json"
    if shape == "fastapi_validation":
        return jdump({"detail": [
            {"loc": ["body", "messages", 0, "content"], "msg": message, "type": "missing"},
            {"loc": ["body", "temperature"], "msg": "Input should be a valid number",
             "type": "float_parsing"}]}), "application/json"
    if shape == "gemini":
        return jdump([{"error": {"code": status, "message": message,
                                 "status": "INVALID_ARGUMENT"}}]), "application/json"
    if shape == "ollama":
        return jdump({"error": message}), "application/json"
    if shape == "message":
        return jdump({"message": message, "code": status}), "application/json"
    if shape == "text":
        return message.encode("utf-8"), "text/plain; charset=utf-8"
    if shape == "html":
        page = ("<html>\r\n<head><title>%d %s</title><style>body{font:sans}</style></head>\r\n"
                "<body>\r\n<center><h1>%s</h1></center>\r\n<hr><center>proxy</center>\r\n"
                "</body>\r\n</html>\r\n") % (status, reason(status), message)
        return page.encode("utf-8"), "text/html"
    return None


def tiny_png():
    """A valid 1x1 transparent RGBA PNG, built by hand."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00\x00\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) +
            chunk(b"IEND", b""))


PNG_B64 = base64.b64encode(tiny_png()).decode("ascii")

WORD_RE = re.compile(r"\s*\S+\s*|\s+")


def words(text):
    """Split text into pieces (a word and the spaces after it) that join back to it."""
    return WORD_RE.findall(text) or [""]


def ntokens(text):
    return len(text.split())


def parts_text(content):
    """Text of a message content: a string, or the joined text of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for p in content:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                out.append(p["text"])
            elif isinstance(p, str):
                out.append(p)
        return "".join(out)
    return ""


# --------------------------------------------------------------------------
# requests


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "header_list",
                 "headers", "body", "trailers", "json", "keep_alive", "azure", "shape")

    def header(self, name, default=None):
        return self.headers.get(name, default)


def parse_multipart(body, ctype):
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', ctype, re.I)
    if not m:
        return []
    boundary = (m.group(1) or m.group(2)).encode("latin-1", "replace")
    data = b"\r\n" + body
    pieces = data.split(b"\r\n--" + boundary)
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        eol = piece.find(b"\r\n")
        if eol < 0:
            continue
        piece = piece[eol + 2:]
        if piece.startswith(b"\r\n"):
            head, content = b"", piece[2:]
        else:
            sep = piece.find(b"\r\n\r\n")
            if sep < 0:
                head, content = piece, b""
            else:
                head, content = piece[:sep], piece[sep + 4:]
        hdrs = {}
        for line in head.split(b"\r\n"):
            if b":" in line:
                k, v = line.split(b":", 1)
                hdrs[dec_header(k).strip().lower()] = dec_header(v).strip()
        disp = parse_params(hdrs.get("content-disposition", ""))
        parts.append({
            "name": disp.get("name"),
            "filename": disp.get("filename"),
            "content_type": hdrs.get("content-type"),
            "headers": hdrs,
            "data": content.decode("utf-8", "replace"),
            "data_b64": base64.b64encode(content).decode("ascii"),
        })
    return parts


def parse_params(value):
    """Parameters of a header like `form-data; name="a"; filename="b.bin"`."""
    out = {}
    i, n = value.find(";"), len(value)
    if i < 0:
        return out
    i += 1
    while i < n:
        while i < n and value[i] in " \t;":
            i += 1
        j = i
        while j < n and value[j] not in "=;":
            j += 1
        key = value[i:j].strip().lower()
        i = j
        val = ""
        if i < n and value[i] == "=":
            i += 1
            while i < n and value[i] in " \t":
                i += 1
            if i < n and value[i] == '"':
                i += 1
                buf = []
                while i < n and value[i] != '"':
                    if value[i] == "\\" and i + 1 < n:
                        i += 1
                    buf.append(value[i])
                    i += 1
                i += 1
                val = "".join(buf)
            else:
                j = i
                while j < n and value[j] != ";":
                    j += 1
                val = value[i:j].strip()
                i = j
        if key.endswith("*"):          # RFC 5987: charset'lang'pct-encoded
            enc = val.split("'", 2)
            if len(enc) == 3:
                val = unquote(enc[2], encoding=enc[0] or "utf-8", errors="replace")
            key = key[:-1]
        if key:
            out[key] = val
    return out


def make_record(req):
    body = req.body
    text = body.decode("utf-8", "replace")
    ctype = req.header("content-type", "")
    parts = None
    if ctype.lower().startswith("multipart/form-data"):
        parts = parse_multipart(body, ctype)
    return {
        "method": req.method,
        "path": req.path,
        "target": req.target,
        "query": req.query,
        "params": parse_qs(req.query, keep_blank_values=True, errors="replace"),
        "version": req.version,
        "headers": dict(req.headers),
        "header_list": [list(h) for h in req.header_list],
        "trailers": [list(h) for h in req.trailers],
        "body": text,
        "body_b64": base64.b64encode(body).decode("ascii"),
        "json": req.json,
        "parts": parts,
        "received_ms": time.monotonic() * 1000.0,
    }


# --------------------------------------------------------------------------
# replies


class Reply:
    """A response to send: a fixed body, or a list of SSE events (a stream)."""

    def __init__(self, status=200, body=b"", ctype="application/json", events=None):
        self.status = status
        self.headers = []                       # [(name, value)]
        if ctype:
            self.headers.append(("content-type", ctype))
        self.body = body
        self.events = events                    # list of bytes, or None
        if events is not None:
            self.headers.append(("cache-control", "no-cache"))

    @classmethod
    def json(cls, value, status=200):
        return cls(status, jdump(value))

    def set_header(self, name, value):
        low = name.lower()
        self.headers = [(k, v) for (k, v) in self.headers if k.lower() != low]
        if isinstance(value, list):
            for v in value:
                self.headers.append((name, str(v)))
        elif value is not None:
            self.headers.append((name, value if isinstance(value, str) else
                                 json.dumps(value) if isinstance(value, bool) else str(value)))

    def has_header(self, name):
        low = name.lower()
        return any(k.lower() == low for k, _ in self.headers)


def sse_event(data=None, event=None, eid=None, retry=None):
    out = []
    if event is not None:
        out.append("event: %s\n" % event)
    if eid is not None:
        out.append("id: %s\n" % eid)
    if retry is not None:
        out.append("retry: %s\n" % retry)
    if data is not None:
        if not isinstance(data, str):
            data = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        for line in data.split("\n"):
            out.append("data: %s\n" % line)
    out.append("\n")
    return "".join(out).encode("utf-8")


def scripted_events(items):
    events = []
    for it in items:
        if not isinstance(it, dict):
            events.append(sse_event(it))
        elif "raw" in it:
            raw = it["raw"]
            events.append(raw.encode("utf-8") if isinstance(raw, str) else jdump(raw))
        elif "comment" in it:
            events.append((": %s\n\n" % it["comment"]).encode("utf-8"))
        else:
            events.append(sse_event(it.get("data"), it.get("event"), it.get("id"),
                                    it.get("retry")))
    return events


# --------------------------------------------------------------------------
# canned API


def request_key(req):
    """The API key a request carries (Bearer, or Azure's api-key), or None."""
    key = None
    authz = req.header("authorization", "")
    if authz[:7].lower() == "bearer ":
        key = authz[7:].strip() or None
    if key is None:
        key = req.header("api-key", "").strip() or None
    return key


def auth_error(req):
    key = request_key(req)
    if key is None:
        return Reply.json(api_error("You didn't provide an API key."), 401)
    if key == "sk-bad":
        return Reply.json(api_error(
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key"), 401)
    return None


def bad(message, param):
    return Reply.json(api_error(message, param=param), 400)


# ---- compatible servers' stream shapes (chat, stream: true), chosen by a
# script's "shape" (Azure's also by its path). Each as the server documents
# it; the reasoning text is "Thinking about: <the last message>", the answer
# the canned one ("You said: ...").

REASONING = "Thinking about: "


def _chunk(cid, created, model, choices, **more):
    c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
         "choices": choices}
    c.update(more)
    return c


def _thought(contents):
    return REASONING + contents[0][len("You said: "):]


def deepseek_stream(cid, created, model, contents, usage, include_usage):
    """DeepSeek (deepseek-reasoner; vLLM's reasoning parsers alike):
    delta.reasoning_content, then content, the other null; usage in the last
    chunk; [DONE]."""
    fp = "fp_deepseek_prod0425"
    thought = _thought(contents)
    ev = [_chunk(cid, created, model, [{"index": 0, "delta": {
        "role": "assistant", "content": None, "reasoning_content": ""},
        "logprobs": None, "finish_reason": None}], system_fingerprint=fp)]
    for w in words(thought):
        ev.append(_chunk(cid, created, model, [{"index": 0, "delta": {
            "content": None, "reasoning_content": w}, "logprobs": None, "finish_reason": None}],
            system_fingerprint=fp))
    for w in words(contents[0]):
        ev.append(_chunk(cid, created, model, [{"index": 0, "delta": {
            "content": w, "reasoning_content": None}, "logprobs": None, "finish_reason": None}],
            system_fingerprint=fp))
    u = dict(usage, prompt_cache_hit_tokens=0, prompt_cache_miss_tokens=usage["prompt_tokens"],
             completion_tokens_details={"reasoning_tokens": ntokens(thought)})
    ev.append(_chunk(cid, created, model, [{"index": 0, "delta": {
        "content": "", "reasoning_content": None}, "logprobs": None, "finish_reason": "stop"}],
        system_fingerprint=fp, usage=u))
    return Reply(200, ctype="text/event-stream",
                 events=[sse_event(e) for e in ev] + [sse_event("[DONE]")])


def openrouter_stream(cid, created, model, contents, usage, include_usage):
    """OpenRouter: ': OPENROUTER PROCESSING' comments, delta.reasoning and
    delta.reasoning_details (by index), provider at the chunk level,
    native_finish_reason beside finish_reason, a usage chunk with empty
    choices; [DONE]."""
    thought = _thought(contents)
    more = {"provider": "StandIn", "system_fingerprint": None}
    ev = [b": OPENROUTER PROCESSING\n\n"]
    for w in words(thought):
        ev.append(sse_event(_chunk(cid, created, model, [{"index": 0, "delta": {
            "role": "assistant", "content": "", "reasoning": w, "reasoning_details": [
                {"type": "reasoning.text", "text": w, "format": "unknown", "index": 0}]},
            "finish_reason": None, "native_finish_reason": None, "logprobs": None}], **more)))
    ev.append(b": OPENROUTER PROCESSING\n\n")
    for w in words(contents[0]):
        ev.append(sse_event(_chunk(cid, created, model, [{"index": 0, "delta": {
            "role": "assistant", "content": w, "reasoning": None},
            "finish_reason": None, "native_finish_reason": None, "logprobs": None}], **more)))
    ev.append(sse_event(_chunk(cid, created, model, [{"index": 0, "delta": {
        "role": "assistant", "content": "", "reasoning": None},
        "finish_reason": "stop", "native_finish_reason": "STOP", "logprobs": None}], **more)))
    ev.append(sse_event(_chunk(cid, created, model, [], usage=dict(usage, cost=0.00042), **more)))
    ev.append(sse_event("[DONE]"))
    return Reply(200, ctype="text/event-stream", events=ev)


def ollama_stream(cid, created, model, contents, usage, include_usage):
    """Ollama's /v1 (thinking models): the role in every delta, the
    thinking in delta.reasoning; fp_ollama; [DONE]."""
    ev = []
    for key, text in (("reasoning", _thought(contents)), ("content", contents[0])):
        for w in words(text):
            d = {"role": "assistant", "content": ""}
            d[key] = w
            ev.append(_chunk(cid, created, model, [{"index": 0, "delta": d, "finish_reason": None}],
                             system_fingerprint="fp_ollama"))
    ev.append(_chunk(cid, created, model, [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                            "finish_reason": "stop"}], system_fingerprint="fp_ollama"))
    if include_usage:
        ev.append(_chunk(cid, created, model, [], system_fingerprint="fp_ollama", usage=usage))
    return Reply(200, ctype="text/event-stream",
                 events=[sse_event(e) for e in ev] + [sse_event("[DONE]")])


AZURE_SAFE = {"hate": {"filtered": False, "severity": "safe"},
              "self_harm": {"filtered": False, "severity": "safe"},
              "sexual": {"filtered": False, "severity": "safe"},
              "violence": {"filtered": False, "severity": "safe"}}


def azure_stream(cid, created, model, contents, usage, include_usage):
    """Azure OpenAI: a first chunk with choices [] and
    prompt_filter_results (its id, model, object empty, created 0),
    content_filter_results in each choice ({} on the role and finish
    chunks), the usage chunk (choices []) when asked; [DONE]."""
    ev = [{"choices": [], "created": 0, "id": "", "model": "", "object": "",
           "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": AZURE_SAFE}]}]
    fp = "fp_azure"
    for i, content in enumerate(contents):
        ev.append(_chunk(cid, created, model, [{"content_filter_results": {}, "delta": {
            "content": "", "refusal": None, "role": "assistant"}, "finish_reason": None,
            "index": i, "logprobs": None}], system_fingerprint=fp, usage=None))
        for w in words(content):
            ev.append(_chunk(cid, created, model, [{"content_filter_results": AZURE_SAFE,
                "delta": {"content": w}, "finish_reason": None, "index": i, "logprobs": None}],
                system_fingerprint=fp, usage=None, obfuscation="x" * (1 + len(w) % 7)))
        ev.append(_chunk(cid, created, model, [{"content_filter_results": {}, "delta": {},
            "finish_reason": "stop", "index": i, "logprobs": None}], system_fingerprint=fp, usage=None))
    if include_usage:
        ev.append(_chunk(cid, created, model, [], system_fingerprint=fp, usage=usage))
    return Reply(200, ctype="text/event-stream",
                 events=[sse_event(e) for e in ev] + [sse_event("[DONE]")])


# "no_done" (in chat()): the canned stream, closed cleanly after its last
# chunk without [DONE], as several compatible servers do; a script's
# cut_after cuts it shorter
SHAPED_STREAMS = {"deepseek": deepseek_stream, "openrouter": openrouter_stream,
                  "ollama": ollama_stream, "azure": azure_stream}


def example_of(schema, said, root=None, depth=0):
    """An instance of a JSON schema, with `said` in its first string."""
    root = root or schema
    if not isinstance(schema, dict) or depth > 16:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.split("/")[-1]
        return example_of((root.get("$defs") or root.get("definitions") or {}).get(name),
                          said, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        alts = schema.get(key)
        if isinstance(alts, list) and alts:
            real = [a for a in alts if not (isinstance(a, dict) and a.get("type") == "null")]
            return example_of((real or alts)[0], said, root, depth + 1)
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t == "object" or (t is None and "properties" in schema):
        out = {}
        for name, ps in (schema.get("properties") or {}).items():
            out[name] = example_of(ps, said, root, depth + 1)
        return out
    if t == "array":
        return [example_of(schema.get("items") or {"type": "string"}, said, root, depth + 1)
                for _ in range(2)]
    if t == "string":
        return said
    if t == "integer":
        return 7
    if t == "number":
        return 2.5
    if t == "boolean":
        return True
    return None


def schema_of(body):
    """The JSON schema a chat or Responses body asks its answer to fit, or None."""
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema" \
            and isinstance(rf.get("json_schema"), dict):
        return rf["json_schema"].get("schema")
    fmt = body.get("text", {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return fmt.get("schema")
    return None


def pieces_of(text, size):
    """text in pieces of `size` characters (words when size is None)."""
    if not size:
        return words(text)
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def answer_of(body, text, over):
    """The answer's text, refusal, finish reason and stream piece size."""
    over = over if isinstance(over, dict) else {}
    schema = schema_of(body)
    size = None
    if schema is not None:
        text = json.dumps(example_of(schema, text), ensure_ascii=False)
        size = 3
    if "content" in over:
        c = over["content"]
        text = c if isinstance(c, str) else json.dumps(c, ensure_ascii=False)
    refusal = over.get("refusal") if isinstance(over.get("refusal"), str) else None
    return text, refusal, over.get("finish_reason"), over.get("pieces") or size


def tool_results(items, key, value, field):
    """The results at the end of a conversation, joined by '; ', or None."""
    out = []
    for m in reversed(items):
        if not isinstance(m, dict) or m.get(key) != value:
            break
        c = m.get(field)
        out.append(c if isinstance(c, str) else parts_text(c))
    if not out:
        return None
    return "; ".join(reversed(out))


def scripted_calls(calls):
    """[(id, name, arguments text)] of a script's "tool_calls"."""
    out = []
    for i, c in enumerate(calls or []):
        c = c if isinstance(c, dict) else {}
        args = c.get("arguments", "{}")
        if not isinstance(args, str):
            args = json.dumps(args)
        out.append((c.get("id") or "call_%d" % (i + 1), c.get("name", ""), args))
    return out


def chat_tool_calls(req, n, calls):
    body = req.json if isinstance(req.json, dict) else {}
    model = body.get("model") or "gpt-3.5-turbo"
    cid, created = "chatcmpl-%d" % n, int(time.time())
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    head = {"id": cid, "created": created, "model": model, "system_fingerprint": "fp_standin"}
    if body.get("stream") is not True:
        tcs = [{"id": i, "type": "function", "function": {"name": nm, "arguments": a}}
               for (i, nm, a) in calls]
        msg = {"role": "assistant", "content": None, "refusal": None, "tool_calls": tcs}
        return Reply.json(dict(head, object="chat.completion", usage=usage, choices=[
            {"index": 0, "message": msg, "logprobs": None, "finish_reason": "tool_calls"}]))
    so = body.get("stream_options")
    include_usage = isinstance(so, dict) and so.get("include_usage") is True
    events = []

    def chunk(delta, finish=None):
        events.append(sse_event(dict(head, object="chat.completion.chunk", choices=[
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])))

    chunk({"role": "assistant", "content": None})
    for k, (i, nm, a) in enumerate(calls):
        chunk({"tool_calls": [{"index": k, "id": i, "type": "function",
                               "function": {"name": nm, "arguments": ""}}]})
        half = len(a) // 2
        for piece in (a[:half], a[half:]):
            chunk({"tool_calls": [{"index": k, "function": {"arguments": piece}}]})
    chunk({}, "tool_calls")
    if include_usage:
        events.append(sse_event(dict(head, object="chat.completion.chunk", choices=[],
                                     usage=usage)))
    events.append(sse_event("[DONE]"))
    return Reply(200, ctype="text/event-stream", events=events)


def response_tool_calls(req, n, calls):
    body = req.json if isinstance(req.json, dict) else {}
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 15}
    items = [{"type": "function_call", "id": "fc_%d_%d" % (n, k), "call_id": i, "name": nm,
              "arguments": a, "status": "completed"} for k, (i, nm, a) in enumerate(calls)]
    final = {"id": "resp_%d" % n, "object": "response", "created_at": int(time.time()),
             "status": "completed", "error": None, "model": body.get("model") or "gpt-4.1",
             "output": items, "usage": usage, "tools": body.get("tools", [])}
    if body.get("stream") is not True:
        return Reply.json(final)
    events = []

    def ev(kind, **fields):
        d = {"type": kind, "sequence_number": len(events)}
        d.update(fields)
        events.append(sse_event(d, event=kind))

    ev("response.created", response=dict(final, status="in_progress", output=[], usage=None))
    for k, item in enumerate(items):
        ev("response.output_item.added", output_index=k, item=dict(item, arguments="",
                                                                    status="in_progress"))
        ev("response.function_call_arguments.delta", output_index=k, item_id=item["id"],
           delta=item["arguments"])
        ev("response.function_call_arguments.done", output_index=k, item_id=item["id"],
           arguments=item["arguments"])
        ev("response.output_item.done", output_index=k, item=item)
    ev("response.completed", response=final)
    return Reply(200, ctype="text/event-stream", events=events)


def chat(req, n, over=None):
    body = req.json
    if not isinstance(body, dict):
        return bad("We could not parse the JSON body of your request. Expected a JSON "
                   "object with 'messages'.", "messages")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return bad("'messages' must be a non-empty array.", "messages")
    last = msgs[-1]
    if not isinstance(last, dict):
        return bad("Invalid type for 'messages[%d]': expected an object." % (len(msgs) - 1),
                   "messages")
    nchoices = body.get("n", 1)
    if nchoices is None:
        nchoices = 1
    if not isinstance(nchoices, int) or isinstance(nchoices, bool) or not 1 <= nchoices <= 128:
        return bad("Invalid value for 'n': expected an integer from 1 to 128.", "n")
    model = body.get("model") or "gpt-3.5-turbo"
    results = tool_results(msgs, "role", "tool", "content")
    said = "You said: " + parts_text(last.get("content")) if results is None \
        else "You said: " + results
    text, refusal, finish_as, size = answer_of(body, said, over)
    tools = body.get("tools")
    tool_name = None
    if results is None and isinstance(tools, list) and tools:
        t0 = tools[0] if isinstance(tools[0], dict) else {}
        fn = t0.get("function") if isinstance(t0.get("function"), dict) else {}
        tool_name = fn.get("name") or t0.get("name") or ""
    contents = [text + ("" if i == 0 else " [%d]" % i) for i in range(nchoices)]
    prompt_tokens = max(1, sum(ntokens(parts_text(m.get("content")))
                               for m in msgs if isinstance(m, dict)))
    completion_tokens = 0
    for i, c in enumerate(contents):
        completion_tokens += 3 if (i == 0 and tool_name is not None) else ntokens(c)
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    cid = "chatcmpl-%d" % n
    created = int(time.time())
    args = '{"a": 1}'

    if body.get("stream") is True:
        so = body.get("stream_options")
        include_usage = isinstance(so, dict) and so.get("include_usage") is True
        shape = getattr(req, "shape", None) or ("azure" if getattr(req, "azure", False) else None)
        if shape in SHAPED_STREAMS:
            return SHAPED_STREAMS[shape](cid, created, model, contents, usage, include_usage)
        events = []

        def chunk(index, delta, finish=None):
            c = {"id": cid, "object": "chat.completion.chunk", "created": created,
                 "model": model, "system_fingerprint": "fp_standin",
                 "choices": [{"index": index, "delta": delta, "logprobs": None,
                              "finish_reason": finish}]}
            if include_usage:
                c["usage"] = None
            events.append(sse_event(c))

        for i, content in enumerate(contents):
            if i == 0 and tool_name is not None:
                chunk(0, {"role": "assistant", "content": None, "tool_calls": [
                    {"index": 0, "id": "call_1", "type": "function",
                     "function": {"name": tool_name, "arguments": ""}}]})
                chunk(0, {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]})
                chunk(0, {"tool_calls": [{"index": 0, "function": {"arguments": ' 1}'}}]})
                chunk(0, {}, "tool_calls")
                continue
            chunk(i, {"role": "assistant", "content": ""})
            field = "refusal" if (i == 0 and refusal is not None) else "content"
            for w in pieces_of(refusal if field == "refusal" else content, size):
                chunk(i, {field: w})
            chunk(i, {}, finish_as or "stop")
        if include_usage:
            events.append(sse_event({"id": cid, "object": "chat.completion.chunk",
                                     "created": created, "model": model,
                                     "system_fingerprint": "fp_standin",
                                     "choices": [], "usage": usage}))
        if shape != "no_done":
            events.append(sse_event("[DONE]"))
        return Reply(200, ctype="text/event-stream", events=events)

    choices = []
    for i, content in enumerate(contents):
        if i == 0 and tool_name is not None:
            msg = {"role": "assistant", "content": None, "refusal": None,
                   "tool_calls": [{"id": "call_1", "type": "function",
                                   "function": {"name": tool_name, "arguments": args}}]}
            finish = "tool_calls"
        elif i == 0 and refusal is not None:
            msg = {"role": "assistant", "content": None, "refusal": refusal}
            finish = finish_as or "stop"
        else:
            msg = {"role": "assistant", "content": content, "refusal": None}
            finish = finish_as or "stop"
        choices.append({"index": i, "message": msg, "logprobs": None, "finish_reason": finish})
    return Reply.json({"id": cid, "object": "chat.completion", "created": created,
                       "model": model, "system_fingerprint": "fp_standin",
                       "choices": choices, "usage": usage})


def images(req, n):
    body = req.json
    if not isinstance(body, dict) or not isinstance(body.get("prompt"), str) \
            or not body["prompt"]:
        return bad("'prompt' must be a non-empty string.", "prompt")
    prompt = body["prompt"]
    count = body.get("n", 1)
    if count is None:
        count = 1
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10:
        return bad("Invalid value for 'n': expected an integer from 1 to 10.", "n")
    # gpt-image-1 always answers with b64_json, as the real API does
    b64 = body.get("response_format") == "b64_json" or body.get("model") == "gpt-image-1"
    data = []
    for i in range(count):
        item = {"b64_json": PNG_B64} if b64 else \
            {"url": "https://images.invalid/%d-%d.png" % (n, i)}
        item["revised_prompt"] = prompt
        data.append(item)
    return Reply.json({"created": int(time.time()), "data": data})


REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")


def responses(req, n, over=None):
    body = req.json
    if not isinstance(body, dict) or not isinstance(body.get("input"), (str, list)):
        return bad("'input' must be a string or an array of input items.", "input")
    inp = body["input"]
    if isinstance(inp, str):
        text = inp
    elif inp:
        last = inp[-1]
        if isinstance(last, dict):
            c = last.get("content", last.get("output"))
            text = c if isinstance(c, str) else parts_text(c)
        elif isinstance(last, str):
            text = last
        else:
            text = ""
    else:
        text = ""
    said = "You said: " + text
    if isinstance(inp, list):
        results = tool_results(inp, "type", "function_call_output", "output")
        if results is not None:
            said = "You said: " + results
    reply_text, refusal, finish_as, size = answer_of(body, said, over)
    model = body.get("model") or "gpt-4.1"
    reasoning = over.get("reasoning") if isinstance(over, dict) and "reasoning" in over \
        else bool(REASONING_MODEL.match(model))
    rid, mid = "resp_%d" % n, "msg_%d" % n
    created = int(time.time())
    in_tok = max(1, ntokens(text))
    out_tok = ntokens(reply_text)

    def resp_obj(status, output, usage):
        return {
            "id": rid, "object": "response", "created_at": created, "status": status,
            "error": None, "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": model, "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1),
            "text": body.get("text", {"format": {"type": "text"}}),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "top_p": body.get("top_p", 1),
            "truncation": body.get("truncation", "disabled"),
            "usage": usage, "user": body.get("user"),
            "metadata": body.get("metadata", {}),
        }

    if refusal is not None:
        part = {"type": "refusal", "refusal": refusal}
    else:
        part = {"type": "output_text", "text": reply_text, "annotations": []}
    item = {"type": "message", "id": mid, "status": "completed", "role": "assistant",
            "content": [part]}
    thought = {"type": "reasoning", "id": "rs_%d" % n, "summary": []}
    first = [thought] if reasoning else []
    status = "completed"
    if finish_as == "length":
        status = "incomplete"
        item["status"] = "incomplete"
    usage = {"input_tokens": in_tok, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": out_tok, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": in_tok + out_tok}
    final = resp_obj(status, first + [item], usage)
    if status == "incomplete":
        final["incomplete_details"] = {"reason": "max_output_tokens"}

    if body.get("stream") is not True:
        return Reply.json(final)

    events = []

    def ev(kind, **fields):
        d = {"type": kind, "sequence_number": len(events)}
        d.update(fields)
        events.append(sse_event(d, event=kind))

    at = len(first)
    loc = {"item_id": mid, "output_index": at, "content_index": 0}
    ev("response.created", response=resp_obj("in_progress", [], None))
    ev("response.in_progress", response=resp_obj("in_progress", [], None))
    if reasoning:
        ev("response.output_item.added", output_index=0, item=thought)
        ev("response.output_item.done", output_index=0, item=thought)
    ev("response.output_item.added", output_index=at,
       item={"type": "message", "id": mid, "status": "in_progress", "role": "assistant",
             "content": []})
    if refusal is not None:
        ev("response.content_part.added", part={"type": "refusal", "refusal": ""}, **loc)
        for w in pieces_of(refusal, size):
            ev("response.refusal.delta", delta=w, **loc)
        ev("response.refusal.done", refusal=refusal, **loc)
    else:
        ev("response.content_part.added", part={"type": "output_text", "text": "",
                                                "annotations": []}, **loc)
        for w in pieces_of(reply_text, size):
            ev("response.output_text.delta", delta=w, logprobs=[], **loc)
        ev("response.output_text.done", text=reply_text, logprobs=[], **loc)
    ev("response.content_part.done", part=part, **loc)
    ev("response.output_item.done", output_index=at, item=item)
    ev("response.incomplete" if status == "incomplete" else "response.completed", response=final)
    return Reply(200, ctype="text/event-stream", events=events)


def model_obj(mid, created, owner):
    return {"id": mid, "object": "model", "created": created, "owned_by": owner}


def unknown_url(req):
    return Reply.json(api_error("Unknown request URL: %s %s" % (req.method, req.path),
                                code="unknown_url"), 404)


# --------------------------------------------------------------------------
# embeddings, moderations, audio, image edits, files, batches, stored responses


class Store:
    """Files and batches created since the last reset."""

    def __init__(self):
        self.lock = threading.RLock()         # batches add their output files
        self.clear()

    def clear(self):
        self.files = {}           # id -> (object, bytes)
        self.batches = {}         # id -> object
        self.seq = 0

    def next_id(self, prefix):
        self.seq += 1
        return "%s%d" % (prefix, self.seq)


STORE = Store()


def f32_vector(j, dims):
    """Embedding j: values exact in 4-byte floats, a quarter step apart."""
    return [((j + 1) * (i + 1) % 7 - 3) / 4.0 for i in range(dims)]


def embeddings(req, n):
    body = req.json
    if not isinstance(body, dict) or not isinstance(body.get("input"), (str, list)) \
            or not body.get("input"):
        return bad("'input' must be a non-empty string or array.", "input")
    inp = body["input"]
    items = [inp] if isinstance(inp, str) else inp
    dims = body.get("dimensions") or 8
    fmt = body.get("encoding_format") or "float"
    data = []
    for j in range(len(items)):
        vec = f32_vector(j, dims)
        if fmt == "base64":
            emb = base64.b64encode(struct.pack("<%df" % dims, *vec)).decode("ascii")
        else:
            emb = vec
        data.append({"object": "embedding", "index": j, "embedding": emb})
    tokens = sum(max(1, ntokens(x)) if isinstance(x, str) else len(x) for x in items)
    return Reply.json({"object": "list", "data": data, "model": body.get("model"),
                       "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def moderations(req, n):
    body = req.json
    if not isinstance(body, dict) or not isinstance(body.get("input"), (str, list)):
        return bad("'input' must be a string or an array.", "input")
    inp = body["input"]
    items = [inp] if isinstance(inp, str) else inp
    names = ["harassment", "hate", "self-harm", "sexual", "violence"]
    results = []
    for x in items:
        hit = isinstance(x, str) and "kill" in x
        results.append({"flagged": hit,
                        "categories": {c: hit and c == "violence" for c in names},
                        "category_scores": {c: (0.9 if hit and c == "violence" else 0.001)
                                            for c in names}})
    # the API's own default model when none is given
    return Reply.json({"id": "modr-%d" % n, "model": body.get("model") or "omni-moderation-latest",
                       "results": results})


def form(rec):
    """A multipart request's fields: name -> [part, ...]."""
    out = {}
    for p in rec.get("parts") or []:
        out.setdefault(p["name"], []).append(p)
    return out


def form_value(f, name, default=None):
    p = f.get(name)
    return p[0]["data"] if p else default


def audio(req, n, rec, task):
    f = form(rec)
    if "file" not in f or "model" not in f:
        return bad("'file' and 'model' are required.", "file" if "file" not in f else "model")
    part = f["file"][0]
    size = len(base64.b64decode(part["data_b64"]))
    text = "Heard %d bytes of %s." % (size, part["filename"])
    fmt = form_value(f, "response_format", "json")
    if fmt == "text":
        return Reply(200, (text + "\n").encode(), "text/plain; charset=utf-8")
    if fmt == "srt":
        return Reply(200, ("1\n00:00:00,000 --> 00:00:01,000\n%s\n\n" % text).encode(),
                     "text/plain; charset=utf-8")
    if fmt == "vtt":
        return Reply(200, ("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n%s\n\n" % text).encode(),
                     "text/plain; charset=utf-8")
    if fmt == "verbose_json":
        return Reply.json({"task": task, "language": form_value(f, "language", "english"),
                           "duration": 1.0, "text": text,
                           "segments": [{"id": 0, "start": 0.0, "end": 1.0, "text": text}]})
    return Reply.json({"text": text})


def speech_bytes(text, fmt):
    """Stand-in audio: a tag, then bytes 0..255 repeated, 37 per input byte."""
    count = 1000 + 37 * len(text.encode("utf-8"))
    block = bytes(range(256))
    data = (fmt.upper() + ":").encode() + block * (count // 256) + block[:count % 256]
    return data


SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac",
                "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"}


def speech(req, n):
    body = req.json
    if not isinstance(body, dict) or not isinstance(body.get("input"), str) \
            or not body.get("voice") or not body.get("model"):
        return bad("'model', 'input' and 'voice' are required.", "input")
    fmt = body.get("response_format") or "mp3"
    return Reply(200, speech_bytes(body["input"], fmt), SPEECH_TYPES.get(fmt, "audio/mpeg"))


def image_edits(req, n, rec, variation):
    f = form(rec)
    images = f.get("image", []) + f.get("image[]", [])
    if not images:
        return bad("'image' is required.", "image")
    if not variation and "prompt" not in f:
        return bad("'prompt' is required.", "prompt")
    count = int(form_value(f, "n", "1"))
    item = ({"url": "https://images.example/%d.png" % n}
            if form_value(f, "response_format") == "url" else {"b64_json": PNG_B64})
    return Reply.json({"created": int(time.time()), "data": [dict(item) for _ in range(count)]})


def upload_file(req, n, rec):
    f = form(rec)
    if "file" not in f or "purpose" not in f:
        return bad("'file' and 'purpose' are required.", "file" if "file" not in f else "purpose")
    part = f["file"][0]
    fid = add_file(part["filename"], form_value(f, "purpose"), base64.b64decode(part["data_b64"]))
    with STORE.lock:
        return Reply.json(dict(STORE.files[fid][0]))


def add_file(name, purpose, data):
    with STORE.lock:
        fid = STORE.next_id("file-")
        obj = {"id": fid, "object": "file", "bytes": len(data), "created_at": 1700000000 + STORE.seq,
               "filename": name, "purpose": purpose, "status": "processed",
               "expires_at": None, "status_details": None}
        STORE.files[fid] = (obj, data)
    return fid


def page(req, items, max_limit):
    """A list page as the API cuts it: limit, after (an id), has_more."""
    q = parse_qs(req.query)
    try:
        limit = int(q.get("limit", ["20"])[-1])
    except ValueError:
        return bad("'limit' must be an integer.", "limit")
    if limit < 1 or limit > max_limit:
        return bad("'limit' must be from 1 to %d." % max_limit, "limit")
    after = q.get("after", [None])[-1]
    if after is not None:
        ids = [x["id"] for x in items]
        if after not in ids:
            return bad("No such object: '%s'" % after, "after")
        items = items[ids.index(after) + 1:]
    data = items[:limit]
    return Reply.json({"object": "list", "data": data,
                       "first_id": data[0]["id"] if data else None,
                       "last_id": data[-1]["id"] if data else None,
                       "has_more": len(items) > limit})


def not_found(kind, oid, param):
    return Reply.json(api_error("No such %s: '%s'" % (kind, oid), param=param), 404)


def files_route(req, n, rec, segs):
    method = req.method
    if len(segs) == 3 and method == "POST":
        return upload_file(req, n, rec)
    if len(segs) == 3 and method == "GET":
        q = parse_qs(req.query)
        purpose = q.get("purpose", [None])[-1]
        order = q.get("order", ["desc"])[-1]
        with STORE.lock:
            items = [o for o, _ in STORE.files.values()
                     if purpose is None or o["purpose"] == purpose]
        items.sort(key=lambda o: o["created_at"], reverse=(order != "asc"))
        return page(req, items, 10000)
    fid = unquote(segs[3], errors="replace")
    with STORE.lock:
        entry = STORE.files.get(fid)
    if entry is None:
        return not_found("file", fid, "id")
    if len(segs) == 4 and method == "GET":
        return Reply.json(entry[0])
    if len(segs) == 4 and method == "DELETE":
        with STORE.lock:
            STORE.files.pop(fid, None)
        return Reply.json({"id": fid, "object": "file", "deleted": True})
    if len(segs) == 5 and segs[4] == "content" and method == "GET":
        return Reply(200, entry[1], "application/octet-stream")
    return unknown_url(req)


def batch_line_result(line, i):
    """One line of a batch's input file -> (output line, error line)."""
    try:
        item = json.loads(line)
    except ValueError:
        return None, {"id": "batch_req_%d" % i, "custom_id": None, "response": None,
                      "error": {"code": "invalid_json", "message": "Line %d is not JSON." % i}}
    cid = item.get("custom_id")
    body = item.get("body") or {}
    if body.get("model") == "no-such-model":
        return None, {"id": "batch_req_%d" % i, "custom_id": cid, "response": None,
                      "error": {"code": "model_not_found",
                                "message": "The model 'no-such-model' does not exist"}}
    msgs = body.get("messages") or [{"content": ""}]
    text = msgs[-1].get("content") if isinstance(msgs[-1], dict) else ""
    answer = {"id": "chatcmpl-b%d" % i, "object": "chat.completion", "created": 1700000000,
              "model": body.get("model"),
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "You said: %s" % text}}]}
    return {"id": "batch_req_%d" % i, "custom_id": cid,
            "response": {"status_code": 200, "request_id": "req_b%d" % i, "body": answer},
            "error": None}, None


def advance_batch(b):
    """Each look at a batch moves it one step: validating, in_progress, done."""
    if b["status"] == "validating":
        b["status"] = "in_progress"
        b["in_progress_at"] = 1700000100
    elif b["status"] == "in_progress":
        entry = STORE.files.get(b["input_file_id"])
        lines = [x for x in entry[1].decode("utf-8", "replace").split("\n") if x.strip()]
        out, errs = [], []
        for i, line in enumerate(lines):
            o, e = batch_line_result(line, i + 1)
            (out if o else errs).append(json.dumps(o or e, separators=(",", ":")))
        if out:
            b["output_file_id"] = add_file("batch_%s_output.jsonl" % b["id"], "batch_output",
                                           ("\n".join(out) + "\n").encode())
        if errs:
            b["error_file_id"] = add_file("batch_%s_error.jsonl" % b["id"], "batch_output",
                                          ("\n".join(errs) + "\n").encode())
        b["status"] = "completed"
        b["completed_at"] = 1700000200
        b["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(errs)}
    elif b["status"] == "cancelling":
        b["status"] = "cancelled"
        b["cancelled_at"] = 1700000300


def batches_route(req, n, segs):
    method = req.method
    if len(segs) == 3 and method == "POST":
        body = req.json
        if not isinstance(body, dict):
            return bad("The body must be a JSON object.", None)
        for k in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(body.get(k), str):
                return bad("'%s' is required." % k, k)
        with STORE.lock:
            if body["input_file_id"] not in STORE.files:
                return not_found("file", body["input_file_id"], "input_file_id")
            bid = STORE.next_id("batch_")
            b = {"id": bid, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                 "input_file_id": body["input_file_id"],
                 "completion_window": body["completion_window"], "status": "validating",
                 "output_file_id": None, "error_file_id": None,
                 "created_at": 1700000000 + STORE.seq, "in_progress_at": None,
                 "expires_at": 1700086400, "completed_at": None, "failed_at": None,
                 "cancelled_at": None,
                 "request_counts": {"total": 0, "completed": 0, "failed": 0},
                 "metadata": body.get("metadata")}
            STORE.batches[bid] = b
            return Reply.json(dict(b))
    if len(segs) == 3 and method == "GET":
        with STORE.lock:
            items = sorted((dict(b) for b in STORE.batches.values()),
                           key=lambda b: b["created_at"], reverse=True)
        return page(req, items, 100)
    bid = unquote(segs[3], errors="replace")
    with STORE.lock:
        b = STORE.batches.get(bid)
        if b is None:
            return not_found("batch", bid, "batch_id")
        if len(segs) == 4 and method == "GET":
            advance_batch(b)
            return Reply.json(dict(b))
        if len(segs) == 5 and segs[4] == "cancel" and method == "POST":
            if b["status"] in ("validating", "in_progress"):
                b["status"] = "cancelling"
                b["cancelling_at"] = 1700000250
            return Reply.json(dict(b))
    return unknown_url(req)


def stored_response(req, n, segs):
    rid = unquote(segs[3], errors="replace")
    if not rid.startswith("resp_"):
        return not_found("response", rid, "response_id")
    if len(segs) == 4 and req.method == "GET":
        text = "You said: hello"
        return Reply.json({"id": rid, "object": "response", "created_at": 1700000000,
                           "status": "completed", "model": "gpt-4.1", "error": None,
                           "output": [{"type": "message", "id": "msg_" + rid[5:],
                                       "status": "completed", "role": "assistant",
                                       "content": [{"type": "output_text", "text": text,
                                                    "annotations": []}]}]})
    if len(segs) == 4 and req.method == "DELETE":
        return Reply.json({"id": rid, "object": "response", "deleted": True})
    if len(segs) == 5 and segs[4] == "cancel" and req.method == "POST":
        return Reply.json({"id": rid, "object": "response", "status": "cancelled",
                           "created_at": 1700000000, "model": "gpt-4.1", "output": []})
    return unknown_url(req)


def data_route(req, n, rec, route):
    """The data endpoints, or None when route is none of them."""
    segs = route.split("/")
    method = req.method
    simple = {("POST", "/v1/embeddings"): lambda: embeddings(req, n),
              ("POST", "/v1/moderations"): lambda: moderations(req, n),
              ("POST", "/v1/audio/transcriptions"): lambda: audio(req, n, rec, "transcribe"),
              ("POST", "/v1/audio/translations"): lambda: audio(req, n, rec, "translate"),
              ("POST", "/v1/audio/speech"): lambda: speech(req, n),
              ("POST", "/v1/images/edits"): lambda: image_edits(req, n, rec, False),
              ("POST", "/v1/images/variations"): lambda: image_edits(req, n, rec, True)}
    handler = simple.get((method, route))
    if handler is None and segs[:3] == ["", "v1", "files"] and len(segs) <= 5:
        handler = lambda: files_route(req, n, rec, segs)             # noqa: E731
    if handler is None and segs[:3] == ["", "v1", "batches"] and len(segs) <= 5:
        handler = lambda: batches_route(req, n, segs)                 # noqa: E731
    if handler is None and segs[:3] == ["", "v1", "responses"] and len(segs) in (4, 5):
        handler = lambda: stored_response(req, n, segs)               # noqa: E731
    if handler is None:
        return None
    return auth_error(req) or handler()


def canned(req, n, rec):
    path, method = req.path, req.method
    if path == "/v1/echo":
        return Reply.json(rec)
    if path == "/v1/text" and method in ("GET", "HEAD"):
        return Reply(200, b"hello, text\n", "text/plain; charset=utf-8")
    if path == "/v1/bytes" and method in ("GET", "HEAD"):
        vals = parse_qs(req.query).get("n", ["256"])
        try:
            count = int(vals[-1])
            if count < 0:
                raise ValueError
        except ValueError:
            return bad("'n' must be a non-negative integer.", "n")
        block = bytes(range(256))
        data = block * (count // 256) + block[:count % 256]
        return Reply(200, data, "application/octet-stream")

    segs = path.split("/")
    azure = (len(segs) == 6 and segs[1] == "openai" and segs[2] == "deployments")
    if azure:
        route = "/v1/" + "/".join(segs[4:])
    else:
        route = path
    # Azure: /openai/deployments/<d>/audio/..., /openai/files, /openai/responses/<id>
    data_path = path
    if len(segs) >= 5 and segs[1] == "openai" and segs[2] == "deployments":
        data_path = "/v1/" + "/".join(segs[4:])
    elif len(segs) >= 3 and segs[1] == "openai":
        data_path = "/v1/" + "/".join(segs[2:])
    reply = data_route(req, n, rec, data_path)
    if reply is not None:
        return reply
    known = {"/v1/chat/completions": ("POST", chat),
             "/v1/images/generations": ("POST", images),
             "/v1/responses": ("POST", responses)}
    is_models = (segs[:3] == ["", "v1", "models"] and len(segs) in (3, 4)
                 and method in ("GET", "HEAD"))
    if route in known and known[route][0] == method:
        handler = known[route][1]
    elif is_models:
        handler = None
    else:
        return unknown_url(req)

    err = auth_error(req)
    if err:
        return err
    if handler is not None:
        req.azure = azure
        if azure and isinstance(req.json, dict) and "model" not in req.json:
            req.json = dict(req.json, model=unquote(segs[3]))
        return handler(req, n)
    if len(segs) == 3:
        return Reply.json({"object": "list", "data": [model_obj(*m) for m in MODELS]})
    mid = unquote(segs[3], errors="replace")
    for m in MODELS:
        if m[0] == mid:
            return Reply.json(model_obj(*m))
    return Reply.json(api_error("The model '%s' does not exist" % mid,
                                param="model", code="model_not_found"), 404)


# --------------------------------------------------------------------------
# connections


class Conn:
    """One TCP connection: a buffered reader plus the writers and faults."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.gen = -1
        self.cid = 0

    # --- reading

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise ClientGone()
        self.buf += data

    def readline(self):
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > MAX_LINE:
                raise BadRequest("line too long")
            start = len(self.buf)
            self._fill()

    def read(self, count):
        while len(self.buf) < count:
            self._fill()
        data = bytes(self.buf[:count])
        del self.buf[:count]
        return data

    def read_request(self):
        """Parse one request; None at a clean end of the connection."""
        try:
            line = self.readline()
            while line in (b"\r\n", b"\n"):       # stray blank lines between requests
                line = self.readline()
        except ClientGone:
            return None
        parts = line.strip().split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            raise BadRequest("bad request line")
        req = Request()
        req.method = dec_header(parts[0])
        req.target = dec_header(parts[1])
        req.version = dec_header(parts[2])
        target = req.target
        m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", target)
        if m:
            target = target[m.end():] or "/"
        path, _, query = target.partition("?")
        req.path, req.query = path, query
        hl = []
        while True:
            line = self.readline()
            if line in (b"\r\n", b"\n"):
                break
            if len(hl) >= MAX_HEADERS:
                raise BadRequest("too many headers")
            if line[:1] in (b" ", b"\t") and hl:    # obsolete line folding
                hl[-1] = (hl[-1][0], hl[-1][1] + " " + dec_header(line).strip())
                continue
            if b":" not in line:
                raise BadRequest("bad header line")
            k, v = line.split(b":", 1)
            hl.append((dec_header(k).strip(), dec_header(v).strip()))
        req.header_list = hl
        headers = {}
        for k, v in hl:
            low = k.lower()
            headers[low] = headers[low] + ", " + v if low in headers else v
        req.headers = headers
        conn_tokens = [t.strip().lower() for t in headers.get("connection", "").split(",")]
        if req.version == "HTTP/1.0":
            req.keep_alive = "keep-alive" in conn_tokens
        else:
            req.keep_alive = "close" not in conn_tokens

        if headers.get("expect", "").lower() == "100-continue" and req.version != "HTTP/1.0":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

        req.trailers = []
        te = headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                size_line = self.readline().split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise BadRequest("bad chunk size")
                if size < 0:
                    raise BadRequest("bad chunk size")
                if size == 0:
                    break
                chunks.append(self.read(size))
                self.readline()                      # CRLF after the data
            while True:
                line = self.readline()
                if line in (b"\r\n", b"\n"):
                    break
                if b":" in line:
                    k, v = line.split(b":", 1)
                    req.trailers.append((dec_header(k).strip(), dec_header(v).strip()))
            req.body = b"".join(chunks)
        elif "content-length" in headers:
            try:
                vals = {int(x.strip()) for x in headers["content-length"].split(",")}
            except ValueError:
                raise BadRequest("bad content-length")
            if len(vals) != 1 or min(vals) < 0:
                raise BadRequest("bad content-length")
            req.body = self.read(vals.pop())
        else:
            req.body = b""
        req.json = None
        if req.body:
            try:
                req.json = json.loads(req.body)
            except (ValueError, RecursionError):
                req.json = None
        return req

    # --- writing

    def head_bytes(self, req, reply, request_id, length=None, chunked=False,
                   close=False):
        """Status line and header lines (each its own bytes), then the blank line."""
        names = {k.lower() for k, _ in reply.headers}
        hdrs = [(k, v) for k, v in (("x-request-id", request_id),
                                    ("date", formatdate(usegmt=True)))
                if k not in names]
        hdrs += reply.headers
        if chunked and "transfer-encoding" not in names:
            hdrs.append(("transfer-encoding", "chunked"))
        elif length is not None and not chunked and "content-length" not in names:
            hdrs.append(("content-length", str(length)))
        if close and "connection" not in names:
            hdrs.append(("connection", "close"))
        out = [("HTTP/1.1 %d %s\r\n" % (reply.status, reason(reply.status))).encode("utf-8")]
        out += [("%s: %s\r\n" % (k, v)).encode("utf-8") for k, v in hdrs]
        out.append(b"\r\n")
        return out

    def send(self, data, trickle=0.0):
        if not data:
            return
        if trickle <= 0:
            self.sock.sendall(data)
            return
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(trickle)

    def reset(self, pause=False):
        if pause:
            time.sleep(RST_PAUSE)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()

    def hang(self, ms):
        """Stay silent for ms, or until the peer goes away."""
        deadline = time.monotonic() + ms / 1000.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self.sock.settimeout(min(left, 0.25))
                data = self.sock.recv(65536, socket.MSG_PEEK)
                if not data:
                    return                           # peer closed
                time.sleep(max(0.0, deadline - time.monotonic()))   # peer sent more
                return
            except socket.timeout:
                continue
            except OSError:
                return
            finally:
                try:
                    self.sock.settimeout(IDLE_TIMEOUT)
                except OSError:
                    pass

    # --- the loop

    def serve(self):
        self.sock.settimeout(IDLE_TIMEOUT)
        while True:
            try:
                req = self.read_request()
            except BadRequest as e:
                body = jdump(api_error("Bad request: %s" % e))
                self.sock.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nx-request-id: req_0\r\n"
                    b"content-type: application/json\r\nconnection: close\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                return
            if req is None:
                return
            try:
                keep = self.handle(req)
            except (OSError, ClientGone):
                raise
            except Exception:                        # a bug: say so, answer 500, go on
                traceback.print_exc()
                body = jdump(api_error("standin bug: %s" % traceback.format_exc(limit=3),
                                       etype="server_error"))
                self.sock.sendall(
                    b"HTTP/1.1 500 Internal Server Error\r\nx-request-id: req_0\r\n"
                    b"content-type: application/json\r\nconnection: close\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                return
            if not keep:
                return

    def handle(self, req):
        """Answer one request; returns whether to keep the connection."""
        path = req.path
        if path.startswith("/_control/") or path == "/health":
            reply = control(req)
            return self.send_reply(req, reply, "req_0", {})
        rec = make_record(req)
        n = STATE.record(self, rec)
        rid = "req_%d" % n
        r = STATE.take_script(req.method, path)
        if r is None:
            return self.send_reply(req, canned(req, n, rec), rid, {})
        return self.apply_script(req, r, n, rec, rid)

    def apply_script(self, req, r, n, rec, rid):
        if not isinstance(r, dict):
            r = {}
        ph = r.get("echo_key")
        if isinstance(ph, str) and ph:           # the key received, in place of ph
            key = json.dumps(request_key(req) or "")[1:-1]
            r = json.loads(json.dumps(r).replace(ph, key))
        delay = r.get("delay_ms") or 0
        if delay > 0:
            time.sleep(delay / 1000.0)
        fault = r.get("fault")
        hang_ms = r.get("hang_ms", 30000)
        if fault == "reset":
            self.reset()
            return False
        if fault == "close":
            return False
        if fault == "hang":
            self.hang(hang_ms)
            return False

        status = r.get("status", 200)
        if "tool_calls" in r:
            calls = scripted_calls(r["tool_calls"])
            reply = response_tool_calls(req, n, calls) if req.path.endswith("/responses") \
                else chat_tool_calls(req, n, calls)
        elif "sse" in r:
            reply = Reply(status, ctype="text/event-stream",
                          events=scripted_events(r["sse"] or []))
        elif "json" in r:
            reply = Reply(status, jdump(r["json"]))
        elif "body" in r:
            b = r["body"]
            reply = Reply(status, b.encode("utf-8") if isinstance(b, str) else jdump(b))
        elif "body_b64" in r:
            reply = Reply(status, base64.b64decode(r["body_b64"]))
        elif "error_shape" in r:
            shaped = shaped_error(r["error_shape"], status, r.get("message", "went wrong"))
            if shaped is None:
                reply = Reply.json(api_error("unknown error_shape %r" % r["error_shape"]), 400)
            else:
                reply = Reply(status, shaped[0], shaped[1])
        elif "answer" in r and req.path.endswith("/responses") and isinstance(req.json, dict):
            reply = responses(req, n, r["answer"])
        elif "answer" in r and isinstance(req.json, dict):
            reply = chat(req, n, r["answer"])
        elif status == 200 or r.get("stream_canned"):
            req.shape = r.get("shape")
            if r.get("stream_canned") and isinstance(req.json, dict) \
                    and req.json.get("stream") is not True:
                req.json = dict(req.json, stream=True)
            reply = canned(req, n, rec)
            if "status" in r:
                reply.status = status
        elif status >= 400:
            reply = Reply.json(status_error(status), status)
        else:
            reply = Reply(status, b"", None)
        hdrs = r.get("headers") or {}
        if isinstance(hdrs, dict):
            for k, v in hdrs.items():
                reply.set_header(k, v)
        elif isinstance(hdrs, list):                 # [[name, value], ...] adds repeats
            for k, v in hdrs:
                reply.headers.append((k, str(v)))
        return self.send_reply(req, reply, rid, r)

    def send_reply(self, req, reply, rid, r):
        fault = r.get("fault")
        trickle = (r.get("trickle_ms") or 0) / 1000.0
        hang_ms = r.get("hang_ms", 30000)
        keep = req.keep_alive
        no_body = req.method == "HEAD" or reply.status in (204, 304) or reply.status < 200

        if reply.events is not None and not no_body:
            return self.send_stream(req, reply, rid, r, trickle, keep)

        body = b"" if no_body else reply.body
        length = len(reply.body) if req.method == "HEAD" else len(body)
        head = self.head_bytes(req, reply, rid, length=None if reply.status in (204, 304)
                               else length, close=not keep)
        if fault == "reset_mid_headers":
            self.send(head[0] + head[1])
            self.reset(pause=True)
            return False
        if fault in ("reset_mid_body", "truncate", "hang_after_headers"):
            self.send(b"".join(head))
            if fault == "hang_after_headers":
                self.hang(hang_ms)
                return False
            self.send(body[:len(body) // 2], trickle)
            if fault == "reset_mid_body":
                self.reset(pause=True)
            return False
        if trickle > 0:
            self.send(b"".join(head))
            self.send(body, trickle)
        else:
            self.sock.sendall(b"".join(head) + body)
        if fault == "close_after":
            return False
        return keep

    def send_stream(self, req, reply, rid, r, trickle, keep):
        fault = r.get("fault")
        hang_ms = r.get("hang_ms", 30000)
        chunked = req.version != "HTTP/1.0"
        if not chunked:
            keep = False
        head = self.head_bytes(req, reply, rid, chunked=chunked, close=not keep)
        events = reply.events
        end = r.get("sse_end", "end")
        cut = r.get("cut_after")
        if isinstance(cut, int) and not isinstance(cut, bool) and cut >= 0:
            events = events[:cut]
        if fault == "reset_mid_headers":
            self.send(head[0] + head[1])
            self.reset(pause=True)
            return False
        if fault in ("reset_mid_body", "truncate", "hang_after_headers"):
            events = [] if fault == "hang_after_headers" else events[:len(events) // 2]
            end = {"reset_mid_body": "reset", "truncate": "close",
                   "hang_after_headers": "hang"}[fault]
        gap = (r.get("sse_delay_ms") or 0) / 1000.0

        def frame(data):
            if not chunked:
                return data
            return b"%x\r\n" % len(data) + data + b"\r\n"

        if r.get("sse_one_write"):
            # head and every event in one TCP segment; with sse_end "close"
            # the FIN rides on it (TCP_CORK holds the data until the
            # shutdown), so the client reads the events and the cut at once
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            self.sock.sendall(b"".join(head) + b"".join(frame(ev) for ev in events if ev))
            if end == "close":
                self.sock.shutdown(socket.SHUT_WR)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
            events = []
        else:
            self.send(b"".join(head))
        for i, ev in enumerate(events):
            if i > 0 and gap > 0:
                time.sleep(gap)
            if ev:
                self.send(frame(ev), trickle)
        if end == "reset":
            self.reset(pause=True)
            return False
        if end == "hang":
            self.hang(hang_ms)
            return False
        if end == "close":
            return False
        if chunked:
            self.send(b"0\r\n\r\n", trickle)
        if fault == "close_after":
            return False
        return keep


# --------------------------------------------------------------------------
# control API


def control(req):
    p, m = req.path, req.method
    if p == "/health":
        return Reply.json({"ok": True})
    if p == "/_control/reset" and m == "POST":
        STATE.reset()
        return Reply.json({"ok": True})
    if p == "/_control/requests" and m == "GET":
        with STATE.lock:
            reqs = list(STATE.log)
        return Reply.json({"requests": reqs})
    if p == "/_control/stats" and m == "GET":
        return Reply.json(STATE.stats())
    if p == "/_control/scripts" and m == "GET":
        with STATE.lock:
            out = {k: [dict(r, method=mm) if isinstance(r, dict) else r for mm, r in q]
                   for k, q in STATE.scripts.items() if q}
        return Reply.json({"scripts": out})
    if p == "/_control/script" and m == "POST":
        spec = req.json
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            return Reply.json({"ok": False, "error": "need a JSON object with 'path'"}, 400)
        rs = spec.get("responses")
        if rs is None and "response" in spec:
            rs = [spec["response"]]
        if not isinstance(rs, list):
            return Reply.json({"ok": False, "error": "'responses' must be an array"}, 400)
        method = spec.get("method")
        method = method.upper() if isinstance(method, str) and method else None
        STATE.add_script(spec["path"].partition("?")[0] if spec["path"] != "*" else "*",
                         method, rs)
        return Reply.json({"ok": True})
    return Reply.json({"ok": False, "error": "unknown control request %s %s" % (m, p)}, 404)


# --------------------------------------------------------------------------
# server


# the server's TLS context (--tls-cert), or None: plain HTTP
TLS_CONTEXT = None


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if TLS_CONTEXT is not None:
            try:
                sock.settimeout(IDLE_TIMEOUT)
                sock = TLS_CONTEXT.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                return                               # the handshake failed: the client says why
        try:
            self.serve(sock)
        finally:
            if sock is not self.request:
                try:
                    sock.close()
                except OSError:
                    pass

    def serve(self, sock):
        conn = Conn(sock)
        with STATE.lock:
            STATE.accepted += 1
            STATE.live.add(conn)
        try:
            conn.serve()
        except (OSError, ClientGone, BadRequest):
            pass
        finally:
            with STATE.lock:
                STATE.live.discard(conn)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    block_on_close = False

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ClientGone)):
            return
        traceback.print_exc()

    def shutdown_request(self, request):
        try:
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            request.close()
        except OSError:
            pass


def main(argv=None):
    ap = argparse.ArgumentParser(description="local stand-in for the OpenAI API")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca")
    args = ap.parse_args(argv)
    if args.tls_cert:
        global TLS_CONTEXT
        TLS_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        TLS_CONTEXT.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            TLS_CONTEXT.load_verify_locations(args.tls_client_ca)
            TLS_CONTEXT.verify_mode = ssl.CERT_REQUIRED

    def quit_now(signum, frame):
        os._exit(0)
    signal.signal(signal.SIGTERM, quit_now)
    signal.signal(signal.SIGINT, quit_now)

    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    server = Server((args.host, args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = "%s.%d.tmp" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d" % port)
        os.replace(tmp, args.port_file)
    host = "[%s]" % args.host if ":" in args.host else args.host
    print("standin listening on %s://%s:%d" % ("https" if args.tls_cert else "http", host, port),
          flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
