"""Faults at the ingress: `ignite-etl ingress` killed while receiving webhooks, duplicate, replayed and
out-of-order deliveries, and a full disk (Postgres refusing inserts). A delivery is acknowledged by a 2xx;
the sender retries the others, as Marketplacer does. Measured in the change queue: every acknowledged
delivery queued, each event exactly once."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from ignite_etl.bench.ingress import HOST, _wait_healthy, free_port
from ignite_etl.faults.harness import FaultStack, Outcome
from ignite_etl.platforms.marketplacer.webhooks import new_hmac_key, signature
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import save_webhook_registration
from ignite_etl.store.database import connect

MAX_ROUNDS = 6
CONCURRENCY = 32


@dataclass(frozen=True)
class Delivery:
    event_id: str
    body: bytes
    headers: dict[str, str]


class Ingress:
    """`ignite-etl ingress` in its own process, restartable on the same port."""

    def __init__(self, stack: FaultStack, env: dict[str, str] | None = None):
        self.stack = stack
        self.port = free_port()
        self.env = env or {**stack.bench.worker_env(), "IGNITE_INGRESS_TOKEN": uuid.uuid4().hex}
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        log_path = self.stack.bench.workdir / f"ingress-{self.port}.log"
        output = open(log_path, "ab")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen([sys.executable, "-m", "ignite_etl.cli", "ingress", "--host", HOST, "--port",
                                      str(self.port)], env=self.env, stdout=output, stderr=subprocess.STDOUT,
                                     cwd=self.stack.bench.workdir)
        _wait_healthy(self.proc, self.port, log_path)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@contextlib.contextmanager
def webhook_connection(stack: FaultStack, name: str) -> Iterator[tuple[str, str, Ingress]]:
    """A connection whose Marketplacer webhooks are signed with a key we hold, and an ingress serving it."""
    site = stack.site(name)
    key = new_hmac_key()
    path = f"/webhooks/marketplacer/{site.connection_id}"
    with connect(stack.bench.app_url) as conn:
        save_webhook_registration(conn, CredentialCipher(stack.bench.secret_key), site.connection_id, url=path,
                                  key=key, state={})
    ingress = Ingress(stack)
    ingress.start()
    try:
        yield site.connection_id, key, ingress
    finally:
        ingress.stop()


def deliveries(key: str, count: int, tag: str) -> list[Delivery]:
    out = []
    for n in range(count):
        node_id = base64.b64encode(f"Advert-{n}".encode()).decode()
        event_id = f"evt-{tag}-{n}"
        body = json.dumps({"id": event_id, "event_name": "update",
                           "payload": {"data": {"node": {"__typename": "Advert", "id": node_id}}}}).encode()
        out.append(Delivery(event_id, body, {"Content-Type": "application/json",
                                             "Marketplacer-Hmac-256": signature(body, key),
                                             "Marketplacer-Sequence": str(n + 1), "Idempotency-Key": f"{tag}:{n}"}))
    return out


async def _send(url: str, batch: list[Delivery], on_ack: Callable[[int], None] | None = None) -> dict[int, int | None]:
    """Each delivery's answer (None when the connection failed), `CONCURRENCY` at a time."""
    answers: dict[int, int | None] = {}
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int, delivery: Delivery, client: httpx.AsyncClient) -> None:
        async with slots:
            try:
                response = await client.post(url, content=delivery.body, headers=delivery.headers)
                answers[index] = response.status_code
                if on_ack is not None and 200 <= response.status_code < 300:
                    on_ack(len([s for s in answers.values() if s is not None and 200 <= s < 300]))
            except httpx.HTTPError:
                answers[index] = None

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        await asyncio.gather(*(one(i, d, client) for i, d in enumerate(batch)))
    return answers


