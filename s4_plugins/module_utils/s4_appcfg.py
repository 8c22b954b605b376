# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT
"""Format-aware adjustment of an application's database settings (module smartt.s4.app_db_config).

Target-side code: stdlib only, Python 3.6+. The config files are tenant data (hostile): they are parsed with a
small PHP / dotenv tokenizer (comments and strings are understood, so a commented-out ``define('DB_HOST', ...)``
is never rewritten), a setting is rewritten only when its value is one plain string literal (anything else:
``not adjusted: <key> is computed``), and every value is written with the escaping of the target syntax (PHP
single-quoted string, dotenv quoting, percent-encoded URL parts) so that no value can leave its string.

Nothing here returns a setting's value: the callers report key names only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import os
import re
import stat

try:  # Python 3
    from urllib.parse import quote as _url_quote
except ImportError:  # pragma: no cover - Python 2 is not a target
    from urllib import quote as _url_quote  # type: ignore[attr-defined,no-redef]

KINDS = ("wordpress", "laravel_env", "symfony_env", "drupal", "joomla", "magento2", "roundcube")
SETTINGS = ("db_host", "db_name", "db_user", "db_password", "site_url")
SECRET_SETTINGS = ("db_password",)
MAX_SIZE = 1024 * 1024
REDACTED = "<redacted>"
# settings holding a whole URL/DSN (with the password in it): never shown, not even in a diff
URL_KEYS = ("DATABASE_URL", "DB_URL", "$config['db_dsnw']", "$rcmail_config['db_dsnw']")


class AppConfigError(Exception):
    """The file is not adjusted (nothing was changed); the message says why and never holds a value."""


# --------------------------------------------------------------------------------------------------- escaping

def php_quote(value):
    """A PHP single-quoted string literal holding exactly ``value`` (only ``\\`` and ``'`` are special)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# a variable or command substitution in a double-quoted or unquoted dotenv value (phpdotenv: ${X}; Symfony: $X, ${X},
# $(cmd)): such a value is computed, and a wanted value holding one is never written between double quotes
_DOTENV_VAR = re.compile(r"\$[A-Za-z_{(]")
# unquoted dotenv values are limited to characters no dotenv/ini reader treats specially
_DOTENV_SAFE = re.compile(r"[A-Za-z0-9_./:@%+-]+\Z")


def dotenv_quote(value, flavour, key):
    """A dotenv value holding exactly ``value`` for phpdotenv (``laravel``) or Symfony Dotenv (``symfony``).

    Single quotes are literal in both (no escapes, no variables); double quotes are used by phpdotenv only for a
    value holding ``'`` or a line break (escapes ``\\\\``, ``\\"``, ``\\n``, ``\\r``; a ``$`` followed by a letter,
    ``_``, ``{`` or ``(`` there would read as a variable and has no escape in phpdotenv: such a value is refused,
    as is any value Symfony could not read back exactly).
    """
    if _DOTENV_SAFE.match(value):
        return value
    if "'" not in value and "\n" not in value and "\r" not in value:
        return "'" + value + "'"
    if flavour == "laravel" and not _DOTENV_VAR.search(value):
        return '"' + (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                      .replace("\r", "\\r")) + '"'
    raise AppConfigError("not adjusted: the wanted value of %s cannot be written exactly in this .env syntax" % key)


def url_part(value):
    """Percent-encode one URL component (user, password, database name): no delimiter survives."""
    return _url_quote(value, safe="")


_HOST_RE = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])\Z")


def check_url_host(value, key):
    """A host name / IPv4 / [IPv6] address fit for the authority of a URL (no port, user or path in it)."""
    if not _HOST_RE.match(value) or len(value) > 255:
        raise AppConfigError("not adjusted: the wanted db_host is not a plain host name or address for %s" % key)
    return value


# ------------------------------------------------------------------------------------------------ PHP tokens

class Tok(object):
    """One PHP token: ``kind`` str|var|ident|num|op|heredoc, ``start``/``end`` offsets in the text, ``text``
    (the source), ``value`` (a string literal's value, ``None`` when it is interpolated or not plain)."""

    __slots__ = ("kind", "start", "end", "text", "value")

    def __init__(self, kind, start, end, text, value=None):
        self.kind = kind
        self.start = start
        self.end = end
        self.text = text
        self.value = value

    def __repr__(self):  # pragma: no cover - debugging aid
        return "Tok(%s, %r)" % (self.kind, self.text)


