import threading

import pytest

from ignite_etl.store import migrations
from ignite_etl.store.database import connect


def _tables(url: str) -> set[str]:
    with connect(url) as conn:
        return {r["tablename"] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")}


def test_upgrade_applies_every_migration_once(make_database):
    url = make_database()
    first = migrations.upgrade(url)
    second = migrations.upgrade(url)
    assert [m.version for m in first] == [m.version for m in migrations.discover()]
    assert second == []
    assert {"schema_migration", "connection", "connection_request"} <= _tables(url)
    assert migrations.current_version(url) == migrations.discover()[-1].version


def test_two_runners_at_once_apply_each_migration_exactly_once(make_database):
    url = make_database()
    results, errors = [], []

    def run():
        try:
            results.append(migrations.upgrade(url))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    applied = [m.version for batch in results for m in batch]
    assert sorted(applied) == [m.version for m in migrations.discover()]
    with connect(url) as conn:
        rows = conn.execute("select version, count(*) as n from schema_migration group by version").fetchall()
    assert all(r["n"] == 1 for r in rows)


def test_changed_migration_is_refused(make_database, tmp_path):
    url = make_database()
    (tmp_path / "0001_first.sql").write_text("create table a (id int);")
    migrations.upgrade(url, tmp_path)
    (tmp_path / "0001_first.sql").write_text("create table a (id bigint);")
    with pytest.raises(migrations.MigrationError, match="changed after it was applied"):
        migrations.upgrade(url, tmp_path)


def test_failed_migration_leaves_no_partial_change(make_database, tmp_path):
    url = make_database()
    (tmp_path / "0001_good.sql").write_text("create table good (id int);")
    (tmp_path / "0002_bad.sql").write_text("create table half (id int); select * from no_such_table;")
    with pytest.raises(Exception):
        migrations.upgrade(url, tmp_path)
    assert "good" in _tables(url)
    assert "half" not in _tables(url)
    assert migrations.current_version(url) == 1


def test_badly_named_migration_is_refused(tmp_path):
    (tmp_path / "first.sql").write_text("select 1;")
    with pytest.raises(migrations.MigrationError, match="NNNN_name.sql"):
        migrations.discover(tmp_path)
