"""Another web page, open in the tester's browser, cannot drive the simulator (issue 15).

The hostile page is served from another port on the same loopback address, and tries what
a page can: a `text/plain` "simple" POST (no preflight; the browser sends it), an HTML form
posting `text/plain` into a hidden frame, and a JSON POST (which needs a CORS preflight).
None may inject an MO; the simulator must have seen, and refused, the ones that reached it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Stack

INTRUDER = "37125555555"

HOSTILE_PAGE = """<!doctype html><meta charset="utf-8"><title>cat pictures</title>
<iframe name="sink" hidden></iframe>
<form id="f" method="post" action="TARGET/api/mo" enctype="text/plain" target="sink">
  <input type="hidden" name='{"source": "INTRUDER", "destination": "1643", "text": "V 29000001 5", "x": "' value='"}'>
</form>
<pre id="out"></pre>
<script>
const body = JSON.stringify({source: "INTRUDER", destination: "1643", text: "V 29000001 5"});
const results = {};
const done = () => { document.getElementById("out").textContent = JSON.stringify(results); };
Promise.allSettled([
  fetch("TARGET/api/mo", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body})
    .then(() => { results.plain = "sent"; }, (e) => { results.plain = "failed: " + e; }),
  fetch("TARGET/api/mo", {method: "POST", headers: {"Content-Type": "application/json"}, body})
    .then((r) => { results.json = "answered " + r.status; }, (e) => { results.json = "blocked"; }),
  fetch("TARGET/api/traffic/37120000001")
    .then((r) => r.text().then((t) => { results.read = "read " + t.length; }), (e) => { results.read = "blocked"; }),
]).then(() => { document.getElementById("f").submit(); results.form = "submitted"; setTimeout(done, 1500); });
</script>
"""


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    stack.start_simulator()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def hostile_site(simulator: Stack) -> Iterator[str]:
    page = HOSTILE_PAGE.replace("TARGET", simulator.base).replace("INTRUDER", INTRUDER).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_from_another_origin_cannot_inject_an_mo(simulator: Stack, hostile_site: str, browser: Any) -> None:
    browser.get(hostile_site)
    deadline = time.monotonic() + 20
    while not (out := browser.execute_script("return document.getElementById('out').textContent")):
        assert time.monotonic() < deadline, "the hostile page did not finish"
        time.sleep(0.1)
    results = json.loads(out)
    assert results["plain"] == "sent" and results["form"] == "submitted"  # the browser did send them
    assert results["json"] == "blocked" and results["read"] == "blocked"  # no CORS: nothing to read
    counters = simulator.status()["counters"]
    assert simulator.get(f"/api/traffic/{INTRUDER}")["traffic"] == []
    assert counters.get("mos_injected", 0) == 0
    assert counters.get("http_refused_origin", 0) >= 2, counters  # the text/plain fetch and the form