_OPS3 = ("===", "!==", "??=", "<=>", "**=", "...", "<<=", ">>=")
_OPS2 = ("=>", "==", "!=", ".=", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "??", "::", "->", "<=", ">=",
         "&&", "||", "**", "++", "--", "<<", ">>", "<>")
_IDENT_RE = re.compile(r"[A-Za-z_\x80-\U0010ffff\\][A-Za-z0-9_\x80-\U0010ffff\\]*")
_NUM_RE = re.compile(r"[0-9][0-9A-Za-z_.]*")
_OPEN_RE = re.compile(r"<\?(?:php(?=\s)|=)?", re.IGNORECASE)
_DQ_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "e": "\x1b", "f": "\f", "\\": "\\", "$": "$",
               '"': '"'}


def _single_quoted(text, i):
    """Value and end of the single-quoted string starting at ``text[i]``."""
    out = []
    j = i + 1
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\" and j + 1 < n and text[j + 1] in "\\'":
            out.append(text[j + 1])
            j += 2
            continue
        if c == "'":
            return "".join(out), j + 1
        out.append(c)
        j += 1
    raise AppConfigError("not adjusted: unterminated string in the PHP file")


def _double_quoted(text, i, quote='"'):
    """Value (``None`` when interpolated or using escapes beyond the plain ones) and end of a "string" (or of a
    `shell` string with ``quote`` the backtick)."""
    out = []
    plain = True
    j = i + 1
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\" and j + 1 < n:
            d = text[j + 1]
            if d in _DQ_ESCAPES:
                out.append(_DQ_ESCAPES[d])
            elif d in "01234567xu":
                plain = False  # octal/hex/unicode escapes: not decoded here, so not treated as a plain literal
            else:
                out.append(c + d)
            j += 2
            continue
        if c == "$" and j + 1 < n and (text[j + 1] == "{" or text[j + 1] == "_" or text[j + 1].isalpha()):
            plain = False
        if c == "{" and j + 1 < n and text[j + 1] == "$":
            plain = False
        if c == quote:
            return ("".join(out) if plain else None), j + 1
        out.append(c)
        j += 1
    raise AppConfigError("not adjusted: unterminated string in the PHP file")


def _heredoc_end(text, i):
    """End of the heredoc/nowdoc starting at ``text[i]`` (``<<<``)."""
    m = re.compile(r"<<<[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1\r?\n").match(text, i)
    if not m:
        raise AppConfigError("not adjusted: unreadable heredoc in the PHP file")
    close = re.compile(r"^[ \t]*" + re.escape(m.group(2)) + r"\b", re.MULTILINE).search(text, m.end())
    if not close:
        raise AppConfigError("not adjusted: unterminated heredoc in the PHP file")
    return close.end()


def php_tokens(text):
    """The tokens of the PHP code in ``text`` (inline HTML, whitespace and comments are left out)."""
    toks = []
    n = len(text)
    i = 0
    in_php = False
    while i < n:
        if not in_php:
            m = _OPEN_RE.search(text, i)
            if not m:
                break
            i = m.end()
            in_php = True
            continue
        c = text[i]
        if c in " \t\r\n":  # PHP's whitespace (not every Unicode space)
            i += 1
        elif text.startswith("?>", i):
            in_php = False
            toks.append(Tok("op", i, i + 2, ";"))  # a closing tag ends a statement
            i += 2
        elif c == "#" and not text.startswith("#[", i) or text.startswith("//", i):
            j = i
            while j < n and text[j] not in "\r\n" and not text.startswith("?>", j):
                j += 1
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise AppConfigError("not adjusted: unterminated comment in the PHP file")
            i = j + 2
        elif c == "'":
            value, j = _single_quoted(text, i)
            toks.append(Tok("str", i, j, text[i:j], value))
            i = j
        elif c == '"':
            value, j = _double_quoted(text, i)
            toks.append(Tok("str", i, j, text[i:j], value))
            i = j
        elif c == "`":  # shell execution: interpolated like a double-quoted string, never a plain literal
            j = _double_quoted(text, i, "`")[1]
            toks.append(Tok("str", i, j, text[i:j], None))
            i = j
        elif text.startswith("<<<", i):
            j = _heredoc_end(text, i)
            toks.append(Tok("heredoc", i, j, text[i:j]))
            i = j
        elif c == "$" and i + 1 < n and _IDENT_RE.match(text, i + 1) and text[i + 1] != "\\":
            m = _IDENT_RE.match(text, i + 1)
            toks.append(Tok("var", i, m.end(), text[i:m.end()]))
            i = m.end()
        elif _NUM_RE.match(text, i):
            m = _NUM_RE.match(text, i)
            toks.append(Tok("num", i, m.end(), text[i:m.end()]))
            i = m.end()
        elif _IDENT_RE.match(text, i):
            m = _IDENT_RE.match(text, i)
            toks.append(Tok("ident", i, m.end(), text[i:m.end()]))
            i = m.end()
        else:
            for op in _OPS3 + _OPS2:
                if text.startswith(op, i):
                    break
            else:
                op = c
            toks.append(Tok("op", i, i + len(op), op))
            i += len(op)
    return toks


