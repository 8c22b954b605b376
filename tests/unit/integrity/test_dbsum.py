"""s4_dbsum: stream splitting, query building, escaping (no database needed)."""

from __future__ import annotations

import hashlib

import pytest
from ansible_collections.smartt.s4.plugins.module_utils import s4_dbsum as d
from hypothesis import given, settings
from hypothesis import strategies as st

TOKEN = "abc123"


def stream_of(tables: list[list[bytes]], token: str = TOKEN) -> bytes:
    out = b""
    for i, rows in enumerate(tables):
        out += b"".join(r + b"\n" for r in rows)
        out += b"\\S4END-" + token.encode() + b" %d\n" % i
    return out


def expected(tables: list[list[bytes]]) -> list[tuple[int, int, str]]:
    return [(i, len(rows), hashlib.sha256(b"".join(r + b"\n" for r in rows)).hexdigest()) for i, rows in enumerate(tables)]


# COPY text rows: no raw newline, and a backslash in data is always doubled (so no line starts with "\S")
row = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"").replace(b"\\", b"\\\\"))


@settings(max_examples=150)
@given(st.lists(st.lists(row, max_size=6), min_size=1, max_size=5), st.integers(min_value=1, max_value=40))
def test_marker_stream_splits_at_any_chunk_boundary(tables, chunk):
    data = stream_of(tables)
    s = d.MarkerStream(TOKEN)
    for i in range(0, len(data), chunk):
        s.feed(data[i:i + chunk])
    assert s.results == expected(tables)
    assert s.leftover() == b""


def test_marker_lookalikes_inside_data_are_not_markers():
    tables = [[b"\\\\S4END-abc123 0", b"x\t\\\\S4END-abc123 7", b"S4END-abc123 1"], [b""]]
    s = d.MarkerStream(TOKEN)
    s.feed(stream_of(tables))
    assert s.results == expected(tables)


def test_mariadb_marker_rows():
    s = d.MarkerStream(TOKEN, prefix=b"S4END-", sep=b"\t")
    s.feed(b"1\ta\n2\tb\nS4END-abc123\t0\nS4END-abc123\t1\n")
    assert [r[:2] for r in s.results] == [(0, 2), (1, 0)]


def test_pg_query_orders_by_key_in_c_collation_and_flags_missing_key():
    t = {"schema": "public", "name": 'we"ird', "columns": [["id", False], ["slug", True], ["v", False]],
         "pk": ["slug", "id"]}
    q = d.pg_table_query(t)
    assert q == ('COPY (SELECT "id", "slug", "v" FROM "public"."we""ird" AS s4t ORDER BY "slug" COLLATE "C", "id")'
                 " TO STDOUT")
    q2 = d.pg_table_query(dict(t, pk=None))
    assert q2.endswith('ORDER BY (s4t.*)::text COLLATE "C") TO STDOUT')


def test_mariadb_query_null_map_and_binary_key_order():
    t = {"name": "wp`x", "columns": [("ID", "bigint", False), ("slug", "varchar", True), ("f", "double", True)],
         "pk": ["slug"], "engine": "InnoDB"}
    q = d.my_select_query("db", t)
    assert q == ("SELECT `ID`, `slug`, `f`, CONCAT(ISNULL(`slug`), ISNULL(`f`)) FROM `db`.`wp``x`"
                 " ORDER BY CAST(`slug` AS BINARY);")
    nokey = d.my_select_query("db", dict(t, pk=[]))
    assert nokey.endswith("ORDER BY `ID`, CAST(`slug` AS BINARY), `f`;")
    assert "MD5(CONCAT_WS(0x00, `ID`, CAST(`slug` AS BINARY), `f`" in d.my_table_query(0, "db", t)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("plain", "plain"), ("a\\tb", "a\tb"), ("l1\\nl2", "l1\nl2"), ("back\\\\slash", "back\\slash"), ("nul\\0", "nul\0")],
)
def test_unescape_batch(raw, value):
    assert d.unescape_batch(raw) == value


def test_db_checksum_is_order_independent_over_tables():
    a = [{"schema": "s", "name": "t1", "rows": 1, "checksum": "x"}, {"schema": "s", "name": "t2", "rows": 2, "checksum": "y"}]
    assert d.db_checksum_of(a) == d.db_checksum_of(list(reversed(a)))
    assert d.db_checksum_of(a) != d.db_checksum_of([a[0], dict(a[1], rows=3)])


def test_select_tables_include_exclude():
    ts = [{"schema": "public", "name": "a"}, {"schema": "app", "name": "a"}, {"schema": "public", "name": "b"}]
    assert d._select_tables(ts, ["app.a"], []) == [ts[1]]
    assert d._select_tables(ts, [], ["a"]) == [ts[2]]


def test_unknown_engine():
    with pytest.raises(d.DbSumError, match="unknown engine"):
        d.checksum({"engine": "oracle"})
