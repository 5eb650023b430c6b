"""Fixtures of the scale-out suite: a fresh database on the session's PostgreSQL, clusters stopped afterwards.

The PostgreSQL server is ``tests/conftest.py``'s (``postgres_server``: started
once per session, skipped locally without the binaries, required under CI).
Every test gets its own database and its own cluster: a simulator and three
``smsgw run`` instances (``cluster.py``). ``SCALEOUT_ROUNDS`` scales the rounds
of faults up (``test_rounds.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import PostgresServer

from .cluster import SIMULATOR, SMPP, Cluster, new_database

MakeCluster = Callable[..., Cluster]


@pytest.fixture
def make_cluster(tmp_path: Path, postgres_server: PostgresServer) -> Iterator[MakeCluster]:
    """``make(rows, smpp=…, simulator=…, outbox=…, instances=True)``: a started cluster on a fresh database.

    ``instances=False``: the subscribers imported and the simulator started, no instance yet.
    """
    made: list[Cluster] = []

    def make(
        rows: list[str],
        *,
        smpp: dict[str, Any] | None = None,
        simulator: dict[str, Any] | None = None,
        outbox: dict[str, Any] | None = None,
        extra: str = "",
        instances: bool = True,
        size: int = 3,
    ) -> Cluster:
        cluster = Cluster(
            tmp_path / f"cluster{len(made) + 1}",
            new_database(postgres_server),
            size=size,
            smpp={**SMPP, **(smpp or {})},
            simulator={**SIMULATOR, **(simulator or {})},
            outbox=outbox,
            extra=extra,
        )
        made.append(cluster)
        cluster.start(rows, instances=instances)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/scaleout/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.postgres)
