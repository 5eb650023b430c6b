"""The operations endpoints on ``[http] host, port``: ``GET /metrics`` and ``GET /healthz``.

``/healthz`` answers 200 while the gateway is bound to the SMSC and 503
otherwise, with a small JSON body saying why.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import Metrics

__all__ = ["OpsServer"]


class OpsServer:
    def __init__(self, metrics: Metrics, *, bound: Callable[[], bool], host: str, port: int) -> None:
        self._metrics = metrics
        self._bound = bound
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port = port

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics_view)
        app.router.add_get("/healthz", self._health_view)
        return app

    async def _metrics_view(self, request: web.Request) -> web.Response:
        body = self._metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health_view(self, request: web.Request) -> web.Response:
        if self._bound():
            return web.json_response({"status": "ok", "smpp": "bound"})
        return web.json_response({"status": "unavailable", "smpp": "not bound"}, status=503)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
