"""End-to-end benchmark: the gateway and the simulator as processes, against the no-database ceiling.

    python bench/e2e.py --n 20000 --window 10 100 [--db sqlite|postgresql] [--soak SECONDS] [--rate R]

It loads N senders and N Kartes into a fresh database (SQLite with
``synchronous=FULL``, or a throwaway PostgreSQL server with its default
durability: fsync on), starts ``smsc-sim`` and ``smsgw run`` as separate
processes, and injects N MOs through the simulator's load endpoint with W
outstanding: about 70 % one-off top-ups, 10 % ``M`` then ``JA``, 10 % ``S``,
10 % help and mistakes. Then the same load against the ceiling
(``bench/echo_esme.py``): an aiosmpplib ESME that submits the same MTs per MO
(two for a top-up), with delivery receipts requested and answered, and does no
other work — no database, no grammar, no rules. Every MO is acknowledged by the
gateway only after its commit. Each window of ``--window`` is a run of its own.

Figures per run: MOs per second to acknowledgement and to the last reply
accepted, p50/p99 of MO→ack and MO→reply, CPU per MO of the gateway's processes
(and of the PostgreSQL server's), the gateway's resident memory at start and
end. ``--rate R`` offers R MOs per second instead of as fast as the window allows
(for latency at a given load). ``--soak S`` keeps loading for S seconds after the
main run and reports memory. The last line (of the last window) is always:
``e2e_per_s=… ceiling_per_s=… ratio=… p50_ms=… p99_ms=… rss_start_mb=… rss_end_mb=…
cpu_us_per_mo=… ceiling_p99_ms=…``, on PostgreSQL ``db_cpu_us_per_mo=…``, then ``window=…``;
the lines of all windows are printed again together at the end.
A benchmark prints figures; it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMSGW = str(Path(sys.executable).with_name("smsgw"))
HEADER = "msisdn,kind,status,customer_type,sos_sms_allowed,language,email,karte_expires_on,balance"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sender(i: int) -> str:
    return f"3712{i:07d}"


def karte(i: int) -> str:
    return f"3712{5_000_000 + i:07d}"


def national(msisdn: str) -> str:
    return msisdn[3:]


def mix(n: int, offset: int = 0) -> list[tuple[str, str, str]]:
    """Blocks of 20: 14 one-off top-ups, 2 × (M then JA), 2 S, 2 help and mistakes."""
    out: list[tuple[str, str, str]] = []
    for i in range(offset, offset + n):
        slot = i % 20
        base = i - slot
        if slot < 14:
            out.append((sender(i), "1643", f"V {national(karte(i))} 5"))
        elif slot in (14, 15):
            out.append((sender(i), "1643", f"M {national(karte(i))} 4.13"))
        elif slot in (16, 17):
            out.append((sender(base + slot - 2), "1643", "JA"))
        elif slot == 18:
            out.append((sender(i), "1643", "S"))
        else:
            out.append((sender(i), "1643", "HELP" if i % 40 < 20 else "V 2900 5"))
    return out


def write_config(
    folder: Path, database_url: str, smpp_port: int, http_port: int, ops_port: int, window: int, receipts: bool
) -> Path:
    from smsgw.keys import new_key_file

    path = folder / "config.toml"
    key_file = folder / "keys" / "bench.key"  # smsgw run needs a key; not beside the database
    if not key_file.exists():
        key_file.parent.mkdir(exist_ok=True)
        new_key_file(key_file)
    path.write_text(
        f"""[smpp]