_CLOSE = {"(": ")", "[": "]", "{": "}"}


def _expr_end(toks, j, stops):
    """Index of the first token at nesting depth 0 from ``j`` whose text is in ``stops`` (or ``len(toks)``)."""
    depth = 0
    k = j
    while k < len(toks):
        t = toks[k]
        if t.kind == "op":
            if depth == 0 and t.text in stops:
                return k
            if t.text in _CLOSE:
                depth += 1
            elif t.text in (")", "]", "}"):
                if depth == 0:
                    return k
                depth -= 1
        k += 1
    return k


class Site(object):
    """Where one setting's value is: the token range ``[start, end)`` of its value expression."""

    __slots__ = ("toks", "start", "end")

    def __init__(self, toks, start, end):
        self.toks = toks
        self.start = start
        self.end = end

    def literal(self):
        """The token of a plain string literal, or ``None`` (computed: call, concatenation, constant ...)."""
        if self.end == self.start + 1:
            t = self.toks[self.start]
            if t.kind == "str" and t.value is not None:
                return t
        return None


def _array_entries(toks, j):
    """``{key: [Site]}`` of the entries at the top of the array literal starting at ``toks[j]`` (``array(`` or
    ``[``), or ``None`` when ``toks[j]`` does not start an array literal."""
    if toks[j].kind == "ident" and toks[j].text.lower() == "array" and j + 1 < len(toks) \
            and toks[j + 1].text == "(":
        k = j + 2
    elif toks[j].kind == "op" and toks[j].text == "[":
        k = j + 1
    else:
        return None
    entries = {}
    while k < len(toks):
        if toks[k].text in (")", "]") and toks[k].kind == "op":
            return entries
        end = _expr_end(toks, k, (",",))
        arrow = _expr_end(toks, k, ("=>",))
        if arrow < end and arrow == k + 1 and toks[k].kind == "str" and toks[k].value is not None:
            entries.setdefault(toks[k].value, []).append(Site(toks, arrow + 1, end))
        if end >= len(toks) or toks[end].text != ",":
            return entries
        k = end + 1
    return entries


def _navigate(site, path, key_label):
    """Sites of ``path`` inside the value at ``site`` (array literals all the way down)."""
    if not path:
        return [site]
    if site.end == site.start or site.start >= len(site.toks):
        raise AppConfigError("not adjusted: %s is computed" % key_label)
    entries = _array_entries(site.toks, site.start)
    if entries is None or _expr_end(site.toks, site.start + (2 if site.toks[site.start].kind == "ident" else 1),
                                    ()) + 1 != site.end:
        raise AppConfigError("not adjusted: %s is computed" % key_label)
    out = []
    for sub in entries.get(path[0], []):
        out.extend(_navigate(sub, path[1:], key_label))
    return out


def _lvalue(toks, i):
    """``(variable, [subscript keys], index after '=')`` when ``toks[i]`` starts ``$var['a']['b'] =``; a key is
    ``None`` when the subscript is not a plain string, the index ``-1`` for ``.=``, ``??=`` and the like."""
    if toks[i].kind != "var":
        return None
    if i > 0 and toks[i - 1].text in ("->", "::", "$"):
        return None
    keys = []
    k = i + 1
    while k < len(toks) and toks[k].kind == "op" and toks[k].text == "[":
        close = _expr_end(toks, k + 1, ())
        if close >= len(toks) or toks[close].text != "]":
            return None
        inner = toks[k + 1:close]
        keys.append(inner[0].value if len(inner) == 1 and inner[0].kind == "str" else None)
        k = close + 1
    if k >= len(toks) or toks[k].kind != "op":
        return None
    if toks[k].text == "=":
        return toks[i].text[1:], keys, k + 1
    if toks[k].text in (".=", "??=", "+=", "|="):
        return toks[i].text[1:], keys, -1
    return None


