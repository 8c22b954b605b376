# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Private module_utils of smartt.s4 (may change without notice). Target side: stdlib only, Python 3.6+.
"""Sites: vhosts from nginx/apache configs, PHP-FPM pools, bounded docroot walks, web-app and JS-library detection."""

import glob
import json
import os
import re
import time

from ansible_collections.smartt.s4.plugins.module_utils.s4_discovery_components import read_regular

# ---------------------------------------------------------------------------------------------------------------
# nginx


def _nginx_tokens(text):
    """Tokens of an nginx config: words (quotes removed), '{', '}', ';'. Comments are dropped."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "{};":
            tokens.append(c)
            i += 1
        elif c in "\"'":
            j = i + 1
            buf = []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            tokens.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


def _nginx_tree(tokens):
    """Nested [(directive, args, children|None)] from tokens."""
    root = []
    stack = [root]
    cur = []
    for t in tokens:
        if t == ";":
            if cur:
                stack[-1].append((cur[0], cur[1:], None))
            cur = []
        elif t == "{":
            block = []
            stack[-1].append((cur[0] if cur else "", cur[1:], block))
            stack.append(block)
            cur = []
        elif t == "}":
            if len(stack) > 1:
                stack.pop()
            cur = []
        else:
            cur.append(t)
    return root


def _walk_nginx(nodes):
    for d, args, children in nodes:
        yield d, args, children
        if children:
            for x in _walk_nginx(children):
                yield x


def parse_nginx_config(text, path):
    """Server blocks of one nginx config file: [{server_names, root, fastcgi_pass, listen, config}]."""
    tree = _nginx_tree(_nginx_tokens(text))
    servers = []
    for d, _args, children in _walk_nginx(tree):
        if d != "server" or children is None:
            continue
        names, listen, root, fcgi, loc_root = [], [], None, None, None
        for cd, cargs, _cchildren in children:
            if cd == "server_name":
                names.extend(cargs)
            elif cd == "listen" and cargs:
                listen.append(cargs[0])
            elif cd == "root" and cargs:
                root = cargs[0]
        for cd, cargs, cchildren in _walk_nginx(children):
            if cd == "fastcgi_pass" and cargs and fcgi is None:
                fcgi = cargs[0]
            if cd == "location" and cchildren and cargs and cargs[-1] == "/":
                for xd, xargs, _x in cchildren:
                    if xd in ("root", "alias") and xargs:
                        loc_root = xargs[0]
        servers.append({
            "server": "nginx", "server_names": [x for x in names if x], "listen": listen,
            "root": (root or loc_root or "").rstrip("/") or None, "fastcgi": fcgi, "config": path,
        })
    return servers


# ---------------------------------------------------------------------------------------------------------------
# apache

_APACHE_VHOST_RE = re.compile(r"<VirtualHost\s+([^>]*)>(.*?)</VirtualHost>", re.S | re.I)


def _apache_directive(body, name):
    out = []
    for line in body.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        parts = s.split(None, 1)
        if parts[0].lower() == name.lower() and len(parts) > 1:
            out.append(parts[1].strip())
    return out


def _unquote(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    return s


_APACHE_FCGI_RE = re.compile(r"proxy:unix:([^|\"\s]+)\|fcgi://|fcgi://([0-9A-Za-z.\-\[\]:]+:\d+)", re.I)


def parse_apache_config(text, path):
    """<VirtualHost> blocks of one apache config file."""
    servers = []
    for m in _APACHE_VHOST_RE.finditer(text):
        listen, body = m.group(1).strip(), m.group(2)
        names = [_unquote(x) for x in _apache_directive(body, "ServerName")]
        for a in _apache_directive(body, "ServerAlias"):
            names.extend(_unquote(x) for x in a.split())
        roots = _apache_directive(body, "DocumentRoot")
        fcgi = None
        fm = _APACHE_FCGI_RE.search(body)
        if fm:
            fcgi = ("unix:" + fm.group(1)) if fm.group(1) else fm.group(2)
        servers.append({
            "server": "httpd" if path.startswith("/etc/httpd/") else "apache2",
            "server_names": [n.split(":")[0] for n in names if n], "listen": [listen],
            "root": _unquote(roots[0]).rstrip("/") if roots else None, "fastcgi": fcgi, "config": path,
        })
    return servers


def apache_mod_php(root="/"):
    """PHP version loaded into apache as a module (mods-enabled/php7.4.load or conf.modules.d), else None."""
    for pattern in ("etc/apache2/mods-enabled/php*.load", "etc/httpd/conf.modules.d/*php*.conf"):
        for p in sorted(glob.glob(os.path.join(root, pattern))):
            m = re.search(r"php(\d+\.\d+)", os.path.basename(p))
            if m:
                return m.group(1)
            try:
                with open(p) as fh:
                    m = re.search(r"libphp(\d+(?:\.\d+)?)?\.so", fh.read())
            except OSError:
                m = None
            if m:
                return m.group(1) or ""
    return None


# ---------------------------------------------------------------------------------------------------------------
# PHP-FPM pools


def parse_fpm_pool(text, path):
    """Pools of one php-fpm pool file: [{pool, listen, user, version, config}]."""
    pools = []
    cur = None
    m = re.search(r"/php/(\d+\.\d+)/fpm/|/php(\d)(\d+)/php-fpm\.d/", path)
    version = None
    if m:
        version = m.group(1) or "%s.%s" % (m.group(2), m.group(3))
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in ";#":
            continue
        if s.startswith("[") and s.endswith("]"):
            cur = {"pool": s[1:-1].strip(), "listen": None, "user": None, "version": version, "config": path}
            if cur["pool"].lower() != "global":
                pools.append(cur)
            continue
        if cur is None or "=" not in s:
            continue
        k, _, v = s.partition("=")
        k, v = k.strip(), v.strip().strip("\"'")
        if k == "listen":
            cur["listen"] = v
        elif k == "user":
            cur["user"] = v
    for p in pools:
        if p["listen"] and p["version"]:
            p["listen"] = p["listen"].replace("$pool", p["pool"])
    return pools


def normalise_listen(addr):
    """fastcgi_pass / listen values in one form: 'unix:/run/x.sock' -> '/run/x.sock'; ':9000' -> '127.0.0.1:9000'."""
    if not addr:
        return None
    a = addr.strip()
    if a.startswith("unix:"):
        a = a[5:]
    if a.startswith("/"):
        return os.path.normpath(a)
    if a.isdigit():
        return "127.0.0.1:" + a
    if a.startswith("localhost:"):
        return "127.0.0.1:" + a.split(":", 1)[1]
    return a


# ---------------------------------------------------------------------------------------------------------------
# web application detectors (each reads a few known files; no code is executed)

def _read(path, limit=262144, within=None):
    """Text of a tenant file, or None: a regular file only (a FIFO/device planted under a marker name is not
    opened blocking, a final symlink is not followed) and, with ``within``, only when it really lies in that tree
    (a marker reached through a symlinked directory into another tenant's tree is not read)."""
    try:
        return read_regular(path, limit, within).decode("utf-8", "replace")
    except (OSError, UnicodeError):
        return None


def _app(product, version, path, evidence, **details):
    d = {"product": product, "version": version, "path": path, "evidence": evidence}
    if details:
        d["details"] = details
    return d


def detect_wordpress(d):
    text = _read(os.path.join(d, "wp-includes", "version.php"), within=d)
    if not text:
        return None
    m = re.search(r"\$wp_version\s*=\s*['\"]([^'\"]+)['\"]", text)
    if not m:
        return None
    extra = {}
    for var in ("wp_db_version", "required_php_version", "required_mysql_version"):
        mm = re.search(r"\$%s\s*=\s*['\"]?([^'\";]+)['\"]?\s*;" % var, text)
        if mm:
            extra[var] = mm.group(1).strip()
    return _app("wordpress", m.group(1), d, "wp-includes/version.php", **extra)


def detect_drupal(d):
    text = _read(os.path.join(d, "core", "lib", "Drupal.php"), within=d)
    if text:
        m = re.search(r"const\s+VERSION\s*=\s*['\"]([^'\"]+)['\"]", text)
        if m:
            return _app("drupal", m.group(1), d, "core/lib/Drupal.php")
    text = _read(os.path.join(d, "includes", "bootstrap.inc"), within=d)
    if text:
        m = re.search(r"define\(\s*['\"]VERSION['\"]\s*,\s*['\"]([^'\"]+)['\"]", text)
        if m:
            return _app("drupal", m.group(1), d, "includes/bootstrap.inc")
    return None


def detect_joomla(d):
    for rel in ("libraries/src/Version.php", "libraries/cms/version/version.php", "libraries/joomla/version.php"):
        text = _read(os.path.join(d, rel), within=d)
        if not text:
            continue
        parts = {}
        for k in ("MAJOR_VERSION", "MINOR_VERSION", "PATCH_VERSION", "RELEASE", "DEV_LEVEL"):
            m = re.search(r"(?:const|public)\s+\$?%s\s*=\s*['\"]?([0-9.]+)['\"]?\s*;" % k, text)
            if m:
                parts[k] = m.group(1)
        if {"MAJOR_VERSION", "MINOR_VERSION", "PATCH_VERSION"} <= set(parts):
            v = "%s.%s.%s" % (parts["MAJOR_VERSION"], parts["MINOR_VERSION"], parts["PATCH_VERSION"])
        elif "RELEASE" in parts and "DEV_LEVEL" in parts:
            v = "%s.%s" % (parts["RELEASE"], parts["DEV_LEVEL"])
        else:
            continue
        return _app("joomla", v, d, rel)
    return None


def detect_magento1(d):
    text = _read(os.path.join(d, "app", "Mage.php"), within=d)
    if not text:
        return None
    m = re.search(r"function getVersionInfo\(\)\s*\{\s*return\s+array\((.*?)\);", text, re.S)
    if not m:
        return None
    parts = dict(re.findall(r"'(major|minor|revision|patch)'\s*=>\s*'(\d*)'", m.group(1)))
    if not all(parts.get(k) for k in ("major", "minor", "revision")):
        return None
    v = "%s.%s.%s" % (parts["major"], parts["minor"], parts["revision"])
    if parts.get("patch"):
        v += "." + parts["patch"]
    return _app("magento", v, d, "app/Mage.php")


def detect_roundcube(d):
    for rel in ("program/include/iniset.php", "index.php", "program/include/rcmail.php"):
        text = _read(os.path.join(d, rel), 65536, within=d)
        if not text:
            continue
        m = re.search(r"define\(\s*['\"]RCMAIL_VERSION['\"]\s*,\s*['\"]([^'\"]+)['\"]", text)
        if m:
            return _app("roundcube", m.group(1), d, rel)
        if rel == "index.php":
            m = re.search(r"Roundcube Webmail (?:IMAP Client\s*)?\|?\s*\n?\s*\|\s*Version (\d+\.\d+[^\s|]*)", text)
            if m:
                return _app("roundcube", m.group(1), d, rel)
    return None


def detect_phpmyadmin(d):
    for rel, rx in (
        ("libraries/classes/Version.php", r"const\s+VERSION\s*=\s*['\"]([^'\"]+)['\"]"),
        ("libraries/classes/Config.php", r"'PMA_VERSION'\s*,\s*['\"]([^'\"]+)['\"]"),
        ("libraries/Config.php", r"'PMA_VERSION'\s*,\s*['\"]([^'\"]+)['\"]"),
        ("libraries/Config.class.php", r"'PMA_VERSION'\s*,\s*['\"]([^'\"]+)['\"]"),
    ):
        text = _read(os.path.join(d, rel), within=d)
        if text:
            m = re.search(rx, text)
            if m:
                return _app("phpmyadmin", m.group(1), d, rel)
    return None


def detect_laravel(d):
    text = _read(os.path.join(d, "vendor", "laravel", "framework", "src", "Illuminate", "Foundation",
                              "Application.php"), 65536, within=d)
    if text:
        m = re.search(r"const\s+VERSION\s*=\s*['\"]([^'\"]+)['\"]", text)
        if m:
            return _app("laravel", m.group(1), d, "vendor/laravel/framework/src/Illuminate/Foundation/Application.php")
    return None


# composer packages that identify a product (package name -> product)
COMPOSER_PRODUCTS = {
    "laravel/framework": "laravel",
    "drupal/core": "drupal",
    "drupal/core-recommended": "drupal",
    "magento/product-community-edition": "magento",
    "magento/product-enterprise-edition": "magento",
    "magento/magento2-base": "magento",
    "symfony/http-kernel": "symfony",
    "typo3/cms-core": "typo3",
    "roundcube/roundcubemail": "roundcube",
    "phpmyadmin/phpmyadmin": "phpmyadmin",
    "johnpbloch/wordpress-core": "wordpress",
    "roots/wordpress-no-content": "wordpress",
    "joomla/joomla-cms": "joomla",
}
# npm packages that are front-end libraries (package name -> library product)
NPM_LIBRARIES = {
    "jquery": "jquery", "jquery-ui": "jquery-ui", "jquery-ui-dist": "jquery-ui", "bootstrap": "bootstrap",
    "angular": "angularjs", "@angular/core": "angular", "vue": "vue", "react": "react", "moment": "moment",
    "lodash": "lodash", "underscore": "underscore", "jquery-migrate": "jquery-migrate",
}


def _pkg_entry(name, version):
    """(name, version) when both are plain short strings (tenant files: anything else is dropped), else None."""
    if isinstance(name, str) and isinstance(version, str) and 0 < len(name) <= 214 and 0 < len(version) <= 128:
        return name, version
    return None


def parse_composer_lock(text):
    """{name: version} of a composer.lock (packages and packages-dev); versions without a leading 'v'."""
    data = json.loads(text)
    out = {}
    for sect in ("packages", "packages-dev"):
        for p in data.get(sect) or []:
            if isinstance(p, dict):
                e = _pkg_entry(p.get("name"), p.get("version"))
                if e:
                    out[e[0]] = e[1].lstrip("v")
    return out


def parse_package_lock(text):
    """{name: version} of the direct and nested packages of a package-lock.json (v1, v2 and v3 layouts)."""
    data = json.loads(text)
    out = {}
    pk = data.get("packages")
    if isinstance(pk, dict):
        for key, p in pk.items():
            if not key or not isinstance(p, dict) or not p.get("version"):
                continue
            e = _pkg_entry(p.get("name") or key.rsplit("node_modules/", 1)[-1], p["version"])
            if e:
                out.setdefault(e[0], e[1])
    deps = data.get("dependencies")
    if isinstance(deps, dict):
        for name, p in deps.items():
            if isinstance(p, dict):
                e = _pkg_entry(name, p.get("version"))
                if e:
                    out.setdefault(e[0], e[1])
    return out


def detect_composer(d, lock_path):
    """Apps and framework products from a composer.lock in ``d``."""
    text = _read(lock_path, 8 * 1024 * 1024, within=d)
    if text is None:
        return [], "composer.lock unreadable: %s" % lock_path
    try:
        pkgs = parse_composer_lock(text)
    except (ValueError, AttributeError, TypeError, RecursionError) as exc:
        return [], "composer.lock not valid JSON: %s (%s)" % (lock_path, str(exc)[:200])
    apps = []
    seen = set()
    for name, product in COMPOSER_PRODUCTS.items():
        if name in pkgs and product not in seen:
            seen.add(product)
            apps.append(_app(product, pkgs[name], d, "composer.lock: %s %s" % (name, pkgs[name])))
    apps.append(_app("composer", None, d, "composer.lock",
                     packages=[{"name": n, "version": v} for n, v in sorted(pkgs.items())][:500]))
    return apps, None


def detect_npm(d, lock_path):
    text = _read(lock_path, 16 * 1024 * 1024, within=d)
    if text is None:
        return [], [], "package-lock.json unreadable: %s" % lock_path
    try:
        pkgs = parse_package_lock(text)
    except (ValueError, AttributeError, TypeError, RecursionError) as exc:
        return [], [], "package-lock.json not valid JSON: %s (%s)" % (lock_path, str(exc)[:200])
    libs = []
    for name, product in NPM_LIBRARIES.items():
        if name in pkgs:
            libs.append({"product": product, "version": pkgs[name], "path": lock_path,
                         "evidence": "package-lock.json: %s" % name})
    app = _app("npm", None, d, "package-lock.json",
               packages=[{"name": n, "version": v} for n, v in sorted(pkgs.items())][:500])
    return [app], libs, None


# marker file (relative to an app root) -> detector; the walk checks each directory for these
APP_MARKERS = [
    ("wp-includes/version.php", detect_wordpress),
    ("core/lib/Drupal.php", detect_drupal),
    ("includes/bootstrap.inc", detect_drupal),
    ("libraries/src/Version.php", detect_joomla),
    ("libraries/cms/version/version.php", detect_joomla),
    ("libraries/joomla/version.php", detect_joomla),
    ("app/Mage.php", detect_magento1),
    ("program/include/iniset.php", detect_roundcube),
    ("program/include/rcmail.php", detect_roundcube),
    ("libraries/classes/Version.php", detect_phpmyadmin),
    ("libraries/classes/Config.php", detect_phpmyadmin),
    ("libraries/Config.class.php", detect_phpmyadmin),
    ("artisan", detect_laravel),
]


_MARKER_HEADS = set(m.split("/")[0] for m, _fn in APP_MARKERS)


def detect_apps_at(d, names=None):
    """Run the detectors whose marker exists in ``d``; returns apps found (deduplicated by product).

    ``names``: the directory's entry names when the caller already listed it (saves a stat per marker).
    """
    apps = []
    done = set()
    if names is not None and not (_MARKER_HEADS & names):
        return apps
    for marker, fn in APP_MARKERS:
        if fn in done:
            continue
        if names is not None and marker.split("/")[0] not in names:
            continue
        if os.path.isfile(os.path.join(d, marker)):
            a = fn(d)
            if a:
                apps.append(a)
                done.add(fn)
    return apps


# ---------------------------------------------------------------------------------------------------------------
# front-end libraries from file banners (retire.js-style extractors)

LIBRARY_NAME_RE = re.compile(r"jquery|bootstrap|angular|moment|lodash|underscore|vue|react|popper|tinymce|ckeditor",
                             re.I)


def is_library_candidate(relpath):
    """A .js/.css file named after a known library, or a minified/core file in a directory named after one
    (wp-includes/js/jquery/ui/core.min.js). Keeps the number of files opened small in big JS trees."""
    if not relpath.endswith((".js", ".css")):
        return False
    parts = relpath.split("/")
    name = parts[-1]
    if LIBRARY_NAME_RE.search(name):
        return True
    if name.endswith((".min.js", ".min.css")) or name in ("core.js", "index.js", "version.js"):
        return bool(LIBRARY_NAME_RE.search("/".join(parts[-3:-1])))
    return False

_BANNERS = [
    ("jquery-ui", re.compile(r"jQuery UI\s*-\s*v(\d+\.\d+\.\d+)")),
    ("jquery-ui", re.compile(r"jQuery UI (\d+\.\d+\.\d+)")),
    ("jquery-ui", re.compile(r"\$\.ui\.version\s*=\s*['\"](\d+\.\d+\.\d+)")),
    ("jquery-migrate", re.compile(r"jQuery Migrate\s*(?:-\s*)?v(\d+\.\d+\.\d+)")),
    ("jquery", re.compile(r"jQuery JavaScript Library v(\d+\.\d+\.\d+)")),
    ("jquery", re.compile(r"/\*!? jQuery v(\d+\.\d+\.\d+)")),
    ("bootstrap", re.compile(r"Bootstrap v(\d+\.\d+\.\d+) \(https?://getbootstrap\.com")),
    ("angularjs", re.compile(r"@license AngularJS v(\d+\.\d+\.\d+)")),
    ("moment", re.compile(r"//! version : (\d+\.\d+\.\d+)[\s\S]{0,80}moment", re.I)),
    ("moment", re.compile(r"//! moment\.js\s*\n//! version : (\d+\.\d+\.\d+)")),
    # lodash before underscore: lodash's own banner says "Based on Underscore.js 1.8.3" (that is not underscore)
    ("lodash", re.compile(r"@license\s*\n?\s*\*?\s*Lo[Dd]ash (\d+\.\d+\.\d+)")),
    ("lodash", re.compile(r"Lodash <https://lodash\.com/>[\s\S]*?\bVERSION\s*=\s*['\"](\d+\.\d+\.\d+)['\"]")),
    # underscore's own header line (//     Underscore.js 1.9.1), never a mention inside another library's banner
    ("underscore", re.compile(r"^(?://|/\*!?)?[ \t]*Underscore\.js (\d+\.\d+\.\d+)", re.M)),
    ("vue", re.compile(r"Vue\.js v(\d+\.\d+\.\d+)")),
    ("react", re.compile(r"@license React v(\d+\.\d+\.\d+)")),
    ("popper", re.compile(r"@popperjs/core v(\d+\.\d+\.\d+)|Popper\.js v?(\d+\.\d+\.\d+)")),
    ("tinymce", re.compile(r"TinyMCE version (\d+\.\d+\.\d+)")),
]


def detect_library(path, head):
    """(product, version) from the first bytes of a .js/.css file, or None. A lodash banner without its version in
    those bytes (lodash.min.js) is not some other library: None."""
    if "Lodash <https://lodash.com/>" in head and not any(rx.search(head) for p, rx in _BANNERS if p == "lodash"):
        return None
    for product, rx in _BANNERS:
        m = rx.search(head)
        if m:
            return product, next(g for g in m.groups() if g)
    return None


# ---------------------------------------------------------------------------------------------------------------
# bounded docroot walk

PRUNE_DIRS = {".git", ".svn", ".hg", "node_modules", "vendor", "cache", ".cache", "tmp", "uploads", "sessions"}
MAX_SKIPPED = 50


def foreign_link(docroot, real_root):
    """Why a docroot must not be walked, or None: it reaches, through a symlink owned by a non-root user, a
    directory owned by another non-root user (a tenant's public_html -> another tenant's tree would otherwise
    put that tenant's apps and files into this site's facts)."""
    link_owners = set()
    cur = ""
    for part in [x for x in os.path.normpath(docroot).split("/") if x]:
        cur += "/" + part
        try:
            st = os.lstat(cur)
        except OSError:
            break
        if os.path.islink(cur) and st.st_uid != 0:
            link_owners.add((cur, st.st_uid))
    if not link_owners:
        return None
    try:
        owner = os.stat(real_root).st_uid
    except OSError as exc:
        return "unreadable: %s" % (exc.strerror or exc)
    for link, uid in sorted(link_owners):
        if owner not in (0, uid):
            return "symlink %s (owner uid %d) leads to %s owned by uid %d" % (link, uid, real_root, owner)
    return None


def walk_docroot(docroot, max_depth, max_files, deadline):
    """Walk a docroot without following symlinks: returns (apps, libraries, walk, warnings).

    walk = {files, dirs, truncated, skipped: [{path, reason}] (at most MAX_SKIPPED, plus skipped_more)}.
    """
    warnings = []
    walk = {"files": 0, "dirs": 0, "truncated": False, "skipped": []}
    apps, libs = [], []

    def skip(path, reason):
        if len(walk["skipped"]) < MAX_SKIPPED:
            walk["skipped"].append({"path": path, "reason": reason})
        else:
            walk["skipped_more"] = walk.get("skipped_more", 0) + 1

    if not os.path.lexists(docroot):
        return apps, libs, walk, ["docroot %s is missing" % docroot]
    real_root = os.path.realpath(docroot)
    if not os.path.isdir(real_root):
        return apps, libs, walk, ["docroot %s is not a directory" % docroot]
    if not os.access(real_root, os.R_OK | os.X_OK):
        return apps, libs, walk, ["docroot %s is not readable" % docroot]
    crossing = foreign_link(docroot, real_root)
    if crossing:
        return apps, libs, walk, ["docroot %s not walked: %s" % (docroot, crossing)]
    if real_root != os.path.normpath(docroot):
        walk["resolved"] = real_root

    def inside(p):
        return p == real_root or p.startswith(real_root.rstrip("/") + "/")

    # app roots: the docroot and its parent (Laravel public/, Drupal/Composer web/ layouts)
    seen_apps = set()

    def add_apps(found):
        for a in found:
            k = (a["product"], a["path"])
            if k not in seen_apps:
                seen_apps.add(k)
                apps.append(a)

    parent = os.path.dirname(real_root)
    add_apps(detect_apps_at(real_root))
    if parent != real_root:
        add_apps(detect_apps_at(parent))
        lp = os.path.join(parent, "composer.lock")
        if os.path.isfile(lp):
            found, warn = detect_composer(parent, lp)
            add_apps(found)
            if warn:
                warnings.append(warn)
        lp = os.path.join(parent, "package-lock.json")
        if os.path.isfile(lp):
            found, flibs, warn = detect_npm(parent, lp)
            add_apps(found)
            libs.extend(flibs)
            if warn:
                warnings.append(warn)

    stack = [(real_root, 0, "")]
    while stack:
        d, depth, rel = stack.pop()
        if time.time() > deadline:
            walk["truncated"] = True
            skip(d, "time budget exhausted")
            for rest, _depth, _rel in stack:
                skip(rest, "time budget exhausted")
            break
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            if d == real_root:
                return apps, libs, walk, ["docroot %s is not readable: %s" % (docroot, exc.strerror or exc)]
            skip(d, "unreadable: %s" % (exc.strerror or exc))
            continue
        walk["dirs"] += 1
        if d != real_root:
            add_apps(detect_apps_at(d, set(e.name for e in entries)))
        for e in entries:
            if walk["files"] >= max_files:
                walk["truncated"] = True
                skip(d, "file limit (%d) reached" % max_files)
                stack = []
                break
            try:
                if e.is_symlink():
                    target = os.path.realpath(e.path)
                    if not inside(target):
                        skip(e.path, "symlink out of the docroot (-> %s) not followed" % target)
                        continue
                    if os.path.isdir(target):
                        skip(e.path, "symlink to a directory inside the docroot not followed")
                        continue
                    is_file = os.path.isfile(target)
                    path = target
                elif e.is_dir(follow_symlinks=False):
                    if e.name in PRUNE_DIRS and e.name not in ("vendor",):
                        skip(e.path, "pruned (%s)" % e.name)
                        continue
                    if e.name == "vendor" and (os.path.isdir(os.path.join(e.path, "composer"))
                                               or os.path.isfile(os.path.join(e.path, "autoload.php"))):
                        # Composer's PHP dependencies: covered by composer.lock; not walked
                        skip(e.path, "pruned (composer vendor)")
                        continue
                    if depth + 1 > max_depth:
                        walk["truncated"] = True
                        skip(e.path, "depth limit (%d) reached" % max_depth)
                        continue
                    stack.append((e.path, depth + 1, rel + e.name + "/"))
                    continue
                else:
                    is_file = e.is_file(follow_symlinks=False)
                    path = e.path
            except OSError as exc:
                skip(e.path, "unreadable: %s" % (exc.strerror or exc))
                continue
            if not is_file:
                continue
            walk["files"] += 1
            name = e.name
            if name == "composer.lock":
                found, warn = detect_composer(d, path)
                add_apps(found)
                if warn:
                    warnings.append(warn)
            elif name == "package-lock.json":
                found, flibs, warn = detect_npm(d, path)
                add_apps(found)
                libs.extend(flibs)
                if warn:
                    warnings.append(warn)
            elif name.endswith((".js", ".css")) and is_library_candidate(rel + name):
                try:
                    head = read_regular(path, 2048, real_root).decode("utf-8", "replace")
                except OSError as exc:
                    skip(e.path, "unreadable: %s" % (exc.strerror or exc))
                    continue
                hit = detect_library(path, head)
                if hit:
                    libs.append({"product": hit[0], "version": hit[1], "path": e.path, "evidence": "banner"})
    # one entry per (product, version): the first file found and how many files carry it
    uniq = {}
    for lib in sorted(libs, key=lambda x: x["path"]):
        k = (lib["product"], lib["version"])
        if k in uniq:
            uniq[k]["files"] += 1
        else:
            lib["files"] = 1
            uniq[k] = lib
    libs = [uniq[k] for k in sorted(uniq)]
    apps.sort(key=lambda a: (a["path"], a["product"]))
    return apps, libs, walk, warnings


# ---------------------------------------------------------------------------------------------------------------
# putting sites together


def _fpm_index(pools):
    idx = {}
    for p in pools:
        key = normalise_listen(p.get("listen"))
        if key:
            idx[key] = p
    return idx


def php_for_vhost(vhost, pools_idx, mod_php_version):
    """The PHP version/pool that serves a vhost: FPM pool by fastcgi target, else apache mod_php, else None."""
    if vhost is None:
        return None
    target = normalise_listen(vhost.get("fastcgi"))
    if target:
        pool = pools_idx.get(target)
        if pool:
            return {"version": pool.get("version"), "pool": pool["pool"], "socket": target, "sapi": "fpm"}
        m = re.search(r"php(\d+\.\d+)", target)
        return {"version": m.group(1) if m else None, "pool": None, "socket": target, "sapi": "fpm"}
    if vhost.get("server") == "apache2" and mod_php_version is not None:
        return {"version": mod_php_version or None, "pool": None, "socket": None, "sapi": "apache2handler"}
    return None


def match_vhost(site, vhosts):
    """The vhost serving a CMDB site: same docroot first, else a server name equal to its domain or an alias."""
    docroot = os.path.normpath(site["docroot"])
    real = os.path.realpath(docroot)
    for v in vhosts:
        if v.get("root") and os.path.normpath(v["root"]) in (docroot, real):
            return v
    names = {site.get("domain")} | set(site.get("aliases") or [])
    for v in vhosts:
        if names & set(v.get("server_names") or []):
            return v
    return None


def build_sites(cmdb_sites, vhosts, pools, mod_php_version, max_depth, max_files, deadline):
    """Sites for the facts: every CMDB site plus every vhost with a docroot not covered by one."""
    pools_idx = _fpm_index(pools)
    sites = []
    warnings = []
    used = set()
    entries = []
    for s in cmdb_sites or []:
        v = match_vhost(s, vhosts)
        if v is not None:
            used.add(id(v))
        entries.append((s, v, True))
    covered = set(os.path.normpath(s["docroot"]) for s, _v, _c in entries)
    for v in vhosts:
        if id(v) in used or not v.get("root"):
            continue
        root = os.path.normpath(v["root"])
        if root in covered:
            continue
        covered.add(root)
        names = [n for n in v.get("server_names") or [] if n not in ("_", "localhost", "")]
        name = names[0] if names else os.path.basename(v["config"])
        entries.append(({"name": name, "client": None, "domain": names[0] if names else None,
                         "aliases": names[1:], "docroot": root}, v, False))
    for s, v, in_cmdb in entries:
        apps, libs, walk, warns = walk_docroot(s["docroot"], max_depth, max_files, deadline)
        for w in warns:
            warnings.append("site %s: %s" % (s["name"], w))
        site = {
            "name": s["name"], "client": s.get("client"), "domain": s.get("domain"),
            "aliases": list(s.get("aliases") or []), "docroot": s["docroot"],
            "server": v["server"] if v else None, "config": v["config"] if v else None,
            "php": php_for_vhost(v, pools_idx, mod_php_version), "apps": apps, "libraries": libs, "walk": walk,
            "in_cmdb": in_cmdb,
        }
        if s.get("app"):
            site["app_hint"] = s["app"]
        if walk["truncated"]:
            warnings.append("site %s: walk truncated (%d files seen)" % (s["name"], walk["files"]))
        sites.append(site)
    return sites, warnings
