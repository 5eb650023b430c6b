"""The testers' page and the endpoints only it needs.

GET    /                         the page (plain HTML, CSS and JavaScript from simulator/web/)
GET    /static/{file}            its stylesheet and script modules
GET    /api/traffic.jsonl[?number=]  every MO and MT kept (or a number's), one JSON line each (a download)
GET    /api/recording            the PDU recording (`record_file`), when it is on (a download)
GET    /api/console              what the page needs to know: the suggested numbers with their roles
                                 ([simulator] phonebook), whether the recording is on, the short codes
GET    /api/events?numbers=a,b   live feed (server-sent events): `hello`, `mo`, `mt`, `status`,
                                 `script`, `resync` (reload: the stream fell behind)
GET    /api/scripts              the shipped scripts: name and text
POST   /api/scripts/run          {name | text, timeout?, quiet?}: run one (202); 409 while one runs
GET    /api/scripts/run          {"run": the current or last run with its step reports, or null}
DELETE /api/scripts/run          cancel the current run

The page itself holds no secret and needs no token; every `/api/` call it makes sends the
token it was given in the address's fragment (`#token=…`), kept in the tab's
`sessionStorage` — never in a cookie (cookies ignore ports, so another local server
would get it) nor in a query string (logs, Referer).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, Field

from .feed import Item, Notice, Subscription
from .script import ScriptError
from .script_runs import ScriptBusy, ScriptRunner, shipped_scripts
from .store import Record

if TYPE_CHECKING:
    from .server import Simulator
    from .smsc import Smsc

__all__ = ["add_console", "status_json"]

STATUS_EVERY = 1.0  # seconds between checks for a changed status on the live feed
HEARTBEAT_EVERY = 15.0
MAX_FOLLOWED = 64  # numbers one event stream may follow
_STATIC = {
    "console.css": "text/css",
    **{f"{name}.js": "text/javascript" for name in ("console", "api", "phones", "feed", "smsc", "scripts")},
}
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


class RunIn(BaseModel):
    name: str | None = Field(None, max_length=200)
    text: str | None = None
    timeout: float = Field(10.0, ge=0.1, le=600)
    quiet: float = Field(2.0, ge=0, le=600)


def status_json(core: Smsc, now: float) -> dict[str, Any]:
    return {
        "binds": [b.to_json() for b in core.binds.values()],
        "receivers": core.router.receivers,
        "queued": core.router.queued,
        "mt_cursor": core.store.next_cursor,
        "counters": dict(core.counters),
        "faults": [f.to_json(now) for f in core.faults.active(now)],
    }


def _web_file(name: str) -> bytes:
    return resources.files("simulator").joinpath("web", name).read_bytes()


def _sse(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def add_console(app: web.Application, sim: Simulator) -> None:
    from .control import BadRequest, parse_body  # the API's request helpers

    page = _web_file("index.html")
    static = {name: _web_file(name) for name in _STATIC}
    runner = ScriptRunner(sim, sim.feed.notice)
    routes = web.RouteTableDef()

    shown = sim.redactor.mt_json

    def record_event(record: Record) -> bytes:
        data = shown(record.to_json())
        return _sse(str(data["kind"]), data)

    @routes.get("/")
    async def index(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8", headers=_PAGE_HEADERS)

    @routes.get("/static/{name}")
    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in static:
            return web.json_response({"error": "no such file"}, status=404)
        return web.Response(body=static[name], content_type=_STATIC[name], charset="utf-8", headers=_PAGE_HEADERS)

    @routes.get("/api/console")
    async def console(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "phonebook": [e.to_json() for e in sim.phonebook],
                "phonebook_source": sim.config.phonebook or None,
                "phonebook_error": sim.phonebook_error,
                "recording": sim.recorder is not None,
                "short_codes": ["1643", "1640"],
            }
        )

    @routes.get("/api/events")
    async def events(request: web.Request) -> web.StreamResponse:
        raw = request.query.get("numbers")
        numbers = None if raw is None else [n for n in raw.split(",") if n][:MAX_FOLLOWED]
        subscription = sim.feed.subscribe(numbers)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        try:
            await response.prepare(request)
            await response.write(_sse("hello", {"mt_cursor": sim.core.store.next_cursor, "time": time.time()}))
            await _stream(request, response, subscription, sim, record_event)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            sim.feed.unsubscribe(subscription)
        return response

    @routes.get("/api/traffic.jsonl")
    async def traffic_lines(request: web.Request) -> web.StreamResponse:
        number = request.query.get("number") or None
        records = sim.core.store.traffic(number) if number else sim.core.store.everything()
        name = f"smsc-sim-traffic-{number or 'all'}.jsonl"
        response = web.StreamResponse(headers=_download_headers(name))
        await response.prepare(request)
        for start in range(0, len(records), 500):
            lines = (json.dumps(shown(r.to_json()), ensure_ascii=False) + "\n" for r in records[start : start + 500])
            await response.write("".join(lines).encode())
        await response.write_eof()
        return response

    @routes.get("/api/recording")
    async def recording(request: web.Request) -> web.StreamResponse:
        if sim.recorder is None:
            return web.json_response({"error": "the recording is off (set [simulator] record_file)"}, status=404)
        sim.recorder.flush()
        path = Path(sim.recorder.path)
        return web.FileResponse(path, headers=_download_headers(path.name))

    @routes.get("/api/scripts")
    async def scripts(request: web.Request) -> web.Response:
        return web.json_response({"scripts": [{"name": n, "text": t} for n, t in shipped_scripts().items()]})

    @routes.post("/api/scripts/run")
    async def run_script(request: web.Request) -> web.Response:
        body = await parse_body(request, RunIn)
        if (body.name is None) == (body.text is None):
            raise BadRequest('give "name" (a shipped script) or "text" (a pasted one)')
        if body.name is not None:
            text = shipped_scripts().get(body.name)
            if text is None:
                return web.json_response({"error": f"no shipped script {body.name!r}"}, status=404)
            name = body.name
        else:
            text, name = body.text or "", "pasted script"
        try:
            run = runner.start(text, name, within=body.timeout, quiet=body.quiet)
        except ScriptError as err:
            raise BadRequest(str(err)) from None
        except ScriptBusy as err:
            return web.json_response({"error": str(err)}, status=409)
        return web.json_response(run.to_json(), status=202)

    @routes.get("/api/scripts/run")
    async def script_state(request: web.Request) -> web.Response:
        return web.json_response({"run": None if runner.current is None else runner.current.to_json()})

    @routes.delete("/api/scripts/run")
    async def cancel_script(request: web.Request) -> web.Response:
        return web.json_response({"cancelled": await runner.cancel()})

    app.add_routes(routes)
    sim.script_runner = runner


async def _take(subscription: Subscription, timeout: float) -> list[Item]:
    """What the feed has for this stream: waits up to `timeout` for the first (then [])."""
    try:
        items = [await asyncio.wait_for(subscription.queue.get(), timeout)]
    except TimeoutError:
        return []
    while len(items) < 200 and not subscription.queue.empty():
        items.append(subscription.queue.get_nowait())
    return items


async def _stream(
    request: web.Request,
    response: web.StreamResponse,
    subscription: Subscription,
    sim: Simulator,
    record_event: Callable[[Record], bytes],
) -> None:
    """Write the feed until the reader leaves or the server stops."""
    loop = asyncio.get_running_loop()
    last_status: dict[str, Any] | None = None
    next_status = next_beat = loop.time()
    while True:
        items = await _take(subscription, STATUS_EVERY)
        if request.transport is None or request.transport.is_closing():
            return  # the reader left (its slot among http_max_clients is free again)
        if subscription.overflowed:
            subscription.drain()
            await response.write(_sse("resync", {"mt_cursor": sim.core.store.next_cursor}))
            continue
        chunks: list[bytes] = []
        for item in items:
            if item is None:  # the server is stopping
                await response.write(b"".join(chunks))
                return
            chunks.append(_sse(item.name, item.data) if isinstance(item, Notice) else record_event(item))
        now = loop.time()
        if now >= next_status:
            next_status = now + STATUS_EVERY
            status = status_json(sim.core, time.time())
            if status != last_status:
                last_status = status
                chunks.append(_sse("status", status))
        if not chunks and now >= next_beat:
            chunks.append(b": ping\n\n")
        if chunks:
            next_beat = now + HEARTBEAT_EVERY
            await response.write(b"".join(chunks))


def _download_headers(name: str) -> dict[str, str]:
    return {
        "Content-Type": "application/x-ndjson; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
    }
