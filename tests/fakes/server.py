"""Local HTTP servers that speak the external services' wire protocols.

The real SDKs (openai, anthropic, slack-sdk, jira, sentry-sdk) talk to these
over HTTP, so their request building, response parsing and error handling
run for real. Each server logs every request (with a monotonic timestamp,
taken when the request arrived) and can be scripted to answer the next
requests with an error status (429 with Retry-After, 401, 500...), a hang
(a delay longer than the client's timeout), or a body that is not JSON:

    fake.fail_next(429, retry_after=2)      # the service's own error shape
    fake.fail_next(401)
    fake.hang_next(5.0)
    fake.invalid_json_next()                # 200 with a body that is not JSON
    fake.enqueue(Scripted(status=..., body=..., headers=..., delay=...))
    fake.fail_next(503, path="/api/chat.postMessage")  # only for requests under a path
    fake.go_down() ... fake.come_back()     # connections refused, then the same URL again

The LLM fakes answer `"stream": true` requests as the real APIs do (OpenAI:
SSE `chat.completion.chunk` events then `[DONE]`; Anthropic: the message
stream events), in `server.stream_chunks` pieces spread over `server.delay`
seconds; a plain answer waits `server.delay` seconds first.

A scripted answer is used once, in order, before the routes' own answers (one
with a `path` waits for the first request under it; other requests pass it by).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic() when the request arrived
    answer: Scripted | None = None  # what the fake answered (set once it decided)

    def text(self) -> str:
        """The body, decompressed (Sentry's SDK gzips its envelopes)."""
        body = self.body
        encoding = self.headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        return body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.text() or "null")

    def query(self) -> dict[str, str]:
        """The query string's parameters (the last value of each)."""
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def params(self) -> dict[str, Any]:
        """Query parameters, then a form or JSON body's (slack-sdk sends GETs as a query)."""
        params: dict[str, Any] = self.query()
        kind = self.headers.get("content-type", "")
        if "json" in kind:
            params.update(self.json() or {})
        elif "form" in kind:
            params.update({k: v[-1] for k, v in parse_qs(self.text()).items()})
        return params


