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


def test_pg_script_one_snapshot_list_then_copy_per_table():
    script = d.pg_script("tok", include=["t1", "shop.o'brien"], exclude=["skip"])
    lines = script.splitlines()
    begin = lines.index("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;")
    assert all(x + ";" in lines[:begin] for x in d.PG_SETTINGS)
    assert lines[begin + 1] == "SHOW server_version;"
    assert "\\echo '\\\\S4END-tok L'" in lines and lines[-2:] == ["\\gexec", "COMMIT;"]
    assert "ARRAY['t1', 'shop.o''brien']::text[]" in script and "AND NOT (c.relname = ANY(ARRAY['skip']" in script
    assert 'COLLATE "C"' in script and "(s4t.*)::text" in script
    assert d.pg_script("tok").count("ANY(") == 0


def test_marker_stream_captures_the_head_segment():
    s = d.MarkerStream(TOKEN, capture_first=True)
    data = b"17.2\n{\"name\": \"t\"}\n\\S4END-abc123 L\nrow1\n\\S4END-abc123 0\n"
    for i in range(len(data)):
        s.feed(data[i:i + 1])
    assert s.head == b"17.2\n{\"name\": \"t\"}\n"
    assert s.results == [(0, 1, hashlib.sha256(b"row1\n").hexdigest())]


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
