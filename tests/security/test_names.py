"""s4.names: the strict patterns every untrusted name passes before use (issue #13, findings 2 and 3)."""

from __future__ import annotations

import pytest

from s4 import names

HOSTILE_NAMES = [
    "../../../../../.lab/ssh/id_ed25519",
    "a/b",
    "x`id`",
    "x$(id)",
    "x'; DROP DATABASE y; --",
    'x"y',
    "host=evil.example",
    "-oProxyCommand=id",
    "a b",
    "a\nb",
    "",
    "é",
]


@pytest.mark.parametrize("value", HOSTILE_NAMES)
def test_hostile_database_name_is_refused(value: str) -> None:
    with pytest.raises(names.UnsafeName):
        names.check_db_name(value)


@pytest.mark.parametrize("value", HOSTILE_NAMES)
def test_hostile_account_name_is_refused(value: str) -> None:
    with pytest.raises(names.UnsafeName):
        names.check_db_account(value)


@pytest.mark.parametrize("value", ["acme_wp", "cpuser_wp12", "acme-shop", "db$1", "Shop2"])
def test_real_database_names_pass(value: str) -> None:
    assert names.check_db_name(value) == value


@pytest.mark.parametrize("value", [
    "/srv/www/x;}", "/srv/www/../../etc", "/srv/www/x y", "relative/path", "/srv//www", "/srv/www/", "/srv/$x",
    "/srv/`id`", "/srv/x\n", "/srv/*", "/srv/'x'",
])
def test_docroot_that_breaks_a_config_line_is_refused(value: str) -> None:
    with pytest.raises(names.UnsafeName):
        names.check_abs_path(value, "docroot")


@pytest.mark.parametrize("value", ["/srv/www/acme-blog", "/usr/share/wordpress", "/home/u1/public_html", "/srv/.well"])
def test_real_docroots_pass(value: str) -> None:
    assert names.check_abs_path(value) == value


@pytest.mark.parametrize("value", ["ops@acme.example\r\nBcc: all@evil.example", "Ops <ops@acme.example>", "x y@z.example"])
def test_contact_that_injects_mail_headers_is_refused(value: str) -> None:
    with pytest.raises(names.UnsafeName):
        names.check_email(value)


def test_file_key_of_a_traversal_name_stays_one_plain_component() -> None:
    key = names.file_key("../../../../../.lab/ssh/id_ed25519")
    assert "/" not in key and not key.startswith(".") and ".." not in key


def test_file_key_keeps_names_that_slug_alike_apart() -> None:
    assert names.file_key("a.b") != names.file_key("a_b") != names.file_key("A_B")


def test_postgres_conninfo_cannot_add_parameters() -> None:
    with pytest.raises(names.UnsafeName):
        names.pg_conninfo_dbname("x host=evil.example")
    assert names.pg_conninfo_dbname("acme_crm") == "dbname='acme_crm'"


def test_sql_identifiers_are_quoted() -> None:
    assert names.sql_ident_mariadb("acme_wp") == "`acme_wp`"
    assert names.sql_ident_postgres("acme-crm") == '"acme-crm"'
    with pytest.raises(names.UnsafeName):
        names.sql_ident_mariadb("x`; DROP DATABASE y; --")