def find_assigned(toks, var, path, key_label):
    """Sites of ``$var[path...]`` assigned anywhere (``$var['a'] = array('b' => ...)`` or ``$var['a']['b'] =``)."""
    out = []
    for i in range(len(toks)):
        lv = _lvalue(toks, i)
        if lv is None or lv[0] != var:
            continue
        name, keys, after = lv
        n = min(len(keys), len(path))
        if any(keys[x] is not None and keys[x] != path[x] for x in range(n)):
            continue
        if after < 0 or None in keys[:n]:
            raise AppConfigError("not adjusted: %s is computed" % key_label)
        if len(keys) > len(path):
            continue  # deeper than the setting (e.g. $databases['default']['default']['host']['x'])
        site = Site(toks, after, _expr_end(toks, after, (";",)))
        out.extend(_navigate(site, path[len(keys):], key_label))
    return out


def find_property(toks, prop):
    """Sites of ``public|var $prop = ...;`` (Joomla's JConfig)."""
    out = []
    for i, t in enumerate(toks):
        if t.kind == "var" and t.text[1:] == prop and i > 0 and toks[i - 1].kind == "ident" \
                and toks[i - 1].text.lower() in ("public", "var", "static") and i + 1 < len(toks) \
                and toks[i + 1].text == "=":
            out.append(Site(toks, i + 2, _expr_end(toks, i + 2, (";", ","))))
    return out


def find_define(toks, const):
    """Sites of ``define('CONST', ...)``; ``(sites, index of the statement's end)``."""
    out = []
    ends = []
    for i, t in enumerate(toks):
        if t.kind == "ident" and t.text.lower().lstrip("\\") == "define" and i + 3 < len(toks) \
                and toks[i + 1].text == "(" and toks[i + 2].kind == "str" and toks[i + 2].value == const \
                and toks[i + 3].text == "," and not (i > 0 and toks[i - 1].text in ("->", "::", "function")):
            end = _expr_end(toks, i + 4, (",",))
            out.append(Site(toks, i + 4, end))
            close = _expr_end(toks, i + 4, ())
            ends.append(close + 1 if close + 1 < len(toks) and toks[close + 1].text == ";" else close)
    return out, ends


def find_returned(toks, path, key_label):
    """Sites of ``return [ 'a' => [ ... ] ];`` (Magento's env.php)."""
    out = []
    for i, t in enumerate(toks):
        if t.kind == "ident" and t.text.lower() == "return" and (i == 0 or toks[i - 1].text in (";", "{", "}")):
            site = Site(toks, i + 1, _expr_end(toks, i + 1, (";",)))
            out.extend(_navigate(site, path, key_label))
    return out


# ------------------------------------------------------------------------------------------------ the formats

class Change(object):
    """One setting to write: the key as the report names it, the settings it carries, the text replacement."""

    def __init__(self, key, settings, before_kind, start, end, new):
        self.key = key
        self.settings = settings
        self.before_kind = before_kind
        self.start = start
        self.end = end
        self.new = new


def _one_literal(sites, key, required=True):
    if not sites:
        if required:
            raise AppConfigError("not adjusted: %s not found" % key)
        return []
    toks = []
    for s in sites:
        t = s.literal()
        if t is None:
            raise AppConfigError("not adjusted: %s is computed" % key)
        toks.append(t)
    return toks


def _literal_changes(key, tokens, value, setting):
    """Changes rewriting the literal ``tokens`` of ``key`` to ``value`` (an unchanged value keeps its quoting)."""
    out = [Change(key, [setting], "literal", t.start, t.end, php_quote(value)) for t in tokens if t.value != value]
    return out or [Change(key, [setting], "literal", None, None, None)]


WP_KEYS = (("db_host", "DB_HOST"), ("db_name", "DB_NAME"), ("db_user", "DB_USER"), ("db_password", "DB_PASSWORD"))
JOOMLA_KEYS = (("db_host", "host"), ("db_name", "db"), ("db_user", "user"), ("db_password", "password"),
               ("site_url", "live_site"))
DRUPAL_KEYS = (("db_host", "host"), ("db_name", "database"), ("db_user", "username"), ("db_password", "password"))
MAGENTO_KEYS = (("db_host", "host"), ("db_name", "dbname"), ("db_user", "username"), ("db_password", "password"))
# Debian's dbconfig-common file of roundcube (/etc/roundcube/debian-db.php), read by its config.inc.php
ROUNDCUBE_DEBIAN_KEYS = (("db_host", "dbserver"), ("db_name", "dbname"), ("db_user", "dbuser"),
                         ("db_password", "dbpass"))
