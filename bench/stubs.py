"""Partner stubs cheap enough not to dominate the CPU of a benchmark on two cores.

    .venv/bin/python -m bench.stubs [--token-ttl 90] [--latency PARTNER=MS ...]

One process, one event loop, a raw `asyncio.Protocol` per connection with a minimal HTTP/1.1
keep-alive parser: each of the six partners of `bench/fixtures/quotes.json` listens on its
own port and answers

- `POST /oauth/token` (client credentials, HTTP Basic): a JWT-shaped bearer token with
  `expires_in`; every fetch is counted;
- `POST /v1/quotes` with a bearer token it issued and that has not expired (else 401): the
  recorded sandbox answer, after the partner's configured latency (`loop.call_later`, so a
  waiting request costs no task). The answer carries `X-Stub-Latency-Ms`.

A control port answers `GET /stats` (counts per partner, quotes in flight), `POST /latency`
(`{"partner-id": ms, ...}`, `"*"` for all), `POST /release` (answer every waiting quote now)
and `POST /reset` (counters to zero). On start the
process prints one JSON line: `{"control": url, "partners": {id: base_url}}`; it stops on
SIGTERM, SIGINT or when its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from bench._loop import install_uvloop, uvloop_available

FIXTURES = Path(__file__).with_name("fixtures") / "quotes.json"
CLIENT_ID = "partner-gateway"
# Offers the stubs hand out expire this long after the stubs start (sandbox default).
OFFER_TTL_S = 900
_MAX_HEAD = 16 * 1024
_MAX_BODY = 1024 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}


def response_bytes(status: int, body: bytes, extra_headers: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{extra_headers}\r\n"
    )
    return head.encode("ascii") + body


def _json_response(status: int, payload: Any, extra_headers: str = "") -> bytes:
    return response_bytes(status, json.dumps(payload).encode(), extra_headers)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StubPartner:
    """One partner's canned answers, latency, issued tokens and counters."""

    partner_id: str
    kind: str
    client_secret: str
    latency_ms: float
    quote_answer: bytes
    token_ttl_s: int
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (monotonic)
    token_fetches: int = 0
    token_fetch_times: list[float] = field(default_factory=list)
    quotes: int = 0
    refused: int = 0
    # Quotes waiting out their latency: connection -> the timer that will answer it.
    waiting: dict[HttpConnection, asyncio.TimerHandle] = field(default_factory=dict)

    @property
    def inflight(self) -> int:
        return len(self.waiting)

    def release(self) -> None:
        """Answers every waiting quote now."""
        waiting, self.waiting = self.waiting, {}
        for conn, timer in waiting.items():
            timer.cancel()
            conn.respond(self.ok_quote)

    def __post_init__(self) -> None:
        self._basic = "Basic " + base64.b64encode(
            f"{CLIENT_ID}:{self.client_secret}".encode()
        ).decode("ascii")
        self._set_answer()

    def set_latency(self, latency_ms: float) -> None:
        self.latency_ms = latency_ms
        self._set_answer()

    def _set_answer(self) -> None:
        self.ok_quote = response_bytes(
            200, self.quote_answer, f"X-Stub-Latency-Ms: {self.latency_ms:g}\r\n"
        )

    def reset(self) -> None:
        self.token_fetches = self.quotes = self.refused = 0
        self.token_fetch_times = []

    def issue_token(self, request: Request) -> bytes:
        if request.headers.get("authorization") != self._basic:
            return _json_response(401, {"error": "invalid_client"}, "WWW-Authenticate: Basic\r\n")
        if b"grant_type=client_credentials" not in request.body:
            return _json_response(400, {"error": "unsupported_grant_type"})
        now = time.time()
        self.token_fetches += 1
        self.token_fetch_times.append(now)
        header = _b64url(b'{"typ":"at+jwt","alg":"ES256","kid":"bench"}')
        claims = {
            "iss": f"urn:bench:{self.partner_id}",
            "aud": f"urn:partner:{self.partner_id}",
            "sub": CLIENT_ID,
            "client_id": CLIENT_ID,
            "iat": int(now),
            "exp": int(now) + self.token_ttl_s,
            "jti": uuid.uuid4().hex,
            "scope": "quotes bookings",
        }
        # Shaped like the sandbox's ES256 token (same length class); nobody checks the signature.
        token = f"{header}.{_b64url(json.dumps(claims).encode())}.{_b64url(uuid.uuid4().bytes * 4)}"
        self.tokens = {t: e for t, e in self.tokens.items() if e > time.monotonic()}
        self.tokens[token] = time.monotonic() + self.token_ttl_s
        return _json_response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_ttl_s,
                "scope": "quotes bookings",
            },
            "Cache-Control: no-store\r\n",
        )

    def authorized(self, request: Request) -> bool:
        value = request.headers.get("authorization", "")
        if value[:7].lower() != "bearer ":
            return False
        expiry = self.tokens.get(value[7:])
        return expiry is not None and expiry > time.monotonic()


