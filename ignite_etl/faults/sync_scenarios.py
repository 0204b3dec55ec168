"""Faults during a full sync: the run worker killed in each step, SparkLayer down, a 429 storm, tokens
revoked, the platform answering 503 with `Retry-After: 0`, Postgres restarted. Each on a fresh site;
recovery is what the deployment does next (Dagster's run retry, or the next sync), then measured."""

from __future__ import annotations

import time

from ignite_etl.faults.harness import FaultStack, Outcome


def _recover(stack: FaultStack, site, scenario: str, injected: str, *, attempts: int = 3, note: str = "",
             fault_ended: float | None = None) -> Outcome:
    """Sync again (as the run retry or the next reconcile does) until a sync succeeds, then measure from
    `fault_ended` (default: now)."""
    started = time.monotonic() if fault_ended is None else fault_ended
    for _ in range(attempts):
        if stack.full_sync(site).succeeded:
            break
    return stack.measure(scenario, injected, site, started, note)


def worker_killed(stack: FaultStack, step: str) -> Outcome:
    site = stack.site("killed")
    attempt = stack.full_sync(site, at_step=step)
    note = "" if attempt.killed_in else "the step ended before the kill"
    return _recover(stack, site, f"worker killed in {step}", f"SIGKILL to the run worker during {step}", note=note)


def sparklayer_down(stack: FaultStack, seconds: float) -> Outcome:
    """SparkLayer answers 503 from the start of a sync for `seconds`; time to recover runs from the end of
    the outage to a converged site."""
    site = stack.site("sl-down")
    scenario, injected = "SparkLayer down", f"every SparkLayer call answered 503 for {seconds:.0f} s from the sync's start"
    stack.sparklayer.start_outage(seconds)
    outage_ends = time.monotonic() + seconds
    during = stack.full_sync(site)
    if during.succeeded:  # its retries outlasted the outage
        return stack.measure(scenario, injected, site, outage_ends, "the sync rode the outage out (its own retries)")
    time.sleep(max(0.0, outage_ends - time.monotonic()))  # the next attempt, as a run retry would, after it
    return _recover(stack, site, scenario, injected, fault_ended=outage_ends,
                    note="the sync during the outage failed; the next one converged")


def sparklayer_429_storm(stack: FaultStack) -> Outcome:
    site = stack.site("sl-429")
    stack.sparklayer.set_rate_limit(5, 1.0)  # 5 requests a second: every burst meets 429s
    try:
        started = time.monotonic()
        attempt = stack.full_sync(site)
    finally:
        stack.sparklayer.set_rate_limit(None)
    outcome = stack.measure("SparkLayer 429 storm", "SparkLayer allowed 5 requests a second for the whole sync",
                            site, started)
    if not attempt.succeeded:
        outcome.converged, outcome.note = False, "the sync did not finish under the rate limit"
    return outcome


def sparklayer_tokens_revoked(stack: FaultStack) -> Outcome:
    site = stack.site("sl-token")
    revoked = []
    with stack.background(lambda: revoked.append(stack.sparklayer.revoke_tokens())):
        started = time.monotonic()
        attempt = stack.full_sync(site)
    outcome = stack.measure("token revoked mid-sync", "every SparkLayer access token revoked every 0.3 s",
                            site, started, note=f"{sum(revoked)} token(s) revoked")
    if not attempt.succeeded:
        outcome = _recover(stack, site, outcome.scenario, outcome.injected, note=outcome.note + "; a retry was needed")
    return outcome


def platform_retry_after_zero(stack: FaultStack, failures: int) -> Outcome:
    site = stack.site("mp-503")
    stack.marketplacer.fail_next(failures, 503, retry_after="0")
    started = time.monotonic()
    attempt = stack.full_sync(site)
    note = f"{stack.marketplacer.failed_requests} request(s) refused; the sync " + (
        "rode them out" if attempt.succeeded else "gave up and was retried")
    stack.marketplacer.fail_next(0)
    if attempt.succeeded:
        return stack.measure("platform 503, Retry-After: 0", f"{failures} Marketplacer answers of 503 with "
                             "Retry-After: 0", site, started, note)
    return _recover(stack, site, "platform 503, Retry-After: 0",
                    f"{failures} Marketplacer answers of 503 with Retry-After: 0", note=note)


def postgres_restarted(stack: FaultStack, step: str) -> Outcome:
    scenario = "Postgres restarted mid-sync"
    if stack.restart_postgres is None:
        return Outcome(scenario, "not run: the suite does not own this Postgres server", False, 0, 0, None,
                       "leave IGNITE_DATABASE_URL unset to run it on the embedded server")
    restart = stack.restart_postgres
    site = stack.site("pg-restart")
    attempt = stack.full_sync(site, at_step=step, act=lambda proc: restart())
    note = "" if attempt.killed_in else "the step ended before the restart"
    return _recover(stack, site, scenario, f"the server of the app and Dagster databases restarted during {step}",
                    note=note)


def partial_sync_killed(stack: FaultStack, changes: int) -> Outcome:
    """Price changes queued as webhooks would queue them, the partial sync's worker killed after its first
    write; the next partial sync must finish the job."""
    import base64

    from ignite_etl.store import change_queue
    from ignite_etl.store.database import connect

    site = stack.site("partial")
    if not stack.full_sync(site).succeeded:
        raise RuntimeError("the partial scenario's first full sync failed")
    catalogue = stack.marketplacer.catalogue
    variants = [v for v in catalogue.variants.values() if v.sku and not v.deleted and _price(v.price) is not None
                and catalogue.adverts[v.advert_id].state == "online"][:changes]
    with connect(stack.bench.app_url) as conn:
        for n, variant in enumerate(variants):
            stack.marketplacer.set_price(variant.legacy_id, f"{(_price(variant.price) or 0) + 1:.2f}")
            node_id = base64.b64encode(f"Variant-{variant.legacy_id}".encode()).decode()
            change_queue.enqueue(conn, change_queue.QueuedChange(site.connection_id, "variant", node_id, "update",
                                                                 f"fault-{site.site_id}-{n}"))
    stack.forget_reference()  # the store changed: compare with a fresh full sync of it, made now
    stack.reference()
    stack.sparklayer.set_faults(latency_seconds=0.2)  # so the worker is surely still writing when it is killed
    try:
        killed = stack.partial_sync(site, kill_after_writes=1)
    finally:
        stack.sparklayer.set_faults(latency_seconds=stack.bench.latency_ms / 1000)
    started = time.monotonic()
    for _ in range(3):
        if stack.partial_sync(site).succeeded:
            break
    note = "" if killed.killed_in else "the partial sync ended before the kill"
    return stack.measure("worker killed mid partial sync", f"SIGKILL to the partial sync's worker after its first "
                         f"write, {len(variants)} price changes queued", site, started, note)


def _price(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