LARAVEL_KEYS = (("db_host", "DB_HOST"), ("db_name", "DB_DATABASE"), ("db_user", "DB_USERNAME"),
                ("db_password", "DB_PASSWORD"), ("site_url", "APP_URL"))


def _no_site_url(kind, wanted):
    if wanted.get("site_url") is not None:
        raise AppConfigError("not adjusted: site_url is not a setting of a %s config (the application keeps its "
                             "URL in its database)" % kind)


def _wordpress(text, wanted):
    toks = php_tokens(text)
    changes = []
    for setting, const in WP_KEYS:
        if wanted.get(setting) is not None:
            sites, _ = find_define(toks, const)
            changes += _literal_changes(const, _one_literal(sites, const), wanted[setting], setting)
    if wanted.get("site_url") is not None:
        for const in ("WP_HOME", "WP_SITEURL"):
            sites, _ = find_define(toks, const)
            if sites:
                changes += _literal_changes(const, _one_literal(sites, const), wanted["site_url"], "site_url")
                continue
            # not defined: WordPress reads it from its database; defined after DB_HOST (before wp-settings.php)
            anchors, ends = find_define(toks, "DB_HOST")
            if len(anchors) != 1:
                raise AppConfigError("not adjusted: %s not found and no single DB_HOST define to add it after"
                                     % const)
            pos = toks[ends[0]].end
            changes.append(Change(const, ["site_url"], "absent", pos, pos,
                                  "\ndefine(%s, %s);" % (php_quote(const), php_quote(wanted["site_url"]))))
    return changes


def _joomla(text, wanted):
    toks = php_tokens(text)
    changes = []
    for setting, prop in JOOMLA_KEYS:
        if wanted.get(setting) is not None:
            key = "$" + prop
            changes += _literal_changes(key, _one_literal(find_property(toks, prop), key), wanted[setting], setting)
    return changes


def _drupal(text, wanted):
    _no_site_url("drupal", wanted)
    toks = php_tokens(text)
    changes = []
    for setting, name in DRUPAL_KEYS:
        if wanted.get(setting) is not None:
            key = "$databases['default']['default']['%s']" % name
            sites = find_assigned(toks, "databases", ["default", "default", name], key)
            changes += _literal_changes(key, _one_literal(sites, key), wanted[setting], setting)
    return changes


def _magento2(text, wanted):
    _no_site_url("magento2", wanted)
    toks = php_tokens(text)
    changes = []
    for setting, name in MAGENTO_KEYS:
        if wanted.get(setting) is not None:
            key = "db.connection.default.%s" % name
            sites = find_returned(toks, ["db", "connection", "default", name], key)
            changes += _literal_changes(key, _one_literal(sites, key), wanted[setting], setting)
    return changes


def _split_url(url, key):
    """``(scheme, user, password, host, port, path, rest)`` of ``scheme://[user[:password]@]host[:port]/path``,
    the user/password/path still encoded; ``rest`` is the ``?query`` or ``#...`` left as it is."""
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if not m:
        raise AppConfigError("not adjusted: %s is not a URL/DSN of the form scheme://user:password@host/name" % key)
    scheme = m.group(1)
    body = url[m.end():]
    cut = len(body)
    for sep in "?#":
        p = body.find(sep)
        if p >= 0:
            cut = min(cut, p)
    head, rest = body[:cut], body[cut:]
    at = head.rfind("@")
    userinfo, hostpath = (head[:at], head[at + 1:]) if at >= 0 else (None, head)
    slash = hostpath.find("/")
    hostport, path = (hostpath[:slash], hostpath[slash + 1:]) if slash >= 0 else (hostpath, None)
    user = password = None
    if userinfo is not None:
        user, colon, password = userinfo.partition(":")
        if not colon:
            password = None
    port = None
    pm = re.match(r"(.*?)(:[0-9]*)\Z", hostport)
    if pm and not (hostport.startswith("[") and not pm.group(1).endswith("]")):
        hostport, port = pm.group(1), pm.group(2)
    if "(" in hostport:
        raise AppConfigError("not adjusted: %s names a socket (unix(...)), not a host: left alone" % key)
    return scheme, user, password, hostport, port, path, rest