_INVALID_TOKEN = _json_response(
    401,
    {"error": {"code": "invalid_token", "message": "unknown or expired token"}},
    'WWW-Authenticate: Bearer error="invalid_token"\r\n',
)
_NOT_FOUND = _json_response(404, {"error": {"code": "not_found", "message": "no such path"}})
_BAD_REQUEST = _json_response(400, {"error": {"code": "invalid_request", "message": "bad HTTP"}})

Handler = Callable[["HttpConnection", Request], None]


class HttpConnection(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one request at a time (clients here never pipeline, and a
    pipelined request just waits in the buffer until the previous answer is written)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._buffer = bytearray()
        self._busy = False
        self._close_after = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not `asyncio.Transport` subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Without it a keep-alive answer waits ~40 ms for the client's delayed ACK (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next()

    def respond(self, raw: bytes) -> None:
        """Writes one answer and goes on with the next buffered request."""
        if self.transport is None:
            return
        self.transport.write(raw)
        self._busy = False
        if self._close_after:
            self.transport.close()
            return
        if self._buffer:
            self._next()

    def _next(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEAD:
                self._fail()
            return
        try:
            request_line, *header_lines = self._buffer[:end].decode("latin-1").split("\r\n")
            method, path, _version = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
        except ValueError:
            self._fail()
            return
        if length > _MAX_BODY or "chunked" in headers.get("transfer-encoding", ""):
            self._fail()
            return
        if len(self._buffer) < end + 4 + length:
            return  # the body is still on its way
        body = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        self._close_after = headers.get("connection", "").lower() == "close"
        self._busy = True
        self._handler(self, Request(method, path.partition("?")[0], headers, body))

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.write(_BAD_REQUEST)
            self.transport.close()


class StubServer:
    """The six partners and the control port, in the running event loop."""

    def __init__(self, partners: Mapping[str, StubPartner]) -> None:
        self.partners = dict(partners)
        self._servers: list[asyncio.Server] = []
        self.urls: dict[str, str] = {}
        self.control_url = ""

    async def start(self, host: str = "127.0.0.1") -> None:
        for pid, partner in self.partners.items():
            port = await self._listen(host, self._partner_handler(partner))
            self.urls[pid] = f"http://{host}:{port}"
        self.control_url = f"http://{host}:{await self._listen(host, self._control)}"

    async def aclose(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()

    async def _listen(self, host: str, handler: Handler) -> int:
        # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted sockets as well.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: HttpConnection(handler), sock=sock, backlog=4096)
        self._servers.append(server)
        port: int = sock.getsockname()[1]
        return port

    def _partner_handler(self, partner: StubPartner) -> Handler:
        loop = asyncio.get_running_loop()

        def answer_quote(conn: HttpConnection) -> None:
            partner.waiting.pop(conn, None)
            conn.respond(partner.ok_quote)

        def handle(conn: HttpConnection, request: Request) -> None:
            if request.method == "POST" and request.path == "/v1/quotes":
                if not partner.authorized(request):
                    partner.refused += 1
                    conn.respond(_INVALID_TOKEN)
                    return
                partner.quotes += 1
                partner.waiting[conn] = loop.call_later(
                    partner.latency_ms / 1000, answer_quote, conn
                )
            elif request.method == "POST" and request.path == "/oauth/token":
                conn.respond(partner.issue_token(request))
            else:
                conn.respond(_NOT_FOUND)

        return handle

    def stats(self) -> dict[str, Any]:
        return {
            "inflight": sum(p.inflight for p in self.partners.values()),
            "cpu_s": time.process_time(),
            "partners": {
                pid: {
                    "latency_ms": p.latency_ms,
                    "token_fetches": p.token_fetches,
                    "token_fetch_times": p.token_fetch_times,
                    "quotes": p.quotes,
                    "refused": p.refused,
                    "inflight": p.inflight,
                }
                for pid, p in self.partners.items()
            },
        }

    def _control(self, conn: HttpConnection, request: Request) -> None:
        if request.method == "GET" and request.path == "/stats":
            conn.respond(_json_response(200, self.stats()))
        elif request.method == "POST" and request.path == "/latency":
            try:
                wanted = json.loads(request.body or b"{}")
                for pid, partner in self.partners.items():
                    value = wanted.get(pid, wanted.get("*"))
                    if value is not None:
                        partner.set_latency(float(value))
            except (ValueError, AttributeError, TypeError):
                conn.respond(_BAD_REQUEST)
                return
            conn.respond(_json_response(200, {p: s.latency_ms for p, s in self.partners.items()}))
        elif request.method == "POST" and request.path == "/release":
            for partner in self.partners.values():
                partner.release()
            conn.respond(_json_response(200, {}))
        elif request.method == "POST" and request.path == "/reset":
            for partner in self.partners.values():
                partner.reset()
            conn.respond(_json_response(200, {}))
        else:
            conn.respond(_NOT_FOUND)


def load_fixtures(path: Path = FIXTURES) -> dict[str, Any]:
    fixtures: dict[str, Any] = json.loads(path.read_text())
    return fixtures


def _days_to_sample_trip(request: Mapping[str, Any]) -> timedelta:
    """How far the recorded trip lies from the one the benchmark composes (the sample trip,
    leaving in 30 days): flights are moved by as much, so they never have left already."""
    recorded = request.get("depart_date")
    if not isinstance(recorded, str):
        return timedelta(0)
    sample = datetime.now(UTC).date() + timedelta(days=30)
    return sample - date.fromisoformat(recorded)


def _move_instants(details: dict[str, Any], by: timedelta) -> None:
    """Shifts every `*_at` instant in the details (flight legs) by `by`."""
    for key, value in details.items():
        if isinstance(value, dict):
            _move_instants(value, by)
        elif key.endswith("_at") and isinstance(value, str):
            instant = datetime.fromisoformat(value.replace("Z", "+00:00")) + by
            details[key] = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_partners(
    fixtures: Mapping[str, Any], token_ttl_s: int, latencies: Mapping[str, float]
) -> dict[str, StubPartner]:
    """Stub partners from the recorded fixtures, offers expiring `OFFER_TTL_S` from now."""
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + OFFER_TTL_S))
    partners = {}
    for pid, recorded in fixtures["partners"].items():
        answer = json.loads(json.dumps(recorded["response"]))
        moved = _days_to_sample_trip(recorded["request"])
        for offer in answer["offers"]:
            offer["expires_at"] = expires
            _move_instants(offer.get("details") or {}, moved)
        partners[pid] = StubPartner(
            partner_id=pid,
            kind=recorded["kind"],
            client_secret=recorded["client_secret"],
            latency_ms=float(latencies.get(pid, recorded["latency_ms"])),
            quote_answer=json.dumps(answer, ensure_ascii=False).encode(),
            token_ttl_s=token_ttl_s,
        )
    return partners


async def serve(token_ttl_s: int, latencies: Mapping[str, float], *, exit_with_stdin: bool) -> None:
    server = StubServer(build_partners(load_fixtures(), token_ttl_s, latencies))
    await server.start()
    print(json.dumps({"control": server.control_url, "partners": server.urls}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if exit_with_stdin:
        # The parent holds our stdin (a pipe): when it goes away, so do we (no orphans).
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(0, 1) else None)
    try:
        await stop.wait()
    finally:
        if exit_with_stdin:
            loop.remove_reader(sys.stdin.fileno())
        await server.aclose()


def _latency(item: str) -> tuple[str, float]:
    pid, sep, value = item.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{item!r} is not PARTNER=MS")
    return pid, float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--token-ttl", type=int, default=90, help="expires_in of tokens (s)")
    parser.add_argument("--latency", type=_latency, action="append", default=[])
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio event loop")
    parser.add_argument("--exit-with-stdin", action="store_true", help="stop when stdin closes")
    args = parser.parse_args()
    if not args.no_uvloop and uvloop_available():
        install_uvloop()
    asyncio.run(serve(args.token_ttl, dict(args.latency), exit_with_stdin=args.exit_with_stdin))


if __name__ == "__main__":
    main()
