"""Redaction of secrets in anything the toolkit shows or writes (reports, failure messages, console).

One function for every report writer (issue #13, finding 8): :func:`redact` walks a JSON-like value and

* replaces the value of every key that names a secret (``password``, ``db_pass``, ``secret``, ``token``, ...)
  with :data:`MARK`;
* replaces, inside every string, the secret part of credential-looking text: ``password=...``, ``MYSQL_PWD=...``,
  ``--password ...``, ``mysql -p...``, SQL ``IDENTIFIED BY '...'`` / ``PASSWORD '...'``, PHP
  ``define('DB_PASSWORD', '...')`` / ``$dbpass = '...'`` / ``'password' => '...'``, JSON ``"password": "..."``,
  ``scheme://user:password@``, HTTP ``Authorization``/``PVEAPIToken``/``PVEAuthCookie``, private key blocks;
* replaces every occurrence of a known secret value given by the caller (``secrets=``).

This is defence in depth: the first control is that secrets never enter a result that is reported (no_log tasks
are reported by a censored marker, see playbooks/tasks/poc_failed.yml and :func:`failure_message`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MARK = "<redacted>"
CENSORED = ("(output hidden: the task runs under no_log; run the step's command by hand on the host to see the "
            "error)")

# a name that holds a secret: password/passwd/passphrase/secret anywhere in it (DB_PASSWORD, dbpassword,
# client_secret), or pass/pwd/token/api key/private key/auth key/salt as a whole part of it (DB_PASS, MYSQL_PWD,
# api-token, AUTH_KEY) - not "passed", "bypass", "tokens_used" or "credentials_file"
_SECRET_WORD = (r"(?:[\w.\-]*(?:password|passwd|passphrase|secret)[\w.\-]*"
                r"|(?:[\w.\-]*[_\-.])?(?:pass|pwd|token|api[_\-]?key|private[_\-]?key|auth[_\-]?key|salt)"
                r"(?:[_\-.][\w.\-]*)?)")
_SECRET_KEY = re.compile(rf"(?i)^{_SECRET_WORD}$")

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # private key blocks (OpenSSH, PEM)
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S),
     "-----BEGIN PRIVATE KEY----- " + MARK + " -----END PRIVATE KEY-----"),
    # scheme://user:password@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^/\s:@'\"]+:)([^@\s/'\"]+)(@)"), r"\1" + MARK + r"\3"),
    # HTTP credentials
    (re.compile(r"(?i)(\bAuthorization\s*[:=]\s*(?:[A-Za-z]+\s+)?)(\S+)"), r"\1" + MARK),
    (re.compile(r"(PVEAPIToken[= ]\s*[^=\s]+=)(\S+)"), r"\1" + MARK),
    (re.compile(r"(PVEAuthCookie=)([^;\s]+)"), r"\1" + MARK),
    (re.compile(r"(?i)(CSRFPreventionToken\s*[:=]\s*)(\S+)"), r"\1" + MARK),
    # SQL: IDENTIFIED BY 'x', IDENTIFIED WITH plugin BY/AS 'x', PASSWORD 'x', PASSWORD = PASSWORD('x')
    (re.compile(r"(?i)(\bIDENTIFIED\b(?:\s+WITH\s+\S+)?\s+(?:BY|AS)\s+(?:PASSWORD\s+)?)(['\"])(.*?)(\2)"),
     r"\1\2" + MARK + r"\4"),
    (re.compile(r"(?i)((?<!['\"\w])PASSWORD\s*(?:=\s*)?(?:PASSWORD\s*)?\(?\s*)(['\"])(.*?)(\2)"),
     r"\1\2" + MARK + r"\4"),
    # PHP / JSON / Python mappings: 'DB_PASSWORD', 'x'   "password": "x"   'db_pass' => 'x'
    (re.compile(rf"(?i)(['\"]{_SECRET_WORD}['\"]\s*(?:,|=>|:)\s*)(['\"])(.*?)(?<!\\)(\2)"),
     r"\1\2" + MARK + r"\4"),
    # PHP / shell variables: $dbpass = 'x';  $password="x"
    (re.compile(r"(?i)(\$\w*(?:pass|pwd|secret|token|key|salt)\w*\s*=\s*)(['\"])(.*?)(?<!\\)(\2)"),
     r"\1\2" + MARK + r"\4"),
    # key=value / key: value / --key value (env vars, CLI options, config lines), quoted or bare
    (re.compile(rf"(?i)(\b{_SECRET_WORD}\s*(?:=|:(?!//))\s*)(['\"])(.*?)(\2)"),
     r"\1\2" + MARK + r"\4"),
    (re.compile(rf"(?i)(\b{_SECRET_WORD}\s*(?:=|:(?!//))\s*)(?!{re.escape(MARK)})([^\s'\",;&|]+)"),
     r"\1" + MARK),
    (re.compile(rf"(?i)(--{_SECRET_WORD}\s+)(?!-)(?!{re.escape(MARK)})([^\s'\"]+)"), r"\1" + MARK),
    # mysql/mariadb/mysqldump -pSECRET (the password glued to -p)
    (re.compile(r"(\b(?:mysql|mariadb|mysqldump|mariadb-dump|mysqladmin|mariadb-admin)\b[^\n]*?\s-p)([^\s\-]\S*)"),
     r"\1" + MARK),
]


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secret values and credential-looking parts replaced by :data:`MARK`."""
    out = text
    for s in sorted({str(s) for s in secrets if s and len(str(s)) >= 4}, key=len, reverse=True):
        out = out.replace(s, MARK)
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    return out


