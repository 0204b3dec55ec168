"""Applies the numbered SQL files in `sql/` in order, once each, under an advisory lock.

Each migration runs in its own transaction together with the row that records it, so a crash
leaves the database at a clean version. Two processes starting at once serialise on the lock and
the second finds nothing left to do. An applied file whose text changed is refused: migrations are
append-only.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ignite_etl.errors import ConfigurationError
from ignite_etl.store.database import connect, one

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_LOCK_KEY = 0x1617_E7C0  # pg_advisory_lock key reserved for migrations
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class MigrationError(ConfigurationError):
    pass


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        migrations.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in migrations]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"two migrations in {sql_dir} share a number")
    return migrations


def upgrade(url: str, sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Bring the database at `url` up to the newest migration; return the ones applied now."""
    migrations = discover(sql_dir)
    applied_now: list[Migration] = []
    with connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                """
                create table if not exists schema_migration (
                    version    integer primary key,
                    name       text not null,
                    checksum   text not null,
                    applied_at timestamptz not null default now()
                )
                """
            )
            done = {
                row["version"]: row["checksum"]
                for row in conn.execute("select version, checksum from schema_migration")
            }
            for migration in migrations:
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.path.name} was changed after it was applied; "
                            "add a new numbered migration instead"
                        )
                    continue
                log.info("applying migration %s", migration.path.name)
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "insert into schema_migration (version, name, checksum) values (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                applied_now.append(migration)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


def current_version(url: str) -> int:
    with connect(url, autocommit=True) as conn:
        if one(conn.execute("select to_regclass('schema_migration') as t").fetchone())["t"] is None:
            return 0
        return one(conn.execute("select coalesce(max(version), 0) as v from schema_migration").fetchone())["v"]
