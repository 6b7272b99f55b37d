"""Soak: taps posted at a steady rate for a set time against `ticketing serve` on PostgreSQL.

Reports errors, latency percentiles per window, and the server's memory (resident set of
the master and its workers) at the start and the end. Bounded in count and time; talks
only to the server it starts on 127.0.0.1.
Usage: uv run python bench/soak.py [--rate 200] [--seconds 60] [--batch 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# bench/fare.py would shadow the `fare` package: the project root must come first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.ingest import device_token, make_taps, percentile, served

CLI = [sys.executable, "-c", "from ticketing.cli import main; main()"]


def resident_kib(root_pid: int) -> int:
    """Resident memory of a process and its children, from /proc."""
    pids = {root_pid}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == root_pid:
                pids.add(int(entry.name))
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200, help="taps per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--batch", type=int, default=10, help="taps per request")
    parser.add_argument("--window", type=float, default=10)
    args = parser.parse_args()

    with served("soak-1") as run:
        base, device, server = run.base, run.device, run.server
        key = {"kid": run.card_kid}
        public_key = run.card_public_key
        requests_total = int(args.rate * args.seconds / args.batch)
        taps = make_taps(requests_total * args.batch, key["kid"], public_key, 0)
        memory_start = resident_kib(server.pid)
        samples: list[tuple[float, float, int]] = []  # (sent at, latency, status)
        lock = threading.Lock()
        client = httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=32))

        def post(n: int) -> None:
            body = {"taps": taps[n * args.batch : (n + 1) * args.batch]}
            headers = {"Authorization": f"Bearer {device_token('soak-1', device)}"}
            sent = time.perf_counter()
            try:
                status = client.post("/v1/devices/taps", json=body, headers=headers).status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                samples.append((sent - started, time.perf_counter() - sent, status))

        started = time.perf_counter()
        interval = args.batch / args.rate
        with ThreadPoolExecutor(32) as pool:
            for n in range(requests_total):
                delay = started + n * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(post, n)
        elapsed = time.perf_counter() - started
        memory_end = resident_kib(server.pid)

    windows = []
    for w in range(int(args.seconds // args.window) + 1):
        in_window = [s for s in samples if w * args.window <= s[0] < (w + 1) * args.window]
        if not in_window:
            continue
        latencies = [s[1] for s in in_window]
        windows.append(
            {
                "from_s": w * args.window,
                "requests": len(in_window),
                "errors": sum(1 for s in in_window if s[2] != 200),
                "p50_ms": round(1000 * percentile(latencies, 0.5), 1),
                "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
                "max_ms": round(1000 * max(latencies), 1),
            }
        )
    print(
        json.dumps(
            {
                "rate_taps_per_s": args.rate,
                "batch": args.batch,
                "seconds": round(elapsed, 1),
                "requests": len(samples),
                "taps": len(samples) * args.batch,
                "errors": sum(1 for s in samples if s[2] != 200),
                "server_rss_mib": {
                    "start": round(memory_start / 1024, 1),
                    "end": round(memory_end / 1024, 1),
                },
                "windows": windows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
