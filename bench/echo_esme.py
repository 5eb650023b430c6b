"""The ceiling: a no-op ESME on aiosmpplib that answers every MO with one MT, no database.

    python bench/echo_esme.py --port 2775 --system-id smsgw --password demo1234

The library's own ESME with its serial hook (each MO acknowledged right after
the hook returns), an O(1) correlator that keeps nothing (the library's default
slows down with every message) and the default broker. It is what the gateway is
measured against in ``bench/e2e.py``: the same load, everything but the work.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmpplib import ESME, AbstractHook
from aiosmpplib.broker import SimpleBroker
from aiosmpplib.protocol import DeliverSm, SmppMessage, SubmitSm

from smsgw.gateway.library import NullCorrelator


class EchoHook(AbstractHook):
    def __init__(self, broker: SimpleBroker) -> None:
        self.broker = broker

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        return None

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        if isinstance(smpp_message, DeliverSm) and not smpp_message.is_receipt():
            reply = SubmitSm(
                short_message="ok",
                source=smpp_message.destination,
                destination=smpp_message.source,
                registered_delivery=0,
            )
            await self.broker.enqueue(reply)

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        return None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--system-id", default="smsgw")
    parser.add_argument("--password", default="demo1234")
    args = parser.parse_args()
    broker = SimpleBroker(maxsize=100_000)
    esme = ESME(
        smsc_host=args.host,
        smsc_port=args.port,
        system_id=args.system_id,
        password=args.password,
        hook=EchoHook(broker),
        broker=broker,
        correlator=NullCorrelator(),
        log_level="ERROR",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    task = asyncio.create_task(esme.start())
    await stop.wait()
    await esme.stop()
    task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