def deliver_until_acknowledged(url: str, batch: list[Delivery], *, first_round_ack: Callable[[int], None] | None = None,
                               between_rounds: Callable[[int], None] | None = None) -> tuple[set[str], int]:
    """Send, then resend what was not acknowledged, as a webhook sender does; (acknowledged ids, rounds)."""
    acknowledged: set[str] = set()
    todo = list(batch)
    rounds = 0
    while todo and rounds < MAX_ROUNDS:
        rounds += 1
        answers = asyncio.run(_send(url, todo, first_round_ack if rounds == 1 else None))
        acknowledged |= {todo[i].event_id for i, status in answers.items() if status is not None and 200 <= status < 300}
        todo = [d for d in todo if d.event_id not in acknowledged]
        if todo and between_rounds is not None:
            between_rounds(rounds)
    return acknowledged, rounds


def queued(stack: FaultStack, connection_id: str) -> dict[str, int]:
    with connect(stack.bench.app_url) as conn:
        rows = conn.execute("select idempotency_key, count(*) as n from change_queue where connection_id = %s "
                            "group by idempotency_key", (connection_id,))
        return {r["idempotency_key"]: r["n"] for r in rows}


def _outcome(stack: FaultStack, scenario: str, injected: str, connection_id: str, sent: list[Delivery],
             acknowledged: set[str], started: float, note: str) -> Outcome:
    rows = queued(stack, connection_id)
    expected = {d.event_id for d in sent}
    lost = len([e for e in acknowledged if e not in rows])
    duplicated = sum(n - 1 for n in rows.values()) + len(set(rows) - expected)
    converged = set(rows) == expected and acknowledged == expected and duplicated == 0
    return Outcome(scenario, injected, converged, lost, duplicated, round(time.monotonic() - started, 1), note)


def ingress_killed(stack: FaultStack, count: int) -> Outcome:
    with webhook_connection(stack, "ingress-kill") as (connection_id, key, ingress):
        sent = deliveries(key, count, uuid.uuid4().hex[:6])
        url = f"{ingress.url}/webhooks/marketplacer/{connection_id}"
        killed_at: list[float] = []

        def kill_halfway(acked: int) -> None:
            if acked >= count // 2 and not killed_at:
                killed_at.append(time.monotonic())
                ingress.kill()

        acknowledged, rounds = deliver_until_acknowledged(url, sent, first_round_ack=kill_halfway,
                                                          between_rounds=lambda _: ingress.start()
                                                          if ingress.proc and ingress.proc.poll() is not None else None)
        return _outcome(stack, "ingress killed under load", f"SIGKILL to the ingress after {count // 2:,} of {count:,} "
                        "signed webhooks were acknowledged", connection_id, sent, acknowledged,
                        killed_at[0] if killed_at else time.monotonic(), f"the sender needed {rounds} round(s)")


def duplicates_replays_out_of_order(stack: FaultStack, count: int) -> Outcome:
    with webhook_connection(stack, "ingress-dup") as (connection_id, key, ingress):
        sent = deliveries(key, count, uuid.uuid4().hex[:6])
        replays = [Delivery(d.event_id, d.body, {**d.headers, "Idempotency-Key": f"replay-{n}",
                                                 "Marketplacer-Sequence": str(10**6 + n)})
                   for n, d in enumerate(sent)]
        every = sent + list(sent) + replays
        random.Random(7).shuffle(every)
        started = time.monotonic()
        url = f"{ingress.url}/webhooks/marketplacer/{connection_id}"
        acknowledged, _ = deliver_until_acknowledged(url, every)
        return _outcome(stack, "duplicate, replayed, out of order", f"{count:,} events each sent twice and replayed "
                        "once under new headers, shuffled", connection_id, sent, acknowledged, started, "")