host = "127.0.0.1"
port = {smpp_port}
system_id = "smsgw"
password = "demo1234"
mo_window = {max(32, window * 2)}
window = {max(10, window)}
registered_delivery = {"true" if receipts else "false"}
[http]
host = "127.0.0.1"
port = {ops_port}
[database]
url = "{database_url}"
[security]
key_file = "{key_file}"
[logging]
format = "json"
level = "info"
[simulator]
host = "127.0.0.1"
port = {smpp_port}
system_id = "smsgw"
password = "demo1234"
http_port = {http_port}
record_file = ""
mo_window = {window}
history_limit = 1000
""",
        encoding="utf-8",
    )
    return path


class Api:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + path, timeout=60) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def post(self, path: str, body: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def wait_up(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.get("/api/health")
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the simulator did not start")

    def wait_binds(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.get("/api/binds")["binds"]) >= count:
                return
            time.sleep(0.1)
        raise SystemExit("the ESME did not bind")

    def load(
        self, messages: list[tuple[str, str, str]], window: int, rate: float | None, timeout: float
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [{"source": s, "destination": d, "text": t} for s, d, t in messages],
            "window": window,
        }
        if rate:
            body["rate"] = rate
        self.post("/api/load", body)
        deadline = time.monotonic() + timeout
        figures = self.get("/api/load")
        while time.monotonic() < deadline:
            figures = self.get("/api/load")
            if figures["done"] and figures["replied"] >= figures["acked"] - figures["failed"]:
                return figures
            time.sleep(0.25)
        print(f"warning: the load did not finish within {timeout:.0f} s: {json.dumps(figures)}", file=sys.stderr)
        return figures


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children (the database worker)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def server_cpu_seconds() -> float:
    """User + system CPU of every PostgreSQL server process on this machine (the bench's own server)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        if name.startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def import_subscribers(config: Path, n: int, folder: Path) -> None:
    csv = folder / "subscribers.csv"
    with csv.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for i in range(n):
            out.write(f"{sender(i)},postpaid,active,private,false,lv,,,\n")
            out.write(f"{karte(i)},karte,active,private,false,lv,,2030-12-31,0.00\n")
    subprocess.run([SMSGW, "--config", str(config), "subscribers", "import", str(csv)], check=True, capture_output=True)


def run(
    folder: Path,
    *,
    n: int,
    window: int,
    database_url: str,
    rate: float | None,
    soak: float,
    receipts: bool,
    ceiling: bool,
) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    smpp_port, http_port, ops_port = free_port(), free_port(), free_port()
    config = write_config(folder, database_url, smpp_port, http_port, ops_port, window, receipts)
    if not ceiling:
        import_subscribers(config, n, folder)
    simulator = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--config", str(config), "serve", "--log-level", "warning"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "simulator.log", "wb"),
    )
    esme: subprocess.Popen[bytes] | None = None
    try:
        api = Api(http_port)
        api.wait_up()
        if ceiling:
            command = [sys.executable, str(ROOT / "bench" / "echo_esme.py"), "--port", str(smpp_port)]
            command += ["--window", str(max(10, window))]  # the gateway's [smpp] window (write_config)
            if not receipts:
                command.append("--no-receipts")
        else:
            command = [SMSGW, "--config", str(config), "run"]
        esme = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=open(folder / "esme.log", "wb"))
        api.wait_binds(1)
        time.sleep(0.5)
        rss_start = rss_mb(esme.pid)
        postgres = database_url.startswith("postgresql") and not ceiling
        cpu_before = cpu_seconds(esme.pid), cpu_seconds(simulator.pid), server_cpu_seconds() if postgres else 0.0
        figures = api.load(mix(n), window, rate, timeout=max(120.0, n / 50))
        cpu_after = cpu_seconds(esme.pid), cpu_seconds(simulator.pid), server_cpu_seconds() if postgres else 0.0
        figures["cpu_us_per_mo"] = {
            "esme": round((cpu_after[0] - cpu_before[0]) / n * 1e6),
            "simulator": round((cpu_after[1] - cpu_before[1]) / n * 1e6),
            "database": round((cpu_after[2] - cpu_before[2]) / n * 1e6) if postgres else None,
        }
        rounds = 0
        deadline = time.monotonic() + soak
        while time.monotonic() < deadline:
            rounds += 1
            api.load(mix(n, offset=0), window, rate, timeout=max(120.0, n / 50))
            print(f"  soak round {rounds}: rss {rss_mb(esme.pid):.1f} MB", flush=True)
        figures["rss_start_mb"] = rss_start
        figures["rss_end_mb"] = rss_mb(esme.pid)
        figures["soak_rounds"] = rounds
        return figures
    finally:
        stop(esme)
        stop(simulator)


