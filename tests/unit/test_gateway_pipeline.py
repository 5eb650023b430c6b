"""The database loop and the confirmations it records, with a scripted runner and no sockets.

One batch at a time: what the link reads meanwhile goes into the next; a batch
the database did not commit hands its work back (MOs to the SMSC, the sender's
and the confirmations' work to the next batch).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from cryptography.fernet import Fernet

from smpp.constants import Status
from smpp.smsc_events import DeliverAnswered
from smsgw.batch.jobs import Batch, BatchResult, Decision
from smsgw.gateway import pipeline as pipeline_module
from smsgw.gateway.confirmations import Confirmations
from smsgw.gateway.inbound import Inbound
from smsgw.gateway.pipeline import Pipeline
from smsgw.gateway.sender import Sender
from smsgw.sealing import Sealer
from tests.unit.gateway_support import Rig, claimed


class ScriptedRunner:
    """Answers every MO ``help`` after ``gate`` opens; fails the batches it is told to."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.fail_next = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.commits = 0

    async def run(self, batch: Batch) -> BatchResult:
        self.batches.append(batch)
        await self.gate.wait()
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("the database went away")
        self.commits += 1
        return BatchResult(
            tuple(Decision(job.id, "help") for job in batch.mos),
            (),
            tuple(None for _ in batch.receipts),
            (),
            self.commits,
        )


async def _no_password() -> Any:
    raise AssertionError("no P in these tests")


def _rig(monkeypatch: pytest.MonkeyPatch) -> tuple[Rig, Pipeline, ScriptedRunner]:
    monkeypatch.setattr(pipeline_module, "_AFTER_FAILURE", 0.0)
    rig = Rig()
    rig.sender = Sender(rig.link, Sealer(Fernet.generate_key()), owner="gw-a", rng=random.Random(1))
    rig.inbound = Inbound(rig.link, rig.confirmations, prepare_password=_no_password, on_decided=lambda *_: None)
    runner = ScriptedRunner()
    pipeline = Pipeline(runner, rig.link, rig.inbound, rig.sender, rig.confirmations, wall=lambda: rig.wall)  # type: ignore[arg-type]
    rig.connect()
    return rig, pipeline, runner


async def test_a_batch_that_failed_hands_its_work_back(monkeypatch: pytest.MonkeyPatch) -> None:
    rig, pipeline, runner = _rig(monkeypatch)
    assert rig.sender is not None
    rig.deliver("S", "mo-a")
    rig.sender.take([claimed(1)])
    rig.sender.pump(rig.now, rig.wall)
    rig.confirmations.read(["mo-old"], rig.now)
    runner.fail_next = 1
    await pipeline.run_once()
    rig.pump()
    [failed] = runner.batches
    assert (len(failed.mos), failed.intents, failed.acks) == (1, [(1, 1)], ["mo-old"])
    assert rig.answers() == [DeliverAnswered("mo-a", Status.ESME_RX_T_APPN)], "the SMSC keeps it and delivers again"
    assert rig.submits() == [], "not recorded: not written"

    await pipeline.run_once()
    rig.pump()
    retried = runner.batches[1]
    assert (retried.mos, retried.intents, retried.acks) == ([], [(1, 1)], ["mo-old"])
    assert len(rig.submits()) == 1, "recorded now, so written"
    assert rig.confirmations.confirmed == 1 and pipeline.batches == 1


async def test_what_is_read_while_a_batch_commits_goes_into_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    rig, pipeline, runner = _rig(monkeypatch)
    rig.deliver("S", "mo-a")
    runner.gate.clear()
    first = asyncio.create_task(pipeline.run_once())
    await asyncio.sleep(0)
    rig.deliver("HELP", "mo-b")
    assert [job.text for job in runner.batches[0].mos] == ["S"]
    runner.gate.set()
    await first
    rig.pump()
    assert rig.answers() == [DeliverAnswered("mo-a", Status.ESME_ROK)]
    await pipeline.run_once()
    rig.pump()
    assert [job.text for job in runner.batches[1].mos] == ["HELP"]
    assert rig.answers() == [DeliverAnswered("mo-b", Status.ESME_ROK)]


async def test_the_loop_runs_when_woken_and_drains_on_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    rig, pipeline, runner = _rig(monkeypatch)
    loop = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.01)
    assert runner.batches and runner.batches[0].heartbeat is not None, "the first batch beats and claims"
    seen = len(runner.batches)
    rig.deliver("S", "mo-a")
    pipeline.wake()
    await asyncio.sleep(0.01)
    assert [job.text for job in runner.batches[seen].mos] == ["S"]
    rig.pump()
    assert rig.answers() == [DeliverAnswered("mo-a", Status.ESME_ROK)]
    rig.deliver("HELP", "mo-b")  # read, nobody woke the loop yet: the drain takes it
    await pipeline.drain(1.0)
    await asyncio.wait_for(loop, 1.0)
    rig.pump()
    assert rig.answers() == [DeliverAnswered("mo-b", Status.ESME_ROK)]


# --- confirmations -----------------------------------------------------------------------------------------


def test_confirmations_record_what_was_read_except_what_the_smsc_sent_again() -> None:
    confirmations = Confirmations(wait=0.1)
    confirmations.never("mo-b")
    confirmations.read(["mo-a", "mo-b", 7, None], 10.0)
    confirmations.read(["mo-c"], 10.05)
    confirmations.never("mo-c")  # sent again after its response was read but before the batch
    assert not confirmations.due(10.09), "rides in a batch that runs anyway"
    assert confirmations.due(10.11), "a batch of its own once it waited long enough"
    assert confirmations.next_due(10.05) == pytest.approx(0.05)
    batch = Batch()
    confirmations.fill(batch)
    assert batch.acks == ["mo-a"] and not confirmations.holding and not confirmations.due(11.0)
    confirmations.failed(12.0)
    assert confirmations.holding and not confirmations.due(12.0) and confirmations.due(12.11)
    again = Batch()
    confirmations.fill(again)
    assert again.acks == ["mo-a"]
    confirmations.settle()
    assert confirmations.confirmed == 1 and not confirmations.holding