@dataclass
class Scripted:
    """One scripted answer: status, JSON (or raw) body, headers, delay before answering."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Only for requests whose path starts with this (None: the next request, whatever it is).
    path: str | None = None
    # A streamed answer: these pieces (written as they come, chunked encoding),
    # `chunk_delay` seconds apart, or each after its own `chunk_delays[i]`;
    # `body`/`raw` are then unused.
    chunks: list[bytes] | None = None
    chunk_delay: float = 0.0
    chunk_delays: list[float] | None = None


class _Server(ThreadingHTTPServer):
    # Hundreds of clients connect at once (the llm benchmark, many-jobs tests):
    # the default backlog of 5 would reset their connections.
    request_queue_size = 2048
    daemon_threads = True


Route = Callable[[Recorded], Scripted]
ErrorBody = Callable[[int, str], Any]


def _generic_error(status: int, message: str) -> Any:
    return {"error": {"message": message, "status": status}}


class FakeServer:
    """A threaded HTTP server: routes by method and path prefix, a script, a request log."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.routes: list[tuple[str, str, Route]] = []
        self.script: deque[Scripted] = deque()
        # The service's error shape, used by fail_next (set by each service below).
        self.error_body: ErrorBody = _generic_error
        # When set, a request whose credentials do not match gets `auth_failure`.
        self.check_auth: Callable[[Recorded], bool] | None = None
        self.auth_failure: Scripted = Scripted(status=401, body=_generic_error(401, "bad key"))
        self._lock = threading.Lock()
        self.is_down = False
        # LLM fakes: seconds before an answer (a stream spreads its chunks over them)
        # and how many pieces a streamed answer comes in.
        self.delay = 0.0
        self.stream_chunks = 5
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                if fake.is_down:
                    # A keep-alive connection from before go_down(): drop it unanswered.
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                answer = fake._answer(rec)
                rec.answer = answer
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.chunks is not None:
                    self._stream(answer)
                    return
                payload = (
                    answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
                )
                try:
                    self.send_response(answer.status)
                    headers = {"Content-Type": "application/json", **answer.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _stream(self, answer: Scripted) -> None:
                try:
                    self.send_response(answer.status)
                    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                               **answer.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for index, piece in enumerate(answer.chunks or []):
                        pause = (answer.chunk_delays[index] if answer.chunk_delays
                                 else answer.chunk_delay if index else 0.0)
                        if pause:
                            time.sleep(pause)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up mid-stream

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._handler = Handler
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, prefix: str, handler: Route) -> None:
        self.routes.append((method, prefix, handler))

    # -- scripting -------------------------------------------------------------------

    def enqueue(self, *answers: Scripted) -> None:
        """Answers for the next requests, in order, before the routes' own."""
        with self._lock:
            self.script.extend(answers)

    def fail_next(
        self,
        status: int,
        *,
        retry_after: float | str | None = None,
        message: str = "scripted failure",
        times: int = 1,
        path: str | None = None,
    ) -> None:
        """The next `times` requests (under `path`) get `status` in the service's error shape."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.enqueue(*[
            Scripted(status=status, body=self.error_body(status, message), headers=headers,
                     path=path)
            for _ in range(times)
        ])

    def hang_next(self, seconds: float, *, times: int = 1, path: str | None = None) -> None:
        """The next `times` requests are answered only after `seconds` (a client timeout)."""
        self.enqueue(*[
            Scripted(status=500, body=self.error_body(500, "late"), delay=seconds, path=path)
            for _ in range(times)
        ])

    def invalid_json_next(self, *, times: int = 1, path: str | None = None) -> None:
        """The next `times` requests get a 200 whose body is not JSON."""
        self.enqueue(*[
            Scripted(raw=b"<html>502 Bad Gateway</html>{not json", path=path)
            for _ in range(times)
        ])

    # -- serving -----------------------------------------------------------------------

    def _answer(self, rec: Recorded) -> Scripted:
        with self._lock:
            self.requests.append(rec)
            scripted = next((a for a in self.script
                             if a.path is None or rec.path.startswith(a.path)), None)
            if scripted is not None:
                self.script.remove(scripted)
        if scripted is not None:
            return scripted
        if self.check_auth is not None and not self.check_auth(rec):
            return self.auth_failure
        for method, prefix, handler in self.routes:
            if rec.method == method and rec.path.split("?")[0].startswith(prefix):
                return handler(rec)
        return Scripted(status=404, body={"error": f"no fake route for {rec.method} {rec.path}"})

    def calls(self, prefix: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def times(self, prefix: str = "") -> list[float]:
        """Arrival times (monotonic) of the requests under `prefix`, in order."""
        return sorted(r.at for r in self.calls(prefix))

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    # -- outages -----------------------------------------------------------------------

    def go_down(self) -> None:
        """The service is down: new connections are refused, open ones dropped unanswered.

        Nothing is logged while it is down (no request reaches it).
        """
        self.is_down = True
        self.stop()

    def come_back(self) -> None:
        """Listen again on the same address (so the configured URL still points here)."""
        address = self.httpd.server_address[:2]
        self.httpd = _Server(address, self._handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.is_down = False
        self.thread.start()


def bearer(token: str) -> Callable[[Recorded], bool]:
    return lambda rec: rec.headers.get("authorization") == f"Bearer {token}"


def basic(user: str, password: str) -> Callable[[Recorded], bool]:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return lambda rec: rec.headers.get("authorization") == expected


# --- OpenAI: POST /v1/chat/completions ----------------------------------------------


def split_text(text: str, pieces: int) -> list[str]:
    """`text` in `pieces` consecutive parts (as even as can be; none empty unless text is)."""
    pieces = max(1, min(pieces, len(text) or 1))
    size, extra = divmod(len(text), pieces)
    parts, at = [], 0
    for index in range(pieces):
        end = at + size + (1 if index < extra else 0)
        parts.append(text[at:end])
        at = end
    return parts


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


def _streamed(server: FakeServer | None, events: list[bytes], text_at: list[int]) -> Scripted:
    """`server.delay` spread over the text events: each comes delay / n after the one
    before (the first too), so the last piece arrives when a plain answer would."""
    delay = server.delay if server is not None else 0.0
    step = delay / max(len(text_at), 1)
    delays = [step if index in text_at else 0.0 for index in range(len(events))]
    return Scripted(chunks=events, chunk_delays=delays)


def openai_chat(reply: Callable[[Recorded], str] | str, server: FakeServer | None = None) -> Route:
    def handle(rec: Recorded) -> Scripted:
        body = rec.json()
        if not body.get("messages") or not body.get("model"):
            return openai_error(400, "'messages' and 'model' are required")
        text = reply(rec) if callable(reply) else reply
        if body.get("stream"):
            pieces = split_text(text, server.stream_chunks if server is not None else 5)
            base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                    "created": int(time.time()), "model": body["model"]}
            events = [
                _sse({**base, "choices": [{"index": 0, "delta": {
                    **({"role": "assistant"} if index == 0 else {}), "content": piece},
                    "finish_reason": None}]})
                for index, piece in enumerate(pieces)
            ]
            events.append(_sse({**base, "choices": [
                {"index": 0, "delta": {}, "finish_reason": "stop"}]}))
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append(_sse({**base, "choices": [], "usage": {
                    "prompt_tokens": 11, "completion_tokens": len(pieces),
                    "total_tokens": 11 + len(pieces)}}))
            events.append(_sse("[DONE]"))
            return _streamed(server, events, list(range(len(pieces))))
        return Scripted(
            delay=server.delay if server is not None else 0.0,
            body={
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            }
        )

    return handle


def openai_error(status: int, message: str = "error", headers: dict[str, str] | None = None,
                 ) -> Scripted:
    return Scripted(status=status, body=_openai_error_body(status, message), headers=headers or {})


def _openai_error_body(status: int, message: str) -> Any:
    kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def openai_api(server: FakeServer, reply: Callable[[Recorded], str] | str,
               *, api_key: str | None = None) -> None:
    server.route("POST", "/v1/chat/completions", openai_chat(reply, server))
    server.error_body = _openai_error_body
    if api_key is not None:
        server.check_auth = bearer(api_key)
        server.auth_failure = openai_error(401, "Incorrect API key provided")


# --- Anthropic: POST /v1/messages -------------------------------------------------------

_ANTHROPIC_KINDS = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error",
}


def anthropic_messages(reply: Callable[[Recorded], str] | str,
                       server: FakeServer | None = None) -> Route:
    def handle(rec: Recorded) -> Scripted:
        body = rec.json()
        if not body.get("messages") or not body.get("max_tokens"):
            return anthropic_error(400, "invalid_request_error", "messages, max_tokens required")
        text = reply(rec) if callable(reply) else reply
        if body.get("stream"):
            pieces = split_text(text, server.stream_chunks if server is not None else 5)
            events = [_sse({"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "content": [],
                "model": body.get("model", "claude-fake"), "stop_reason": None,
                "stop_sequence": None, "usage": {"input_tokens": 13, "output_tokens": 1}}},
                "message_start"),
                _sse({"type": "content_block_start", "index": 0,
                      "content_block": {"type": "text", "text": ""}}, "content_block_start")]
            events += [_sse({"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": piece}},
                            "content_block_delta") for piece in pieces]
            events += [
                _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                _sse({"type": "message_delta",
                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                      "usage": {"output_tokens": len(pieces)}}, "message_delta"),
                _sse({"type": "message_stop"}, "message_stop"),
            ]
            return _streamed(server, events, list(range(2, 2 + len(pieces))))
        return Scripted(
            delay=server.delay if server is not None else 0.0,
            body={
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "claude-fake"),
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 13, "output_tokens": 5},
            }
        )

    return handle


def anthropic_error(status: int, kind: str, message: str = "error",
                    headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(
        status=status,
        body={"type": "error", "error": {"type": kind, "message": message}},
        headers=headers or {},
    )


def _anthropic_error_body(status: int, message: str) -> Any:
    kind = _ANTHROPIC_KINDS.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def anthropic_api(server: FakeServer, reply: Callable[[Recorded], str] | str,
                  *, api_key: str | None = None) -> None:
    server.route("POST", "/v1/messages", anthropic_messages(reply, server))
    server.error_body = _anthropic_error_body
    if api_key is not None:
        # Older SDKs send x-api-key, newer ones a bearer token: either will do.
        server.check_auth = lambda rec: api_key in (
            rec.headers.get("x-api-key"),
            rec.headers.get("authorization", "").removeprefix("Bearer "),
        )
        server.auth_failure = anthropic_error(401, "authentication_error", "invalid x-api-key")


# --- Slack Web API: chat.postMessage, conversations.history/list, auth.test ---------


def slack_error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> Scripted:
    """Slack answers most errors with HTTP 200 and `ok: false`."""
    return Scripted(status=status, body={"ok": False, "error": error}, headers=headers or {})


def _slack_error_body(status: int, message: str) -> Any:
    error = {401: "invalid_auth", 403: "not_allowed", 429: "ratelimited"}.get(
        status, "internal_error" if status >= 500 else "invalid_request")
    return {"ok": False, "error": error, "detail": message}


def slack_channel_id(channel: str) -> str:
    """The fake's ID for a channel name (stable across servers); IDs stay themselves."""
    if channel[:1] in "CGD" and channel[1:].isalnum() and channel.isupper():
        return channel
    name = channel.lstrip("#")
    return "C0" + hashlib.sha1(name.encode()).hexdigest()[:8].upper()


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def slack_api(server: FakeServer, *, token: str | None = None) -> None:
    """chat.postMessage stores each message (with its metadata) in its channel;
    conversations.history answers them newest first (metadata only with
    `include_all_metadata`, `oldest` exclusive, `limit` and `cursor` pages);
    conversations.list names the channels posts named (and `server.slack_channels`).
    `server.slack_messages` holds the messages by channel ID."""
    counter = {"n": 0}
    messages: dict[str, list[dict[str, Any]]] = {}
    names: dict[str, str] = {}  # channel ID -> name
    server.slack_messages = messages  # type: ignore[attr-defined]
    server.slack_channels = set()  # type: ignore[attr-defined]  # more names that exist

    def post_message(rec: Recorded) -> Scripted:
        body = rec.params()
        if not body.get("channel"):
            return slack_error("channel_not_found")
        if not body.get("text") and not body.get("blocks"):
            return slack_error("no_text")
        channel = slack_channel_id(str(body["channel"]))
        with server._lock:
            counter["n"] += 1
            n = counter["n"]
            # A real ts: seconds since the epoch, unique within the channel.
            ts = f"{int(time.time())}.{n:06d}"
            message: dict[str, Any] = {"type": "message", "text": body.get("text", ""), "ts": ts}
            metadata = body.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            stored = {**message, **({"metadata": metadata} if metadata else {})}
            messages.setdefault(channel, []).append(stored)
            if channel != body["channel"]:  # posted by name
                names[channel] = str(body["channel"]).lstrip("#")
        return Scripted(body={"ok": True, "channel": channel, "ts": ts, "message": message})

    def history(rec: Recorded) -> Scripted:
        params = rec.params()
        channel = str(params.get("channel") or "")
        if not channel:
            return slack_error("channel_not_found")
        if slack_channel_id(channel) != channel:
            return slack_error("channel_not_found")  # a name: the real API wants the ID
        oldest = float(params.get("oldest") or 0)
        limit = int(params.get("limit") or 100)
        start = int(params.get("cursor") or 0)
        with server._lock:
            found = [m for m in reversed(messages.get(channel, []))
                     if float(m["ts"]) > oldest]
        page = found[start:start + limit]
        if not _truthy(params.get("include_all_metadata")):
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(found)
        return Scripted(body={
            "ok": True, "messages": page, "has_more": more, "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        })

    def channels(rec: Recorded) -> Scripted:
        # The workspace has every channel named in a post (answered or not), and
        # those in `server.slack_channels`.
        with server._lock:
            named = [r for r in server.requests if r.path.startswith("/api/chat.postMessage")]
        seen = dict(names)
        for r in named:
            try:
                channel = str(r.params().get("channel") or "")
            except ValueError:
                continue
            if channel and slack_channel_id(channel) != channel:
                seen[slack_channel_id(channel)] = channel.lstrip("#")
        for name in server.slack_channels:  # type: ignore[attr-defined]
            seen[slack_channel_id(name)] = name.lstrip("#")
        known = [{"id": cid, "name": name, "is_channel": True} for cid, name in seen.items()]
        return Scripted(body={"ok": True, "channels": known,
                              "response_metadata": {"next_cursor": ""}})

    server.route("POST", "/api/chat.postMessage", post_message)
    for verb in ("GET", "POST"):
        server.route(verb, "/api/conversations.history", history)
        server.route(verb, "/api/conversations.list", channels)
    server.route("POST", "/api/auth.test", lambda rec: Scripted(body={
        "ok": True, "team": "Fake", "user": "bot", "team_id": "T0", "user_id": "U0"}))
    server.error_body = _slack_error_body
    if token is not None:
        server.check_auth = bearer(token)
        server.auth_failure = slack_error("invalid_auth")


# --- Jira REST v2: issue, search, serverInfo, myself, field, auth session --------------


def jira_error(status: int, *messages: str, errors: dict[str, str] | None = None) -> Scripted:
    return Scripted(status=status, body={"errorMessages": list(messages), "errors": errors or {}})


def _has_label(label: str, fields: dict[str, Any]) -> bool:
    return label in (fields.get("labels") or [])


def _in_project(key: str, fields: dict[str, Any]) -> bool:
    return (fields.get("project") or {}).get("key") == key


def _jira_error_body(status: int, message: str) -> Any:
    return {"errorMessages": [message], "errors": {}}


def jira_api(server: FakeServer, *, user: str | None = None, token: str | None = None) -> None:
    counter = {"n": 0}
    issues: dict[str, dict[str, Any]] = {}

    def create(rec: Recorded) -> Scripted:
        fields = (rec.json() or {}).get("fields") or {}
        missing = {k: f"{k} is required." for k in ("project", "summary", "issuetype")
                   if not fields.get(k)}
        if missing:
            return jira_error(400, errors=missing)
        with server._lock:
            counter["n"] += 1
            n = counter["n"]
        key = f"{fields['project']['key']}-{n}"
        issues[key] = {"id": str(10000 + n), "key": key, "fields": fields}
        return Scripted(
            status=201,
            body={"id": issues[key]["id"], "key": key,
                  "self": f"{server.url}/rest/api/2/issue/{key}"},
        )

    def get_issue(rec: Recorded) -> Scripted:
        key = rec.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        issue = issues.get(key)
        if issue is None:
            return jira_error(404, "Issue does not exist or you do not have permission to see it.")
        return Scripted(body={**issue, "self": f"{server.url}/rest/api/2/issue/{key}"})

    def search(rec: Recorded) -> Scripted:
        """JQL of `labels = "x"` and `project = X` clauses (AND), then ORDER BY (ignored)."""
        params = rec.params()
        jql = str(params.get("jql") or "")
        where = re.split(r"\border\s+by\b", jql, flags=re.IGNORECASE)[0].strip()
        clauses = [c.strip() for c in re.split(r"\s+and\s+", where, flags=re.IGNORECASE) if c]
        tests: list[Callable[[dict[str, Any]], bool]] = []
        for clause in clauses:
            match = re.fullmatch(r'(labels|project)\s*=\s*"?([^"\s]+)"?', clause,
                                 flags=re.IGNORECASE)
            if match is None:
                return jira_error(400, f"The fake's JQL knows labels = and project =: {clause!r}")
            name, value = match.group(1).lower(), match.group(2)
            if name == "labels":
                tests.append(functools.partial(_has_label, value))
            else:
                tests.append(functools.partial(_in_project, value))
        with server._lock:
            found = [i for i in issues.values() if all(t(i["fields"]) for t in tests)]
        start = int(params.get("startAt") or 0)
        size = int(params.get("maxResults") or 50)
        page = found[start:start + size]
        return Scripted(body={
            "startAt": start, "maxResults": size, "total": len(found),
            "isLast": start + size >= len(found),
            "issues": [{"id": i["id"], "key": i["key"],
                        "self": f"{server.url}/rest/api/2/issue/{i['key']}",
                        "fields": i["fields"]} for i in page],
        })

    # The create route stays first: tests wrap it as routes[0].
    server.route("POST", "/rest/api/2/issue", create)
    # /search (Server, Data Center) and /search/jql (Cloud's), by GET or POST.
    for verb in ("GET", "POST"):
        server.route(verb, "/rest/api/2/search", search)
    server.route("GET", "/rest/api/2/issue/", get_issue)
    server.route("GET", "/rest/api/2/serverInfo",
                 lambda rec: Scripted(body={"baseUrl": server.url, "version": "9.0.0",
                                            "versionNumbers": [9, 0, 0],
                                            "deploymentType": "Server",
                                            "serverTitle": "Fake Jira"}))
    server.route("GET", "/rest/api/2/field", lambda rec: Scripted(body=[]))
    server.route("GET", "/rest/api/2/myself",
                 lambda rec: Scripted(body={"name": user or "bot", "accountId": "fake-bot",
                                            "displayName": "Fake Bot", "active": True}))
    # JIRA(validate=True) checks the session before anything else.
    server.route("GET", "/rest/auth/1/session",
                 lambda rec: Scripted(body={"name": user or "bot",
                                            "self": f"{server.url}/rest/api/2/myself"}))
    server.error_body = _jira_error_body
    if user is not None and token is not None:
        server.check_auth = basic(user, token)
        server.auth_failure = jira_error(401, "You are not authenticated.")


# --- Sentry: POST /api/<project>/envelope/ (and the older /store/) --------------------


def sentry_ingest(server: FakeServer) -> None:
    server.route("POST", "/api/", lambda rec: Scripted(body={"id": "0" * 32}))


def sentry_events(server: FakeServer) -> list[dict[str, Any]]:
    """The error events in the envelopes received (one JSON item per line after headers)."""
    events: list[dict[str, Any]] = []
    for rec in server.calls("/api/"):
        lines = rec.text().split("\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            try:
                item = json.loads(header)
            except json.JSONDecodeError:
                continue
            if item.get("type") == "event":
                events.append(json.loads(payload))
    return events


# --- PagerDuty Events API v2: POST /v2/enqueue (issue 18) --------------------------------

PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")


def _pagerduty_error_body(status: int, message: str) -> Any:
    return {"status": "invalid event" if status == 400 else "error", "message": message,
            "errors": [message]}


def pagerduty_events(server: FakeServer, *, routing_key: str) -> None:
    """The Events API v2: `trigger` opens (or adds to) the incident of its `dedup_key`,
    `resolve` closes it; 202 with the dedup key, 400 for an invalid event or another
    routing key. `server.pagerduty_incidents` holds each dedup key's incident:
    status (triggered | resolved), summary, severity, and how many triggers it got."""
    incidents: dict[str, dict[str, Any]] = {}
    server.pagerduty_incidents = incidents  # type: ignore[attr-defined]
    server.error_body = _pagerduty_error_body

    def invalid(message: str) -> Scripted:
        return Scripted(status=400, body=_pagerduty_error_body(400, message))

    def enqueue(rec: Recorded) -> Scripted:
        try:
            event = rec.json()
        except ValueError:
            return invalid("Event object is invalid: not JSON")
        if not isinstance(event, dict) or event.get("routing_key") != routing_key:
            return invalid("Invalid routing key")
        action = event.get("event_action")
        key = event.get("dedup_key")
        if action == "trigger":
            payload = event.get("payload") or {}
            if not payload.get("summary") or not payload.get("source"):
                return invalid("'payload.summary' and 'payload.source' are required")
            if payload.get("severity") not in PAGERDUTY_SEVERITIES:
                return invalid("'payload.severity' is invalid")
            key = key or f"fake-{len(incidents) + 1}"
            with server._lock:
                incident = incidents.setdefault(key, {"triggers": 0})
                incident.update(status="triggered", summary=payload["summary"],
                                severity=payload["severity"])
                incident["triggers"] += 1
        elif action in ("acknowledge", "resolve"):
            if not key:
                return invalid("'dedup_key' is required to acknowledge or resolve")
            with server._lock:
                if key in incidents:
                    incidents[key]["status"] = "resolved" if action == "resolve" else "acknowledged"
        else:
            return invalid("'event_action' must be trigger, acknowledge or resolve")
        return Scripted(status=202, body={"status": "success", "message": "Event processed",
                                          "dedup_key": key})

    server.route("POST", "/v2/enqueue", enqueue)


# --- OpenTelemetry collector: OTLP/HTTP POST /v1/traces (issue 18) -----------------------


def otlp_collector(server: FakeServer) -> None:
    """Accepts OTLP/HTTP protobuf trace exports; `otlp_spans(server)` decodes them."""
    server.route("POST", "/v1/traces", lambda rec: Scripted(
        raw=b"", headers={"Content-Type": "application/x-protobuf"}))


def otlp_spans(server: FakeServer) -> list[dict[str, Any]]:
    """Every span received: name, trace_id and span_id (hex), parent_span_id ("" for a
    root), service name and attributes (as strings)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    spans: list[dict[str, Any]] = []
    for rec in server.calls("/v1/traces"):
        body = rec.body
        if rec.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append({
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "service": service,
                        "attributes": {a.key: str(getattr(a.value, a.value.WhichOneof("value")))
                                       for a in span.attributes if a.value.WhichOneof("value")},
                    })
    return spans
