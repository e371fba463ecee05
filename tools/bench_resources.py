"""Where the CPU goes, and how much memory: `python -m tools.bench_resources -- <command ...>`.

Runs the command (a benchmark) and, while it runs, samples every process of the stack twice a second: CPU seconds
used per component (each service and its instances, PostgreSQL's backends together, Kafka, the benchmark
itself) and the largest resident set of each service process. Prints the command's own output, then the
figures, so that a throughput can be put next to what it cost.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from typing import IO

import psutil


def of_stack(p: psutil.Process, cmd: str, stack: str, pg_port: str) -> bool:
    """Whether a process is the stack's of checkout `stack`, on a machine running several stacks: a service, Kafka or
    a client whose command line names a path of the checkout, or a PostgreSQL process of the server on `pg_port`."""
    if cmd.startswith("postgres") or "bin/postgres" in cmd:
        try:
            postmaster = cmd if "bin/postgres" in cmd else " ".join(p.parent().cmdline())  # type: ignore[union-attr]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, AttributeError):
            return False
        return f" -p {pg_port} " in f"{postmaster} "
    return f"{stack.rstrip('/')}/" in cmd


def component(p: psutil.Process, stack: str | None = None, pg_port: str = "5433") -> tuple[str, str] | None:
    """(component, process name) of a process of the stack, None for anything else. With `stack`, only the
    processes of that checkout's stack count (of_stack)."""
    try:
        cmd = " ".join(p.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    if stack is not None and not of_stack(p, cmd, stack, pg_port):
        return None
    if "-m services." in cmd:
        service = cmd.split("-m services.")[1].split()[0]
        return service, f"{service}[{p.pid}]"
    if "kafka.Kafka" in cmd:
        return "kafka", f"kafka[{p.pid}]"
    if cmd.startswith("postgres") or "bin/postgres" in cmd:
        return "postgres", "postgres"
    if "-m tools." in cmd and "tools.bench_resources" not in cmd:
        return "benchmark client", "client"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--after",
        default=None,
        help="count only from the first line of the command's stderr that contains this (its set-up's end: "
        "tools.bench_saga and tools.bench_settlements print 'setup of N families')",
    )
    parser.add_argument(
        "--until",
        default=None,
        help="count only up to the first output line that contains this (tools.bench_saga's result line comes "
        "before its monolith baseline runs)",
    )
    parser.add_argument(
        "--stack",
        default=None,
        help="count only the stack of this checkout (its services, Kafka and clients) and the PostgreSQL server on "
        "$PG_PORT (default 5433): for a machine that runs several stacks; unset: every stack's processes",
    )
    parser.add_argument("--per", type=int, default=0, help="also print milliseconds per operation, over this many")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the benchmark to run, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    pg_port = os.environ.get("PG_PORT", "5433")
    cpu: dict[int, tuple[str, float]] = {}
    first: dict[int, float] = {}
    rss: dict[str, int] = defaultdict(int)
    done = threading.Event()
    rebase = threading.Event()
    frozen = threading.Event()

    def sample() -> None:
        initial = True
        while True:
            for p in psutil.process_iter():
                found = component(p, args.stack, pg_port)
                if found is None:
                    continue
                try:
                    t = p.cpu_times()
                    used = t.user + t.system
                    memory = p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                first.setdefault(p.pid, used if initial else 0.0)  # a process started since: all of its CPU
                cpu[p.pid] = (found[0], used)
                if found[0] not in ("postgres", "benchmark client"):
                    rss[found[1]] = max(rss[found[1]], memory)
            initial = False
            if rebase.is_set():  # the measured part begins: what was used so far was the set-up's
                rebase.clear()
                first.clear()
                first.update({pid: used for pid, (_, used) in cpu.items()})
            if done.is_set() or frozen.is_set():  # the command ended, or the measured part: the last figures are in
                return
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    started_at = [0.0]
    started = time.monotonic()
    sampler.start()
    ended_at = [0.0]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def follow(stream: IO[str], echo: IO[str]) -> None:
        for line in stream:
            echo.write(line)
            echo.flush()
            if args.after and args.after in line and not started_at[0]:
                rebase.set()
                started_at[0] = time.monotonic()
            if args.until and args.until in line and not ended_at[0]:
                frozen.set()
                ended_at[0] = time.monotonic()
                sampler.join()  # its last pass is the measured part's end

    assert child.stdout is not None
    assert child.stderr is not None
    readers = [
        threading.Thread(target=follow, args=(child.stdout, sys.stdout)),
        threading.Thread(target=follow, args=(child.stderr, sys.stderr)),
    ]
    for r in readers:
        r.start()
    code = child.wait()
    for r in readers:
        r.join()
    done.set()
    sampler.join()
    wall = (ended_at[0] or time.monotonic()) - (started_at[0] or started)
    by_component: dict[str, float] = defaultdict(float)
    for pid, (name, used) in cpu.items():
        by_component[name] += used - first.get(pid, used)
    total = sum(by_component.values())
    print(f"resources over {wall:.1f} s: {total:.1f} CPU seconds ({total / wall:.2f} cores on average)")
    for name, used in sorted(by_component.items(), key=lambda kv: -kv[1]):
        per = f"  {used / args.per * 1000:7.2f} ms per operation" if args.per else ""
        print(f"  {name:<18} {used:6.1f} CPU s  {used / total * 100 if total else 0:5.1f}%{per}")
    if args.per:
        print(
            f"  {'total':<18} {total:6.1f} CPU s  {100.0 if total else 0:5.1f}%  "
            f"{total / args.per * 1000:7.2f} ms per operation"
        )
    print("  largest resident set: " + ", ".join(f"{n} {b / 2**20:.0f} MB" for n, b in sorted(rss.items())))
    return code


if __name__ == "__main__":
    sys.exit(main())