def _adjust_url(url, wanted, key):
    """``url`` with the wanted parts replaced (percent-encoded); the port and the query are kept."""
    scheme, user, password, host, port, path, rest = _split_url(url, key)
    settings = []
    if wanted.get("db_user") is not None:
        user = url_part(wanted["db_user"])
        settings.append("db_user")
    if wanted.get("db_password") is not None:
        if user is None:
            raise AppConfigError("not adjusted: %s has no user to put the password with" % key)
        password = url_part(wanted["db_password"])
        settings.append("db_password")
    if wanted.get("db_host") is not None:
        host = check_url_host(wanted["db_host"], key)
        settings.append("db_host")
    if wanted.get("db_name") is not None:
        path = url_part(wanted["db_name"])
        settings.append("db_name")
    auth = ""
    if user is not None:
        auth = user + (":" + password if password is not None else "") + "@"
    return "%s://%s%s%s%s%s" % (scheme, auth, host, port or "", "/" + path if path is not None else "", rest), \
        settings


def _roundcube(text, wanted):
    _no_site_url("roundcube", wanted)
    toks = php_tokens(text)
    for var in ("config", "rcmail_config"):  # $rcmail_config: roundcube before 1.0
        key = "$%s['db_dsnw']" % var
        dsn_sites = find_assigned(toks, var, ["db_dsnw"], key)
        if dsn_sites:
            break
    if dsn_sites:
        changes = []
        for t in _one_literal(dsn_sites, key):
            new, settings = _adjust_url(t.value, wanted, key)
            changes.append(Change(key, settings, "literal", t.start, t.end, php_quote(new))
                           if new != t.value else Change(key, settings, "literal", None, None, None))
        return changes
    changes = []
    for setting, var in ROUNDCUBE_DEBIAN_KEYS:
        if wanted.get(setting) is not None:
            key = "$" + var
            changes += _literal_changes(key, _one_literal(find_assigned(toks, var, [], key), key), wanted[setting],
                                        setting)
    if not changes and any(wanted.get(s) is not None for s in SETTINGS):
        raise AppConfigError("not adjusted: $config['db_dsnw'] not found")
    return changes


# ----------------------------------------------------------------------------------------------------- dotenv

