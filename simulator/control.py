"""The HTTP control API (JSON) that testers, the CLI and benchmarks drive.

GET    /api/health                      {"ok": true}
GET    /api/status                      binds, counters, queue, faults, MT cursor
GET    /api/binds                       the connections and their state
POST   /api/mo                          inject an MO, or a JSON array of them:
                                        {source, destination, text, encoding?, split?}
GET    /api/mo/{id}                     one MO and its delivery state
POST   /api/mo/{id}/redeliver           deliver that MO once more (as an SMSC that missed the response)
GET    /api/mt?cursor=&source=&destination=&wait=&limit=   MTs (long poll with wait)
GET    /api/traffic/{number}            MOs and MTs from or to a number
GET|POST|DELETE /api/faults             list / add / clear; a fault is
                                        {kind, count?, seconds?, ratio?, delay?, seed?}
POST   /api/drop                        {"bind": id} or {"all": true}
GET|POST|PUT|DELETE /api/receipts       rules: list / add one first / replace all / clear
POST   /api/load                        {messages: [{source, destination, text}], window}
GET    /api/load                        the bulk load's figures

Every request first passes the checks of `guard.py` (Host, Origin, token, JSON, size).
MTs from a secret source are shown masked (`redact.py`). The testers' page and its own
endpoints are in `console.py`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from .console import add_console, status_json
from .faults import FaultError
from .guard import Guard
from .inject import TextError
from .receipts import ReceiptRule
from .store import Record

if TYPE_CHECKING:
    from .server import Simulator

__all__ = ["BadRequest", "make_app", "parse_body"]

M = TypeVar("M")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class MoIn(BaseModel):
    source: str
    destination: str
    text: str
    encoding: Literal["auto", "gsm", "ucs2", "latin1"] = "auto"
    split: Literal["udh8", "udh16", "sar", "payload"] = "udh8"


_MO_LIST = TypeAdapter(list[MoIn])


class FaultIn(BaseModel):
    kind: str
    count: int | None = None
    seconds: float | None = None
    ratio: float | None = None
    delay: float | None = None
    seed: int | None = None


class DropIn(BaseModel):
    bind: int | None = None
    all: bool = False


class RuleIn(BaseModel):
    pattern: str = Field(min_length=1)
    status: str = "DELIVRD"
    delay: float = 0.0


class RulesIn(BaseModel):
    rules: list[RuleIn]


class LoadMessage(BaseModel):
    source: str
    destination: str
    text: str


class LoadIn(BaseModel):
    messages: list[LoadMessage] = Field(min_length=1, max_length=2_000_000)
    window: int = Field(10, ge=1, le=1_000_000)
    rate: float | None = Field(None, gt=0, le=1_000_000)


class BadRequest(Exception):
    """A request the API cannot act on; answered 400 with the message."""


async def parse_body(request: web.Request, model: type[M] | TypeAdapter[M]) -> M:
    try:
        adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
        return adapter.validate_json(await request.read() or b"{}")
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}") from None


def _query_float(request: web.Request, name: str, default: float, high: float) -> float:
    raw = request.query.get(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number") from None
    return min(max(value, 0.0), high)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (BadRequest, TextError, FaultError, ValueError) as err:
        return web.json_response({"error": str(err)}, status=400)
    except web.HTTPRequestEntityTooLarge as err:
        message = f"request body too large: at most {request.client_max_size} octets"
        return web.json_response({"error": message}, status=err.status, headers={"Connection": "close"})
    except web.HTTPException as err:
        if err.empty_body:
            raise
        return web.json_response({"error": err.reason}, status=err.status)


def make_app(sim: Simulator) -> web.Application:
    guard = Guard(sim.config, sim.http_port, sim.core.counters)
    app = web.Application(middlewares=[guard.admit, _errors], client_max_size=guard.client_max_size)
    sim.guard = guard
    waiter = sim.waiter
    core = sim.core
    shown = sim.redactor.mt_json

    def record_json(record: Record) -> dict[str, object]:
        return shown(record.to_json())

    routes = web.RouteTableDef()

    @routes.get("/api/health")
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    @routes.get("/api/status")
    async def status(request: web.Request) -> web.Response:
        return web.json_response(status_json(core, time.time()))

    @routes.get("/api/binds")
    async def binds(request: web.Request) -> web.Response:
        return web.json_response({"binds": [b.to_json() for b in core.binds.values()]})

    @routes.post("/api/mo")
    async def inject(request: web.Request) -> web.Response:
        raw = await request.read()
        many = raw.lstrip().startswith(b"[")
        batch = await parse_body(request, _MO_LIST) if many else [await parse_body(request, MoIn)]
        now, cursor = time.time(), core.store.next_cursor
        for mo_in in batch:  # validate them all before queueing any
            core.mos.check(mo_in.source, mo_in.destination, mo_in.text)
        records = [
            core.inject_mo(m.source, m.destination, m.text, now, encoding=m.encoding, split=m.split).to_json()
            for m in batch
        ]
        extra = {"cursor": cursor, "receivers": core.router.receivers}
        reply = {"mos": records, **extra} if many else {**records[0], **extra}
        return web.json_response(reply, status=201)

    @routes.get("/api/mo/{id}")
    async def mo(request: web.Request) -> web.Response:
        record = core.store.get_mo(request.match_info["id"])
        if record is None:
            return web.json_response({"error": "no such MO"}, status=404)
        return web.json_response(record.to_json())

    @routes.post("/api/mo/{id}/redeliver")
    async def redeliver(request: web.Request) -> web.Response:
        record = core.redeliver(request.match_info["id"], time.time())
        if record is None:
            return web.json_response({"error": "no such MO (it may have left the history)"}, status=404)
        return web.json_response({**record.to_json(), "receivers": core.router.receivers}, status=202)

    @routes.get("/api/mt")
    async def mts(request: web.Request) -> web.Response:
        try:
            cursor = int(request.query.get("cursor", "-1"))
            limit = max(1, min(int(request.query.get("limit", "1000")), 10000))
        except ValueError:
            raise BadRequest("cursor and limit must be integers") from None
        if cursor < 0:
            cursor = core.store.next_cursor
        source = request.query.get("source") or None
        destination = request.query.get("destination") or None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _query_float(request, "wait", 0.0, 300.0)
        while True:
            found, next_cursor = core.store.mts_since(cursor, source, destination, limit)
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return web.json_response({"mts": [record_json(m) for m in found], "cursor": next_cursor})
            await waiter.wait(remaining)

    @routes.get("/api/traffic/{number}")
    async def traffic(request: web.Request) -> web.Response:
        number = request.match_info["number"]
        records = [record_json(r) for r in core.store.traffic(number)]
        return web.json_response({"number": number, "traffic": records})

    @routes.get("/api/faults")
    async def faults(request: web.Request) -> web.Response:
        now = time.time()
        return web.json_response({"faults": [f.to_json(now) for f in core.faults.active(now)]})

    @routes.post("/api/faults")
    async def add_fault(request: web.Request) -> web.Response:
        body = await parse_body(request, FaultIn)
        now = time.time()
        fault = core.faults.add(
            body.kind,
            now=now,
            count=body.count,
            seconds=body.seconds,
            ratio=body.ratio,
            delay=body.delay,
            seed=body.seed,
        )
        return web.json_response(fault.to_json(now), status=201)

    @routes.delete("/api/faults")
    async def clear_faults(request: web.Request) -> web.Response:
        return web.json_response({"cleared": core.faults.clear()})

    @routes.post("/api/drop")
    async def drop(request: web.Request) -> web.Response:
        body = await parse_body(request, DropIn)
        if body.bind is None and not body.all:
            raise BadRequest('give "bind": ID or "all": true')
        dropped = core.drop(None if body.all else body.bind, time.time())
        return web.json_response({"dropped": dropped})

    @routes.get("/api/receipts")
    async def rules(request: web.Request) -> web.Response:
        return web.json_response({"rules": core.rules.to_json()})

    @routes.post("/api/receipts")
    async def add_rule(request: web.Request) -> web.Response:
        body = await parse_body(request, RuleIn)
        core.rules.add(ReceiptRule(body.pattern, body.status.upper(), body.delay))
        return web.json_response({"rules": core.rules.to_json()}, status=201)

    @routes.put("/api/receipts")
    async def replace_rules(request: web.Request) -> web.Response:
        body = await parse_body(request, RulesIn)
        new = [ReceiptRule(r.pattern, r.status.upper(), r.delay) for r in body.rules]
        core.rules.replace(new)
        return web.json_response({"rules": core.rules.to_json()})

    @routes.delete("/api/receipts")
    async def clear_rules(request: web.Request) -> web.Response:
        core.rules.replace([])
        return web.json_response({"rules": []})

    @routes.post("/api/load")
    async def start_load(request: web.Request) -> web.Response:
        body = await parse_body(request, LoadIn)
        messages = [(m.source, m.destination, m.text) for m in body.messages]
        core.start_load(messages, body.window, time.time(), body.rate)
        return web.json_response({"total": len(messages), "window": body.window, "rate": body.rate}, status=202)

    @routes.get("/api/load")
    async def load_figures(request: web.Request) -> web.Response:
        if core.load is None:
            return web.json_response({"error": "no load has been started"}, status=404)
        return web.json_response(core.load.figures(time.time()))

    app.add_routes(routes)
    add_console(app, sim)
    return app
