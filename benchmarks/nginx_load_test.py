"""A class on several server processes: two app instances behind Debian's nginx, one shared store.

Not part of `python -m pytest` (it takes a few minutes and both cores). Run it from the
repository root, with Debian's nginx and Chromium and the dev requirements installed:

    python benchmarks/nginx_load_test.py                     # 30 students, 10 of them train
    python benchmarks/nginx_load_test.py --students 12 --json results.json

What it does, everything on 127.0.0.1 and inside a scratch folder it deletes afterwards:

 1. starts two `streamlit run app.py` instances on free ports, both with the same
    DIGITNET_DATA_DIR (one SQLite store);
 2. starts nginx (`nginx -p <scratch> -c <scratch>/nginx.conf`) with the repository's
    deploy/nginx.conf, only its ports changed;
 3. records, with one real Chromium tab through nginx, what the page sends for each action
    (ws_students.py), then empties the store (the recording trained a run);
 4. opens the teacher's board (/class) in a Chromium tab through nginx and reads its
    table every second;
 5. N "protocol students" (ws_students.py: each its own Streamlit session over the
    WebSocket) arrive through nginx a few at a time, as browsers do: a GET of the page
    first (nginx answers with its stickiness cookie), then the WebSocket with that cookie;
 6. every third presses Train at once (the notes' 784-10-10 network, full batch, --epochs);
    everyone draws --rounds digits; the time from sending a drawing to receiving the
    Prediction is the server's part of drawing -> prediction, through nginx;
 7. waits until every training ended and until the board shows every run finished;
 8. counts the sessions each instance served (nginx's access log names the instance of
    every WebSocket), and the errors: exceptions and time-outs of the students, tracebacks
    in the instances' logs, errors in nginx's log, console errors on the board.

Every client is on the loopback, so ip_hash (three octets) would send them all to one
instance: deploy/nginx.conf hashes a random cookie instead, and this test checks that
both instances served students.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_support import (  # noqa: E402
    APP,
    ROOT,
    StreamlitServer,
    free_port,
    launch,
    percentile,
)
from load_test import cpu_split, record_messages, watch_board, watch_errors  # noqa: E402
from ws_students import WsStudent  # noqa: E402

from digitnet.store import FILE_NAME, Store  # noqa: E402

CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TIMEOUT = 90  # seconds for any single wait


# ----------------------------------------------------------------------------- nginx


def nginx_conf(listen: int, upstreams: list[int]) -> str:
    """deploy/nginx.conf with its ports changed: nothing else."""
    text = CONF.read_text()
    text, n = re.subn(r"listen 8500;", f"listen 127.0.0.1:{listen};", text)
    servers = "\n".join(f"        server 127.0.0.1:{port};" for port in upstreams)
    text, m = re.subn(
        r"(?m)^        server 127\.0\.0\.1:850[12];\n(        server 127\.0\.0\.1:850[12];\n)*",
        servers + "\n",
        text,
    )
    if n != 1 or m != 1:
        raise RuntimeError(
            "deploy/nginx.conf no longer has the ports this test changes (listen 8500, servers 8501-8502)"
        )
    return text


class Nginx:
    """Debian's nginx on a scratch prefix, in the foreground of its own process group."""

    def __init__(self, scratch: Path, listen: int, upstreams: list[int]):
        self.prefix = scratch / "nginx"
        for sub in ("logs", "tmp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(nginx_conf(listen, upstreams))
        self.url = f"http://127.0.0.1:{listen}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Nginx:
        base = [
            NGINX,
            "-p",
            str(self.prefix),
            "-c",
            str(self.conf),
            "-e",
            str(self.prefix / "logs" / "error.log"),
        ]
        subprocess.run([*base, "-t", "-q"], check=True)
        self.proc = subprocess.Popen([*base, "-g", "daemon off;"], start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with code {self.proc.returncode}: {self.errors()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        return self
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("nginx did not pass /_stcore/health on within 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish the log lines
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def log(self, name: str) -> str:
        path = self.prefix / "logs" / name
        return path.read_text(errors="replace") if path.exists() else ""

    def errors(self) -> list[str]:
        return [
            line
            for line in self.log("error.log").splitlines()
            if re.search(r"\[(error|crit|alert|emerg)\]", line)
        ]


def sticky_cookie(url: str) -> str | None:
    """What a browser's first request gets from nginx: its stickiness cookie."""
    with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
        for header in r.headers.get_all("Set-Cookie") or []:
            m = re.match(r"(digitnet_lb=[^;]+)", header)
            if m:
                return m.group(1)
    return None


# ----------------------------------------------------------------------------- the run


async def run(args, proxy: Nginx, instances: list[StreamlitServer], rec, out: dict) -> None:
    from playwright.async_api import async_playwright

    students = [WsStudent(i, i % 3 == 0, proxy.url, rec) for i in range(args.students)]
    trainers = [s for s in students if s.trainer]
    async with async_playwright() as p:
        browser = await launch(p)
        board = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        console: list[str] = []
        watch_errors(board, console)
        await board.goto(f"{proxy.url}/class", timeout=TIMEOUT * 1000)
        await board.get_by_text("No runs yet").wait_for(timeout=TIMEOUT * 1000)
        seen: dict = {}
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_board(board, seen, stop))

        ready = []
        for i in range(0, len(students), args.open_batch):
            batch = students[i : i + args.open_batch]
            for s in batch:
                cookie = await asyncio.to_thread(sticky_cookie, proxy.url + "/")
                s.headers = {"Cookie": cookie} if cookie else None
            ready += await asyncio.gather(*(s.connect() for s in batch))
        say(f"{len(students)} students connected; {len(trainers)} press Train")
        await asyncio.sleep(1.0)

        t0, (own0, all0) = time.monotonic(), cpu_split()
        out["load_average_at_start"] = os.getloadavg()[0]
        await asyncio.gather(*(press_train(s, args.epochs) for s in trainers))
        waits = [asyncio.create_task(s.wait_trained(args.train_timeout)) for s in trainers]
        await asyncio.gather(*(s.rounds(args.rounds) for s in students))
        say(f"drawings done ({sum(len(s.latencies) for s in students)})")
        await asyncio.gather(*waits)
        t1, (own1, all1) = time.monotonic(), cpu_split()
        out["test_cpu_percent"] = 100 * (own1 - own0) / (t1 - t0)  # instances, trainings, Chromium, students
        out["other_programs_cpu_percent"] = max(0.0, 100 * ((all1 - all0) - (own1 - own0)) / (t1 - t0))
        say("trainings ended: " + "; ".join(sorted({str(s.outcome)[:40] for s in trainers})))
        for s in trainers:
            if not (s.outcome or "").startswith("Run 1: Trained"):
                say(f"student {s.number}: last said {s._texts[-2:]}")

        # The board must show every run, finished (it redraws a few times a second).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            last = seen.get("last", [])
            if len(last) >= len(trainers) and all(r[6] == "finished" for r in last):
                break
            await asyncio.sleep(0.5)
        stop.set()
        await watcher
        exceptions_on_board = await board.get_by_test_id("stException").count()
        for s in students:
            await s.close()
        await browser.close()

    latencies = [x for s in students for _, x in s.latencies]
    during = [x for s in students for wall, x in s.latencies if t0 <= wall <= t1]
    last = seen.get("last", [])

    def stats(v):
        return (
            {"n": len(v), "p50": statistics.median(v), "p95": percentile(v, 95), "max": max(v)} if v else None
        )

    out.update(
        {
            "students": len(students),
            "trainers": len(trainers),
            "epochs": args.epochs,
            "ready_s": stats(ready),
            "latency_s": stats(latencies),
            "latency_while_training_s": stats(during),
            "drawings_failed": sum(1 for s in students for f in s.failures if f.startswith("drawing")),
            "trainings_finished": sum(
                bool(s.outcome and s.outcome.startswith("Run 1: Trained")) for s in trainers
            ),
            "training_window_s": t1 - t0,
            "board_rows": len(last),
            "board_finished": sum(r[6] == "finished" for r in last),
            "board_students": len({r[0] for r in last}),
            "board_max_live_runs_seen": seen.get("max_live", 0),
            "board_console_errors": len(console),
            "board_console_error_samples": sorted(set(console))[:5],
            "board_exceptions": exceptions_on_board,
            "student_failures": [f for s in students for f in s.failures][:10],
            "student_exceptions": sum(s.exceptions for s in students),
        }
    )


async def press_train(s: WsStudent, epochs: int) -> None:
    """Press Train and watch the run start (progress, a place in the queue, or its end), as a
    person does before drawing again. A replayed Train that a drawing follows within
    milliseconds was sometimes lost (also with the app as it was before the board); once
    the run shows, the drawings follow."""
    for _ in range(3):
        await s.train(epochs)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if s.progress_seen or s.waited or s.outcome:
                return
            await asyncio.sleep(0.1)
        s.runs -= 1  # not started: press again
    s.failures.append("training: Train was pressed three times and no run started")


def say(text: str) -> None:
    print(time.strftime("%H:%M:%S"), text, flush=True)


def sessions_per_instance(proxy: Nginx, instances: list[StreamlitServer]) -> dict[str, int]:
    counts = {f"instance {i + 1} (:{s.port})": 0 for i, s in enumerate(instances)}
    ports = {str(s.port): f"instance {i + 1} (:{s.port})" for i, s in enumerate(instances)}
    for line in proxy.log("access.log").splitlines():
        if "GET /_stcore/stream" in line and "websockets" in line:  # the students, not the Chromium tabs
            port = line.rsplit(":", 1)[-1].strip()
            if port in ports:
                counts[ports[port]] += 1
    return counts


def report(r: dict) -> str:
    def lat(d):
        if not d:
            return "n/a"
        ms = {k: round(d[k] * 1000) for k in ("p50", "p95", "max")}
        return f"p50 {ms['p50']} ms, p95 {ms['p95']} ms, max {ms['max']} ms ({d['n']} drawings)"

    rows = [
        (
            "students (through nginx)",
            f"{r['students']}, {r['trainers']} of them train ({r['epochs']} epochs, 784-10-10, full batch)",
        ),
        ("students' sessions per instance", ", ".join(f"{k}: {v}" for k, v in r["sessions"].items())),
        ("ready after open", f"p50 {r['ready_s']['p50']:.2f} s, max {r['ready_s']['max']:.2f} s"),
        ("drawing sent -> Prediction received", lat(r["latency_s"])),
        ("... while trainings ran", lat(r["latency_while_training_s"])),
        (
            "trainings finished",
            f"{r['trainings_finished']} of {r['trainers']}, all within {r['training_window_s']:.1f} s",
        ),
        (
            "the board (/class, open throughout)",
            f"{r['board_rows']} runs of {r['board_students']} students listed, "
            f"{r['board_finished']} finished; "
            f"up to {r['board_max_live_runs_seen']} shown training at once",
        ),
        (
            "CPU while training (of 200 %)",
            f"this test in all {r['test_cpu_percent']:.0f} %, "
            f"other programs {r['other_programs_cpu_percent']:.0f} % "
            f"(load average at start {r['load_average_at_start']:.1f})",
        ),
        (
            "errors",
            f"{r['drawings_failed']} drawings failed, {r['student_exceptions']} exceptions, "
            f"{r['tracebacks']} tracebacks in the instances' logs, {len(r['nginx_errors'])} nginx errors, "
            f"{r['board_console_errors']} console errors and {r['board_exceptions']} exceptions on the board",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"| {k:<{width}} | {v} |" for k, v in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=30, help="students (default 30); every third trains")
    ap.add_argument("--epochs", type=int, default=30, help="epochs per training (default 30)")
    ap.add_argument("--rounds", type=int, default=5, help="drawings per student (default 5)")
    ap.add_argument("--open-batch", type=int, default=5, help="students arriving at once (default 5)")
    ap.add_argument(
        "--train-timeout", type=float, default=600, help="seconds for all trainings (default 600)"
    )
    ap.add_argument(
        "--keep", action="store_true", help="keep the scratch folder (logs, store) and print its path"
    )
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    signal.signal(
        signal.SIGTERM, lambda *_: sys.exit(143)
    )  # stopped from outside: still stop what it started

    scratch = Path(tempfile.mkdtemp(prefix="digitnet-nginx-"))
    env = {"DIGITNET_DATA_DIR": str(scratch / "data")}
    os.environ.pop("DIGITNET_TEACHER_CODE", None)  # the board open, without a code
    instances = [StreamlitServer(APP, env=env, log=scratch / f"instance{i + 1}.log") for i in range(2)]
    proxy = None
    result: dict = {}
    try:
        for s in instances:
            s.start()
        proxy = Nginx(scratch, free_port(), [s.port for s in instances]).start()
        print(
            f"nginx {proxy.url} -> instances on ports {', '.join(str(s.port) for s in instances)}", flush=True
        )
        rec = record_messages(proxy.url)
        say("recorded the page's messages through nginx")
        Store(scratch / "data" / FILE_NAME).clear()  # the recording's run is not the class's
        asyncio.run(run(args, proxy, instances, rec, result))
    finally:
        if proxy is not None:
            proxy.stop()
        for s in instances:
            s.stop()
    result["sessions"] = sessions_per_instance(proxy, instances) if proxy else {}
    # Before "Stopping...": a training cut short by the shutdown (the recording's) is no error.
    logs = [(scratch / f"instance{i + 1}.log").read_text(errors="replace") for i in range(2)]
    result["tracebacks"] = sum(log.split("Stopping...")[0].count("Traceback") for log in logs)
    result["nginx_errors"] = proxy.errors() if proxy else []
    print(report(result))
    problems = []
    if sum(v > 0 for v in result["sessions"].values()) < 2:
        problems.append("only one instance served students")
    if result["board_finished"] < result["trainers"]:
        problems.append("the board did not show every run finished")
    if result["trainings_finished"] < result["trainers"] or result["drawings_failed"] or result["tracebacks"]:
        problems.append("trainings or drawings failed")
    print("OK" if not problems else "PROBLEMS: " + "; ".join(problems))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    if args.keep:
        print(f"scratch folder kept: {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
