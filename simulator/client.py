"""HTTP client of the control API, used by the CLI and by `play`.

It sends the bearer token when one is configured, and every request that changes state
as JSON (`{}` when it has no body): the simulator refuses anything else.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import aiohttp

__all__ = ["ApiError", "Client", "Unreachable", "collect_mts", "mt_line"]

JSON = dict[str, Any]


class Unreachable(Exception):
    """Nothing answers at the simulator's control address."""

    def __init__(self, url: str) -> None:
        super().__init__(f'cannot reach the simulator at {url} — is "smsc-sim serve" running?')


class ApiError(Exception):
    """The simulator refused a request (the message is its explanation)."""


def mt_line(mt: JSON) -> str:
    """`to<TAB>from<TAB>text`, newlines in text written as \\n (as `smsgw mo` prints)."""
    text = str(mt["text"]).replace("\r\n", "\n").replace("\n", "\\n").replace("\t", "\\t")
    return f"{mt['destination']}\t{mt['source']}\t{text}"


class Client:
    def __init__(self, base_url: str, token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self._session = aiohttp.ClientSession(headers=self._headers)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        body: JSON | None = None,
        params: dict[str, Any] | None = None,
        wait: float = 0.0,
    ) -> JSON:
        """One API call; `wait` is how long the server may hold it (long poll)."""
        assert self._session is not None, "use `async with Client(...)`"
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        timeout = aiohttp.ClientTimeout(total=wait + 30.0)
        payload = body if body is not None or method in ("GET", "HEAD") else {}
        try:
            async with self._session.request(
                method, self.base_url + path, json=payload, params=query, timeout=timeout
            ) as response:
                data = await response.json(content_type=None)
        except aiohttp.ClientConnectorError:
            raise Unreachable(self.base_url) from None
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise ApiError(f"{method} {path} failed: {err or type(err).__name__}") from None
        if response.status >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            if response.status == 401:
                message = f"{message} (the simulator wants its token: set SMSC_SIM_TOKEN or [simulator] token)"
            raise ApiError(message or f"{method} {path}: HTTP {response.status}")
        return data if isinstance(data, dict) else {"data": data}

    async def inject_mo(
        self, source: str, destination: str, text: str, encoding: str = "auto", split: str = "udh8"
    ) -> JSON:
        body = {"source": source, "destination": destination, "text": text, "encoding": encoding, "split": split}
        return await self.request("POST", "/api/mo", body)

    async def mts(
        self,
        cursor: int,
        *,
        source: str | None = None,
        destination: str | None = None,
        wait: float = 0.0,
    ) -> JSON:
        params = {"cursor": cursor, "source": source, "destination": destination, "wait": round(wait, 3)}
        return await self.request("GET", "/api/mt", params=params, wait=wait)


async def collect_mts(
    client: Client, cursor: int, *, wait: float, quiet: float = 1.0, source: str | None = None
) -> list[JSON]:
    """MTs from `cursor` on: wait up to `wait` seconds for the first, then return once no
    further MT came for `quiet` seconds."""
    found: list[JSON] = []
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return found
        poll = min(remaining, quiet) if found else remaining
        data = await client.mts(cursor, source=source, wait=poll)
        cursor = int(data["cursor"])
        if data["mts"]:
            found.extend(data["mts"])
        elif found:
            return found