def disk_full(stack: FaultStack, count: int, seconds: float = 2.0) -> Outcome:
    with webhook_connection(stack, "disk-full") as (connection_id, key, ingress):
        with connect(stack.bench.app_url) as conn:
            conn.execute("""
                create or replace function pretend_disk_full() returns trigger language plpgsql as $$
                begin raise exception 'could not extend file: No space left on device' using errcode = '53100'; end $$;
                create trigger pretend_disk_full before insert on change_queue
                    for each statement execute function pretend_disk_full();
            """)
        sent = deliveries(key, count, uuid.uuid4().hex[:6])
        url = f"{ingress.url}/webhooks/marketplacer/{connection_id}"
        refused = asyncio.run(_send(url, sent))
        statuses = sorted({s for s in refused.values() if s is not None})

        def disk_freed(_round: int) -> None:
            time.sleep(seconds)
            with connect(stack.bench.app_url) as conn:
                conn.execute("drop trigger if exists pretend_disk_full on change_queue")

        started = time.monotonic()
        disk_freed(0)
        acknowledged, rounds = deliver_until_acknowledged(url, sent)
        return _outcome(stack, "disk full", f"Postgres refused every insert (SQLSTATE 53100) for {seconds:.0f} s",
                        connection_id, sent, acknowledged, started,
                        f"answers while full: {statuses}; resent in {rounds} round(s)")


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def hostile_clients(stack: FaultStack, *, big: int = 6, slow: int = 50, header_mib: int = 32) -> Outcome:
    """Unauthenticated connections sending huge headers, and others sending headers a byte at a time and then
    nothing: the ingress must stay healthy, its memory flat, and close the slow ones itself."""
    import socket
    import threading

    with webhook_connection(stack, "hostile") as (_connection_id, _key, ingress):
        assert ingress.proc is not None
        pid, port = ingress.proc.pid, ingress.port
        before = peak = _rss_mib(pid)
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.wait(0.05):
                peak = max(peak, _rss_mib(pid))

        def huge_header() -> None:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
                chunk = b"a" * 65536
                for _ in range(header_mib * 16):
                    sock.sendall(chunk)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        slow_sockets = [socket.create_connection((HOST, port), timeout=30) for _ in range(slow)]
        for sock in slow_sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the end of the headers
        senders = [threading.Thread(target=huge_header) for _ in range(big)]
        for sender in senders:
            sender.start()
        healthy = httpx.get(f"{ingress.url}/healthz", timeout=10).status_code == 200
        for sender in senders:
            sender.join(timeout=60)
        closed = 0
        for sock in slow_sockets:
            with contextlib.suppress(OSError):
                closed += sock.recv(1) == b""
            sock.close()
        recovered = time.monotonic() - started
        healthy = healthy and httpx.get(f"{ingress.url}/healthz", timeout=10).status_code == 200
        stop.set()
        sampler.join()
    grew = peak - before
    return Outcome("hostile clients", f"{big} connections sending {header_mib} MiB headers and {slow} sending headers "
                   "that never end", healthy and grew < 64 and closed == slow, 0, 0, round(recovered, 1),
                   f"ingress RSS {before:.0f} -> peak {peak:.0f} MiB; {closed}/{slow} slow connections closed by the "
                   "ingress; /healthz answered throughout" if healthy else "the ingress stopped answering /healthz")


def two_ingresses_same_deliveries(stack: FaultStack, count: int) -> Outcome:
    """Two `ignite-etl ingress` processes (as behind a load balancer) each receive every delivery at the
    same moment: each event must be queued exactly once, and every delivery acknowledged by both."""
    with webhook_connection(stack, "two-ingresses") as (connection_id, key, first):
        second = Ingress(stack, first.env)  # the same token and database, another port
        second.start()
        try:
            sent = deliveries(key, count, uuid.uuid4().hex[:6])
            path = f"/webhooks/marketplacer/{connection_id}"
            started = time.monotonic()

            async def both() -> list[dict[int, int | None]]:
                return list(await asyncio.gather(_send(first.url + path, sent), _send(second.url + path, sent)))

            answers = asyncio.run(both())
        finally:
            second.stop()
    acknowledged = {sent[i].event_id for i in range(count)
                    if all(a.get(i) is not None and 200 <= (a.get(i) or 0) < 300 for a in answers)}
    queued_by = [sum(1 for s in a.values() if s == 202) for a in answers]
    return _outcome(stack, "two ingresses, same deliveries", f"{count:,} signed webhooks each sent to two ingress "
                    "processes at once", connection_id, sent, acknowledged, started,
                    f"queued by the first {queued_by[0]:,}, by the second {queued_by[1]:,}; the other answered 200")