_DOTENV_LINE = re.compile(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*")


class EnvValue(object):
    """One ``KEY=value`` line of a dotenv file: the value's span and its literal value (``None``: computed)."""

    __slots__ = ("key", "start", "end", "value", "line_end")

    def __init__(self, key, start, end, value, line_end):
        self.key = key
        self.start = start
        self.end = end
        self.value = value
        self.line_end = line_end


def _env_value(text, i, eol):
    """``(value or None, end)`` of the dotenv value starting at ``text[i]`` on a line ending at ``eol``."""
    if i < eol and text[i] == "'":
        j = text.find("'", i + 1, eol)
        if j < 0:
            return None, eol  # multi-line or broken: not a plain one-line literal
        return text[i + 1:j], j + 1
    if i < eol and text[i] == '"':
        out = []
        j = i + 1
        while j < eol:
            c = text[j]
            if c == "\\" and j + 1 < eol:
                d = text[j + 1]
                out.append({"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}.get(d, c + d))
                j += 2
                continue
            if c == '"':
                return "".join(out), j + 1
            if _DOTENV_VAR.match(text, j):
                return None, eol  # a variable or a command substitution: computed
            out.append(c)
            j += 1
        return None, eol
    if i < eol and text[i] == "#" and text[i - 1] in " \t":
        return "", i  # "KEY= # comment": an empty value
    m = re.compile(r"[^\r\n]*?(?=[ \t]+#|[ \t]*$)", re.MULTILINE).match(text, i, eol)
    value = m.group(0) if m else text[i:eol]
    if _DOTENV_VAR.search(value) or value.startswith("`"):
        return None, i + len(value)
    return value, i + len(value)


def env_values(text):
    """Every ``KEY=value`` line of a dotenv file."""
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        eol = text.find("\n", pos)
        eol = n if eol < 0 else eol
        line_end = eol
        if eol > pos and text[eol - 1] == "\r":
            line_end = eol - 1
        m = _DOTENV_LINE.match(text, pos, line_end)
        if m:
            value, end = _env_value(text, m.end(), line_end)
            out.append(EnvValue(m.group(1), m.end(), end, value, line_end))
        pos = eol + 1
    return out


def _env_literals(values, key):
    found = [v for v in values if v.key == key]
    for v in found:
        if v.value is None:
            raise AppConfigError("not adjusted: %s is computed" % key)
    return found


def _env_set(text, values, key, value, settings, flavour):
    found = _env_literals(values, key)
    if not found:
        sep = "" if not text or text.endswith("\n") else "\n"
        return [Change(key, settings, "absent", len(text), len(text),
                       "%s%s=%s\n" % (sep, key, dotenv_quote(value, flavour, key)))]
    out = [Change(key, settings, "literal", v.start, v.end, dotenv_quote(value, flavour, key))
           for v in found if v.value != value]
    return out or [Change(key, settings, "literal", None, None, None)]


def _laravel_env(text, wanted):
    values = env_values(text)
    changes = []
    for setting, key in LARAVEL_KEYS:
        if wanted.get(setting) is not None:
            changes += _env_set(text, values, key, wanted[setting], [setting], "laravel")
    # a non-empty DB_URL (Laravel 11) / DATABASE_URL overrides the DB_* keys: adjusted too, never left stale
    db_wanted = dict((s, wanted.get(s)) for s in ("db_host", "db_name", "db_user", "db_password"))
    for key in ("DB_URL", "DATABASE_URL"):
        for v in _env_literals(values, key):
            if v.value and any(x is not None for x in db_wanted.values()):
                new, settings = _adjust_url(v.value, db_wanted, key)
                changes.append(Change(key, settings, "literal", v.start, v.end, dotenv_quote(new, "laravel", key))
                               if new != v.value else Change(key, settings, "literal", None, None, None))
    return changes


def _symfony_env(text, wanted):
    _no_site_url("symfony_env", wanted)
    values = env_values(text)
    key = "DATABASE_URL"
    found = _env_literals(values, key)
    if not found:
        raise AppConfigError("not adjusted: %s not found" % key)
    changes = []
    for v in found:
        new, settings = _adjust_url(v.value, wanted, key)
        changes.append(Change(key, settings, "literal", v.start, v.end, dotenv_quote(new, "symfony", key))
                       if new != v.value else Change(key, settings, "literal", None, None, None))
    return changes


ADJUSTERS = {
    "wordpress": _wordpress,
    "laravel_env": _laravel_env,
    "symfony_env": _symfony_env,
    "drupal": _drupal,
    "joomla": _joomla,
    "magento2": _magento2,
    "roundcube": _roundcube,
}


def detect(path, text):
    """The kind of config file ``path`` holding ``text``, or ``None``."""
    base = os.path.basename(path)
    if base.startswith(".env"):
        keys = set(v.key for v in env_values(text))
        if "DB_HOST" in keys or "DB_DATABASE" in keys or "DB_CONNECTION" in keys:
            return "laravel_env"
        if "DATABASE_URL" in keys:
            return "symfony_env"
        return None
    if not base.endswith(".php"):
        return None
    toks = php_tokens(text)
    if find_define(toks, "DB_NAME")[0] or find_define(toks, "DB_HOST")[0]:
        return "wordpress"
    if any(t.kind == "ident" and t.text == "JConfig" for t in toks):
        return "joomla"
    if base == "env.php" and any(t.kind == "ident" and t.text.lower() == "return" for t in toks):
        return "magento2"
    if any(t.kind == "var" and t.text == "$databases" for t in toks):
        return "drupal"
    if any(t.kind == "var" and t.text in ("$config", "$rcmail_config", "$dbpass", "$dbserver") for t in toks):
        return "roundcube"
    return None


def check_wanted(wanted):
    for setting in SETTINGS:
        v = wanted.get(setting)
        if v is None:
            continue
        if not isinstance(v, str):
            raise AppConfigError("not adjusted: %s must be a string" % setting)
        if "\x00" in v:
            raise AppConfigError("not adjusted: %s holds a NUL character" % setting)


def adjust_text(text, kind, wanted):
    """``(new text, adjusted)``: ``text`` with the wanted settings written; ``adjusted`` lists
    ``{key, settings, before_kind, changed}`` (never a value). Raises :class:`AppConfigError` (nothing written)
    when a setting is computed, missing or cannot be written exactly."""
    check_wanted(wanted)
    if kind not in ADJUSTERS:
        raise AppConfigError("not adjusted: unknown config kind %r" % (kind,))
    changes = ADJUSTERS[kind](text, wanted)
    edits = sorted((c for c in changes if c.new is not None), key=lambda c: (c.start, c.end))
    for x in range(1, len(edits)):
        a, b = edits[x - 1], edits[x]
        if b.start < a.end:
            raise AppConfigError("not adjusted: %s and %s overlap in the file" % (a.key, b.key))
    out = text
    for c in reversed(edits):
        out = out[:c.start] + c.new + out[c.end:]
    adjusted = []
    seen = {}
    for c in changes:
        entry = seen.get(c.key)
        if entry is None:
            entry = {"key": c.key, "settings": list(c.settings), "before_kind": c.before_kind, "changed": False}
            seen[c.key] = entry
            adjusted.append(entry)
        entry["changed"] = entry["changed"] or c.new is not None
    return out, adjusted


def describe(text, kind, adjusted, after):
    """A diff-friendly listing ``key: value`` of the adjusted keys in ``text`` (the file ``after`` the change or
    before it); secrets and URLs/DSNs (which carry the password) show as ``<redacted>``."""
    lines = []
    for a in adjusted:
        if a["before_kind"] == "absent" and not after:
            continue
        secret = any(s in SECRET_SETTINGS for s in a["settings"]) or a["key"] in URL_KEYS
        value = REDACTED if secret else _current(text, kind, a["key"])
        lines.append("%s: %s\n" % (a["key"], value))
    return "".join(lines)


def _current(text, kind, key):
    """The literal value of a non-secret ``key`` (for the diff only)."""
    if kind in ("laravel_env", "symfony_env"):
        found = [v.value for v in env_values(text) if v.key == key]
    else:
        toks = php_tokens(text)
        if kind == "wordpress":
            sites = find_define(toks, key)[0]
        elif kind == "joomla":
            sites = find_property(toks, key[1:])
        elif kind == "drupal":
            sites = find_assigned(toks, "databases", re.findall(r"\['([^']*)'\]", key), key)
        elif kind == "magento2":
            sites = find_returned(toks, key.split("."), key)
        else:
            sites = find_assigned(toks, key[1:], [], key)
        found = [t.value for t in _one_literal(sites, key, required=False)]
    return REDACTED if not found else found[0].replace("\n", "\\n")


# ------------------------------------------------------------------------------------------------- the file

def _open_dir_nofollow(path):
    """A directory fd of ``path``'s parent, opened component by component without following any symlink."""
    if not os.path.isabs(path):
        raise AppConfigError("not adjusted: the path must be absolute")
    parts = [p for p in os.path.dirname(path).split("/") if p]
    fd = os.open("/", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for p in parts:
            if p in (".", ".."):
                raise AppConfigError("not adjusted: the path must be normalised")
            try:
                nfd = os.open(p, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise AppConfigError("not adjusted: a directory of the path is a symlink or not a directory") \
                        from None
                raise
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_config(path):
    """``(dir fd, name, stat, text)`` of the regular file ``path``, never following a symlink."""
    dfd = _open_dir_nofollow(path)
    name = os.path.basename(path)
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0), dir_fd=dfd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise AppConfigError("not adjusted: the path is a symlink") from None
            if exc.errno == errno.ENOENT:
                raise AppConfigError("not adjusted: the file does not exist") from None
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise AppConfigError("not adjusted: the path is not a regular file")
            if st.st_size > MAX_SIZE:
                raise AppConfigError("not adjusted: the file is larger than %d bytes" % MAX_SIZE)
            chunks = []
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                chunks.append(b)
                if sum(len(c) for c in chunks) > MAX_SIZE:
                    raise AppConfigError("not adjusted: the file is larger than %d bytes" % MAX_SIZE)
        finally:
            os.close(fd)
    except BaseException:
        os.close(dfd)
        raise
    return dfd, name, st, b"".join(chunks).decode("utf-8", "surrogateescape")


def write_config(dfd, name, st, text):
    """Replace ``name`` in the directory ``dfd`` atomically (temporary file + rename) with the owner, group and
    mode of ``st``."""
    data = text.encode("utf-8", "surrogateescape")
    tmp = None
    for attempt in range(100):
        cand = ".%s.s4tmp%d.%d" % (name, os.getpid(), attempt)
        try:
            fd = os.open(cand, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                continue
            raise
        tmp = cand
        break
    if tmp is None:
        raise AppConfigError("not adjusted: no temporary file could be created next to the file")
    try:
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dfd)
        raise


def run(path, kind, wanted, check_mode=False, want_diff=False):
    """Adjust the file ``path``: ``{changed, kind, adjusted, diff?}``; raises :class:`AppConfigError`."""
    dfd, name, st, text = read_config(path)
    try:
        if kind == "auto":
            kind = detect(path, text)
            if kind is None:
                raise AppConfigError("not adjusted: the kind of config file could not be recognised")
        new, adjusted = adjust_text(text, kind, wanted)
        changed = new != text
        result = {"changed": changed, "kind": kind, "adjusted": adjusted}
        if want_diff:
            result["diff"] = {"before_header": path, "after_header": path,
                              "before": describe(text, kind, adjusted, False),
                              "after": describe(new, kind, adjusted, True)}
        if changed and not check_mode:
            write_config(dfd, name, st, new)
        return result
    finally:
        os.close(dfd)
