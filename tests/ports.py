"""Loopback ports for the servers the tests start."""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port"]

_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def free_port() -> int:
    """A loopback port free now, below the kernel's ephemeral range where it can be.

    A port the kernel hands out with ``bind(0)`` is an ephemeral one: once the test
    has closed it, any outgoing connection may take it as its source port, and a
    gateway restarted on it after a kill then finds it in use. Ports below that
    range are only ever taken by listeners, and none is handed out twice here.
    """
    low = _ephemeral_low()
    rng = random.Random()
    for _ in range(200 if low > 12_000 else 0):
        port = rng.randrange(10_000, low)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
