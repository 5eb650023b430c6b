"""The ceiling: the gateway's own SMPP edge with the gateway's traffic, and none of its work.

    python bench/echo_esme.py --port 2775 --system-id smsgw --password demo1234 [--no-receipts] [--window 10]

The same transport (aiosmpplib connects and binds), the same sans-IO session core
(``smpp.EsmeSession`` through ``smsgw.gateway.link.SmppLink``) and the same submit
window as ``smsgw run``. For every MO it submits what the gateway would: two
one-part UCS-2 MTs for a one-off top-up (``V …``: to the sender and to the
Karte), one for anything else, with delivery receipts requested, which it
answers as they come. Each deliver_sm is answered at once: no database, no
grammar, no rules, no logs. It is what the gateway is measured against in
``bench/e2e.py``: the same traffic, everything but the work.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smpp import ShortMessage, split_text, ton_npi
from smpp.esme_events import EsmeEvent, LinkLost, MoReceived, ReceiptReceived, SubmitTimedOut
from smpp.esme_session import EsmeConfig
from smsgw.config import SmppConfig
from smsgw.gateway.link import SmppLink
from smsgw.gateway.transport import AiosmpplibTransport

# Like the gateway's Latvian replies: one UCS-2 part (at most 70 characters) each.
REPLY = "Glābējīsziņa: LMT Karte 29000001 papildināta par 5,00 EUR."
[_PART] = split_text(REPLY)


def _karte(text: bytes) -> str | None:
    """The Karte of a one-off top-up ``V 29123456 5`` (international form), else None."""
    words = text.decode("latin-1", "replace").split()
    if len(words) == 3 and words[0].upper() == "V" and words[1].isdigit() and len(words[1]) == 8:
        return "371" + words[1]
    return None


class Echo:
    def __init__(self, link: SmppLink, receipts: bool) -> None:
        self.link = link
        self.receipts = 1 if receipts else 0
        self.waiting: deque[ShortMessage] = deque()

    def on_events(self, events: list[EsmeEvent]) -> None:
        link = self.link
        for event in events:
            if isinstance(event, MoReceived):
                link.respond(link.generation, event.sequence)
                message = event.message
                to = [message.source_addr]
                karte = _karte(message.short_message)
                if karte is not None:
                    to.append(karte)
                for destination in to:
                    self.waiting.append(self._mt(message.destination_addr, destination))
            elif isinstance(event, ReceiptReceived):
                link.respond(link.generation, event.sequence)
            elif isinstance(event, SubmitTimedOut):
                self.waiting.appendleft(event.ref)  # type: ignore[arg-type]
            elif isinstance(event, LinkLost):
                self.waiting.extendleft(reversed(event.unanswered))  # type: ignore[arg-type]
        self.pump()

    def _mt(self, source: str, destination: str) -> ShortMessage:
        source_ton, source_npi = ton_npi(source)
        dest_ton, dest_npi = ton_npi(destination)
        return ShortMessage(
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            source_addr=source,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            destination_addr=destination,
            esm_class=_PART.esm_class,
            registered_delivery=self.receipts,
            data_coding=_PART.data_coding,
            short_message=_PART.short_message,
        )

    def pump(self) -> None:
        while self.waiting and self.link.can_submit:
            message = self.waiting.popleft()
            self.link.submit(message, message)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--system-id", default="smsgw")
    parser.add_argument("--password", default="demo1234")
    parser.add_argument("--window", type=int, default=10, help="submit_sm outstanding at most (as [smpp] window)")
    parser.add_argument("--no-receipts", action="store_true")
    args = parser.parse_args()
    config = SmppConfig(host=args.host, port=args.port, system_id=args.system_id, password=args.password)
    echo: Echo | None = None
    link = SmppLink(
        EsmeConfig(system_id=args.system_id, window=args.window, enquire_link_interval=30.0),
        lambda events: echo.on_events(events) if echo is not None else None,
    )
    echo = Echo(link, receipts=not args.no_receipts)
    transport = AiosmpplibTransport(config, link, link.sequences)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    task = asyncio.create_task(transport.start())
    await stop.wait()
    transport.stop_reconnecting()
    if link.unbind():
        await asyncio.sleep(0.2)
    transport.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
