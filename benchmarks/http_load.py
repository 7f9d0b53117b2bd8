"""A real ``briefqa serve`` in a subprocess on a free loopback port, and the load put on it."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def briefqa_command() -> list[str]:
    """The ``briefqa`` console script beside this interpreter (the venv's), else ``-m briefqa.cli``."""
    script = Path(sys.executable).with_name("briefqa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "briefqa.cli"]


class Server:
    """``briefqa serve`` on ``corpus`` and ``index``; ``started`` is when the process was spawned and
    ``first_answer`` the seconds until its first successful ``/api/search``."""

    def __init__(
        self, corpus: Path, index: Path, log: Path, env: dict[str, str] | None = None, args: Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        self.corpus, self.index, self.log_path = corpus, index, log
        self.extra_env = env or {}
        self.args = list(args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.first_answer = float("nan")

    def __enter__(self) -> Server:
        env = {**os.environ, "BRIEFQA_CORPUS": str(self.corpus), "BRIEFQA_INDEX": str(self.index), **self.extra_env}
        env.pop("BRIEFQA_ADMIN_TOKEN", None)
        self._log = open(self.log_path, "ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*briefqa_command(), "serve", "--host", HOST, "--port", str(self.port), *self.args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = started + 600
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"briefqa serve exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _ = get(self.port, "/api/search?q=" + urllib.parse.quote("space alliance") + "&k=1", timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"briefqa serve did not answer within 600 s; see {self.log_path}")
            time.sleep(0.02)
        self.first_answer = time.perf_counter() - started
        return self

    def rss_mb(self) -> float:
        import psutil

        assert self.proc is not None
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def pss_mb(self) -> float:
        """Proportional set size of the server and its workers: pages they share (the index's
        mapped files, the interpreter) are counted once across them, not once a process."""
        import psutil

        assert self.proc is not None
        top = psutil.Process(self.proc.pid)
        return sum(p.memory_full_info().pss for p in (top, *top.children(recursive=True))) / 2**20

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def get(port: int, path: str, timeout: float = 60) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class Client:
    """One keep-alive connection asking ``/api/search`` (what a browser tab or script holds)."""

    def __init__(self, port: int, k: int = 5) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=120)
        self.k = k

    def search(self, question: str, parse: bool = True) -> dict | None:
        """The SearchResponse for ``question`` (``parse=False``: read it whole but leave it unparsed,
        so a load test spends less of the shared cores on the client)."""
        path = f"/api/search?q={urllib.parse.quote(question)}&k={self.k}"
        try:
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # uvicorn closes a connection idle for 5 s; open a new one as a browser would.
            self.conn.close()
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"/api/search answered {resp.status}: {body[:200]!r}")
        return json.loads(body) if parse else None

    def close(self) -> None:
        self.conn.close()


def throughput(port: int, questions: Sequence[str], concurrency: int) -> dict[str, float]:
    """Requests per second with ``concurrency`` clients each asking its share of ``questions``
    back to back (closed loop); every question is distinct, so none is a cache hit."""
    shares = [list(questions[i::concurrency]) for i in range(concurrency)]
    clients = [Client(port) for _ in range(concurrency)]
    for c in clients:  # connect before the clock starts
        c.conn.connect()
    barrier = threading.Barrier(concurrency + 1)
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(client: Client, share: list[str]) -> None:
        barrier.wait()
        mine = []
        try:
            for q in share:
                t = time.perf_counter()
                client.search(q, parse=False)
                mine.append(time.perf_counter() - t)
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(c, s)) for c, s in zip(clients, shares, strict=True)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    for c in clients:
        c.close()
    if errors:
        raise RuntimeError(f"throughput run failed: {errors[0]!r}")
    from .timing import Dist

    d = Dist.of(latencies)
    return {"rps": len(latencies) / wall, "p50": d.p50, "p95": d.p95, "n": len(latencies)}