def describe(name: str, f: dict[str, Any]) -> str:
    r, ack, reply = f["rates"], f["mo_to_ack_ms"], f["mo_to_reply_ms"]
    return (
        f"{name}: {f['acked']}/{f['total']} acked, {f['replied']} replied, {f['failed']} failed | "
        f"ack {r['acked_per_s']:.0f}/s, reply {r['replied_per_s']:.0f}/s | "
        f"MO→ack p50 {ack['p50']} ms p99 {ack['p99']} ms | MO→reply p50 {reply['p50']} ms p99 {reply['p99']} ms | "
        f"rss {f['rss_start_mb']:.1f}→{f['rss_end_mb']:.1f} MB | "
        f"CPU µs/MO: esme {f['cpu_us_per_mo']['esme']}, simulator {f['cpu_us_per_mo']['simulator']}"
        + (f", database {f['cpu_us_per_mo']['database']}" if f["cpu_us_per_mo"].get("database") is not None else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--window", type=int, nargs="+", default=[10], help="one run per window (e.g. 10 100)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of further load after the main run")
    parser.add_argument(
        "--rate", type=float, default=None, help="offered MOs per second (default: as fast as possible)"
    )
    parser.add_argument("--no-receipts", action="store_true", help="do not ask the SMSC for delivery receipts")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (logs)")
    args = parser.parse_args()
    receipts = not args.no_receipts
    lines = []
    for window in args.window:
        lines.append(bench_window(args, window, receipts))
    for line in lines:
        print(line)


def bench_window(args: argparse.Namespace, window: int, receipts: bool) -> str:
    """One window: the gateway on a fresh database, then the ceiling; returns the summary line."""
    work = Path(tempfile.mkdtemp(prefix="smsgw-bench-"))
    postgres = None
    try:
        if args.db == "postgresql":
            from tests.postgres import PostgresServer, find_binaries

            binaries = find_binaries()
            if binaries is None:
                raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
            postgres = PostgresServer(binaries, durable=True)
            postgres.start()
            database_url = postgres.url("postgres")
        else:
            database_url = f"sqlite+aiosqlite:///{work / 'gateway' / 'bench.db'}"
        print(f"bench: n={args.n} window={window} db={args.db} receipts={receipts} rate={args.rate}", flush=True)
        gateway = run(
            work / "gateway",
            n=args.n,
            window=window,
            database_url=database_url,
            rate=args.rate,
            soak=args.soak,
            receipts=receipts,
            ceiling=False,
        )
        print(describe("gateway", gateway), flush=True)
        ceiling = run(
            work / "ceiling",
            n=args.n,
            window=window,
            database_url=database_url,
            rate=args.rate,
            soak=0.0,
            receipts=receipts,
            ceiling=True,
        )
        print(describe("ceiling", ceiling), flush=True)
    finally:
        if postgres is not None:
            postgres.stop()
        if args.keep:
            print(f"working folder kept: {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    e2e = gateway["rates"]["replied_per_s"]
    top = ceiling["rates"]["replied_per_s"]
    cpu = gateway["cpu_us_per_mo"]
    line = (
        f"e2e_per_s={e2e:.0f} ceiling_per_s={top:.0f} ratio={e2e / top if top else 0:.2f} "
        f"p50_ms={gateway['mo_to_ack_ms']['p50']} p99_ms={gateway['mo_to_ack_ms']['p99']} "
        f"rss_start_mb={gateway['rss_start_mb']:.1f} rss_end_mb={gateway['rss_end_mb']:.1f} "
        f"cpu_us_per_mo={cpu['esme']} ceiling_p99_ms={ceiling['mo_to_ack_ms']['p99']}"
    )
    if cpu.get("database") is not None:
        line += f" db_cpu_us_per_mo={cpu['database']}"
    line += f" window={window}"
    print(line, flush=True)
    return line


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
