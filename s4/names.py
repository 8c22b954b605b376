"""Strict patterns for every name that crosses a trust boundary (docs/SECURITY.md).

One owner for the question "is this name safe to use?": the CMDB schema (:mod:`s4.cmdb`), the POC plan
(:mod:`s4.poc.plan`), the POC's role inputs (:mod:`s4.poc.stack`) and the application helpers (:mod:`s4.poc.apps`)
validate what they read from a managed host or from the CMDB here, before any use. A name that passes is still
quoted at every use (argv lists, ``shlex.quote``, SQL identifier quoting); passing only means it cannot be a path
traversal, an option (leading ``-``), a shell or SQL metacharacter, a conninfo string (``=``) or a control character.

Controller-side and pure Python; target-side code (stdlib only, ``s4_plugins/module_utils``) keeps its own checks.

Every ``check_*`` function returns the value unchanged or raises :class:`UnsafeName` whose message names what was
checked, the offending value (``repr``, so control characters show) and the rule.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

# MariaDB/MySQL database and PostgreSQL database names: what hosting panels create (cpuser_wp12, acme-shop).
# No leading '-' (option injection), no '.', '/', quotes, backticks, '=', spaces or control characters.
DB_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_$-]{0,63}$")
# MariaDB account user part (max 80 characters since 10.x) and PostgreSQL role names.
DB_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,79}$")
# The host part of a MariaDB account: localhost, %, 10.0.0.%, ::1, db.example.
DB_ACCOUNT_HOST_RE = re.compile(r"^[A-Za-z0-9_.%:-]{1,255}$")
# Sites, clients, hosts (as the CMDB allows them).
SITE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CLIENT_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
# A wildcard server alias (*.shop.example) on top of DOMAIN_RE.
ALIAS_RE = re.compile(r"^(\*\.)?(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
                      r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# One component of an absolute path a config file or a shell line may hold unquoted-safe characters only.
PATH_COMPONENT_RE = re.compile(r"^[A-Za-z0-9_@+][A-Za-z0-9._@+-]{0,254}$|^\.[A-Za-z0-9_@+-][A-Za-z0-9._@+-]{0,253}$")
# An e-mail address as the CMDB holds contacts (no spaces, no CR/LF: they end up in mail headers).
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
# Application identifiers (CMDB site.app): wordpress, roundcube, laravel, custom-php.
APP_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")

MAX_PATH = 4096


class UnsafeName(ValueError):
    """A name read from a managed host or from the CMDB does not match its strict pattern."""


def _check(value: Any, rx: re.Pattern[str], what: str, rule: str) -> str:
    if not isinstance(value, str) or not rx.fullmatch(value):
        raise UnsafeName(f"{what} {value!r} is refused: {rule}")
    return value


def check_db_name(value: Any, what: str = "database name") -> str:
    return _check(value, DB_NAME_RE, what,
                  "1-64 letters, digits, '_', '$' or '-', not starting with '-' (no '.', '/', quotes, '=', spaces)")


def check_db_account(value: Any, what: str = "database account") -> str:
    return _check(value, DB_ACCOUNT_RE, what,
                  "1-80 letters, digits, '_', '.', '$' or '-', not starting with '-' or '.' (no '/', quotes, spaces)")


def check_db_account_host(value: Any, what: str = "database account host") -> str:
    return _check(value, DB_ACCOUNT_HOST_RE, what, "letters, digits, '.', '_', '%', ':' or '-' only")


def check_site_name(value: Any, what: str = "site name") -> str:
    return _check(value, SITE_NAME_RE, what, "letters, digits, '.', '_' or '-', starting with a letter or digit")


def check_client_id(value: Any, what: str = "client id") -> str:
    return _check(value, CLIENT_ID_RE, what, "lower-case letters, digits, '_' or '-', starting with a letter")


def check_host_name(value: Any, what: str = "host name") -> str:
    return _check(value, HOST_NAME_RE, what, "letters, digits, '.', '_' or '-', starting with a letter or digit")


def check_domain(value: Any, what: str = "domain") -> str:
    return _check(value, DOMAIN_RE, what, "a DNS name (labels of letters, digits and '-')")


def check_alias(value: Any, what: str = "alias") -> str:
    return _check(value, ALIAS_RE, what, "a DNS name, optionally starting with '*.'")


def check_email(value: Any, what: str = "e-mail address") -> str:
    return _check(value, EMAIL_RE, what, "a plain address local@domain (no spaces, no line breaks, no display name)")


def check_app(value: Any, what: str = "application") -> str:
    return _check(value, APP_RE, what, "lower-case letters, digits, '_' or '-', starting with a letter")


def check_abs_path(value: Any, what: str = "path") -> str:
    """An absolute, normalised path whose components are plain names.

    Refused: relative paths, ``.`` and ``..`` components, empty components (``//``), a trailing ``/`` (except
    ``/`` itself, which callers refuse where it makes no sense), whitespace, quotes, ``;``, ``{``, ``}``, ``$``,
    backticks, backslashes, ``*``/``?`` globs and control characters: what could change the meaning of a
    config line (``root /x;``), a shell line or an rsync path.
    """
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_PATH:
        raise UnsafeName(f"{what} {value!r} is refused: must be an absolute path")
    if value == "/":
        return value
    parts = value[1:].split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafeName(f"{what} {value!r} is refused: empty, '.' or '..' component (must be normalised)")
        if not PATH_COMPONENT_RE.fullmatch(part):
            raise UnsafeName(
                f"{what} {value!r} is refused: component {part!r} may hold only letters, digits, '.', '_', '-', "
                "'@' and '+'"
            )
    return value


def is_within(path: str, roots: list[str] | tuple[str, ...]) -> bool:
    """Whether normalised absolute ``path`` is one of ``roots`` or below one (string test, no file system)."""
    for r in roots:
        r = r.rstrip("/") or "/"
        if path == r or r == "/" or path.startswith(r + "/"):
            return True
    return False


def file_key(name: str) -> str:
    """A file name for ``name`` that is safe in any directory and collision-free.

    ``<slug>-<first 12 hex of sha256(name)>``: the slug keeps it readable (``[a-z0-9_-]``, at most 40
    characters), the hash keeps two names that slug alike (``a.b`` / ``a_b``) apart. Never contains ``/`` or
    starts with ``.``, whatever ``name`` holds.
    """
    text = str(name)
    s = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:40] or "x"
    return f"{s}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def sql_ident_mariadb(name: str) -> str:
    """A MariaDB identifier quoted with backticks (embedded backticks doubled); the name is checked first."""
    check_db_name(name)
    return "`" + name.replace("`", "``") + "`"


def sql_ident_postgres(name: str) -> str:
    """A PostgreSQL identifier in double quotes (embedded quotes doubled); the name is checked first."""
    check_db_name(name)
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A standard SQL string literal (single quotes doubled; backslashes doubled for MariaDB's default mode)."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "''") + "'"


def pg_conninfo_dbname(name: str) -> str:
    """A libpq conninfo string selecting only database ``name`` (``dbname='...'``): a name holding ``=`` or
    spaces can never add connection parameters (``psql -d 'NAME'`` would treat ``host=evil`` as conninfo)."""
    check_db_name(name)
    return "dbname='" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"