def is_secret_key(key: Any) -> bool:
    return bool(_SECRET_KEY.match(str(key)))


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` (mappings, lists, strings, scalars) with every secret replaced by :data:`MARK`."""
    known = tuple(s for s in secrets if s)
    if isinstance(value, Mapping):
        return {k: (MARK if is_secret_key(k) and v not in (None, "", [], {}) else redact(v, known))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, known) for v in value]
    if isinstance(value, str):
        return redact_text(value, known)
    return value


# fixed messages of ansible-core itself (no data of the task in them): kept for a no_log result
GENERIC_MESSAGES = frozenset({
    "non-zero return code", "One or more items failed", "All items completed", "MODULE FAILURE",
    "MODULE FAILURE\nSee stdout/stderr for the exact error", "Task failed", "timed out",
})


def _hidden(result: Mapping[str, Any]) -> bool:
    return bool(result.get("_ansible_no_log") or result.get("censored"))


def _censored(result: Mapping[str, Any]) -> str:
    """What a no_log result may say: ansible's own fixed message and the exit status, nothing of its output."""
    msg = str(result.get("msg") or "").strip()
    rc = result.get("rc")
    head = msg if msg in GENERIC_MESSAGES else ""
    if isinstance(rc, int) and not isinstance(rc, bool):
        head = f"{head} (exit status {rc})".strip()
    return f"{head} {CENSORED}".strip()


def failure_message(result: Mapping[str, Any] | None, *, task_no_log: bool = False, tail: int = 400,
                    limit: int = 2000) -> str:
    """The message of a failed task result (``ansible_failed_result``) that is safe to show and write.

    ``ansible_failed_result`` is the *uncensored* result, also for a ``no_log`` task (ansible keeps its stderr and
    cmd there and marks it ``_ansible_no_log``): such a result, or item, says only ansible's own fixed message and
    the exit status, then :data:`CENSORED`. Otherwise: the message, each failed item's message and the tail of its
    stderr. Everything then goes through :func:`redact_text` (credential patterns), cut at ``limit`` characters.
    """
    if not result:
        return "failed"
    items = [i for i in result.get("results") or [] if isinstance(i, Mapping) and i.get("failed")]
    if task_no_log:
        parts = [_censored(i) for i in items] or [_censored(result)]
    else:
        parts = [_censored(result) if _hidden(result) else str(result.get("msg") or "failed")]
        for i in items:
            if _hidden(i):
                parts.append(_censored(i))
                continue
            err = str(i.get("stderr") or "").strip()
            parts.append(str(i.get("msg") or "failed") + (": " + err[-tail:] if err else ""))
        if not items and not _hidden(result):
            err = str(result.get("stderr") or "").strip()
            if err:
                parts[0] += ": " + err[-tail:]
    text = redact_text("; ".join(dict.fromkeys(parts)))
    return text if len(text) <= limit else text[: limit - 3] + "..."
