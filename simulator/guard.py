"""The control API is a tester's, not the world's: the checks every HTTP request passes first.

In this order, each refusal a JSON `{"error": "one line"}`:

1. at most `http_max_clients` requests in progress (long polls and live feeds included),
   else 503;
2. `Host` must name this simulator: a loopback name (`127.0.0.1`, `localhost`, `[::1]`) or
   `http_host`, with the port it listens on — no DNS rebinding (403);
3. `Origin`, when present, must be this simulator's own origin — no other web page (403);
4. with `[simulator] token` set, every `/api/` request but `/api/health` carries
   `Authorization: Bearer TOKEN` (401);
5. a request that changes state (POST, PUT, PATCH, DELETE) says `Content-Type:
   application/json` — no HTML form, no `text/plain` "simple request" (415);
6. its body is at most `http_max_body` octets (`load_max_body` for `POST /api/load`) (413).
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web

from .config import SimulatorConfig

__all__ = ["LOOPBACK_NAMES", "Guard", "host_name"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_WILDCARDS = ("", "0.0.0.0", "::", "[::]")
_CHANGES_STATE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OPEN_PATHS = frozenset({"/api/health"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def host_name(address: str) -> str:
    """An address as it appears in a Host header (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


class Guard:
    """The middlewares of the control app; `port` is the HTTP port actually listened on."""

    def __init__(self, config: SimulatorConfig, port: int, counters: Counter[str] | None = None) -> None:
        names = list(LOOPBACK_NAMES)
        if config.http_host not in _WILDCARDS:
            names.append(host_name(config.http_host).lower())
        self.hosts = frozenset(f"{name}:{port}" for name in names) | (frozenset(names) if port == 80 else frozenset())
        self.origins = frozenset(f"http://{host}" for host in self.hosts)
        self.own = f"{host_name(config.http_host if config.http_host not in _WILDCARDS else '127.0.0.1')}:{port}"
        self._token = config.token.encode()
        self._max_clients = config.http_max_clients
        self._max_body = config.http_max_body
        self._max_load = config.load_max_body
        self.in_progress = 0
        self.counters: Counter[str] = counters if counters is not None else Counter()  # http_refused_<why>

    @property
    def client_max_size(self) -> int:
        """The aiohttp app's own ceiling (the largest of the two limits)."""
        return max(self._max_body, self._max_load)

    @web.middleware
    async def admit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The middleware: refuse, or pass on with the body limit of this route."""
        if self.in_progress >= self._max_clients:
            self.counters["http_refused_busy"] += 1
            return _error(503, f"too many clients: at most {self._max_clients} requests at once", Connection="close")
        refusal = self._refusal(request)
        if refusal is not None:
            why, response = refusal
            self.counters[f"http_refused_{why}"] += 1
            return response
        self.in_progress += 1
        try:
            limit = self._max_load if request.path == "/api/load" and request.method == "POST" else self._max_body
            if request.content_length is not None and request.content_length > limit:
                self.counters["http_refused_too_large"] += 1
                return _error(413, f"request body too large: at most {limit} octets", Connection="close")
            return await handler(request.clone(client_max_size=limit))
        finally:
            self.in_progress -= 1

    def _refusal(self, request: web.Request) -> tuple[str, web.Response] | None:
        """(why, the answer) when the request must be refused."""
        host = request.headers.get("Host", "").strip().lower()
        if host not in self.hosts:
            return "host", _error(403, f"refused: Host {host or '(none)'!r} is not this simulator ({self.own})")
        origin = request.headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.origins:
            return "origin", _error(403, f"refused: a request from the web page of {origin!r}, not from this simulator")
        if self._token and request.path.startswith("/api/") and request.path not in _OPEN_PATHS:
            given = request.headers.get("Authorization", "")
            scheme, _, credentials = given.partition(" ")
            offered = credentials.strip().encode("utf-8", "replace")
            if scheme.lower() != "bearer" or not hmac.compare_digest(offered, self._token):
                what = "missing" if not given else "wrong"
                challenge = {"WWW-Authenticate": 'Bearer realm="smsc-sim"'}
                return "token", _error(401, f"{what} token: send Authorization: Bearer TOKEN", **challenge)
        if request.method in _CHANGES_STATE and request.content_type != "application/json":
            shown = request.headers.get("Content-Type") or "none"
            return "content_type", _error(
                415, f"a {request.method} must be Content-Type: application/json (got {shown})"
            )
        return None
