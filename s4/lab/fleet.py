"""The fleet lab's plan: N light hosts varied from a fixed seed, and their CMDB (``inventories/fleet/``).

Pure data, no podman: ``plan(n, seed)`` returns the same hosts for the same (n, seed) on any machine, and
``render_cmdb`` turns them into a CMDB in the format of ``inventories/lab/cmdb.yml`` (checked by ``s4.cmdb``).
``s4.lab.fleetctl`` builds the shared images ("flavours") and starts one container per host from this plan.

Variation (issue #18): release mix (Debian 11/12/13 through the flavours), package sets (the flavour's packages;
about a quarter of the in-scope hosts with some packages rolled back to the suite's point release, i.e. missing
updates), a tarball runtime (Node.js under /opt) on some, 0-5 sites per in-scope host that are copies of the lab's
real app trees with front-end libraries at a spread of versions, small client data per site, clients spread over
hosts (shared hosts carry several), about 10 % of the hosts out of scope (colocation, unmanaged, connectivity).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from s4 import cmdb as s4_cmdb
from s4 import names
from s4.lab import topology

DEFAULT_SEED = 18
MAX_HOSTS = 200
NETWORK = "s4fleet"
# the lab's own network (10.89.40.0/24) keeps .100-.199 for POC VMs and has fewer than 200 free addresses:
# the fleet gets a network of its own, created and removed by scripts/lab like the lab's
SUBNET = "10.89.41.0/24"
GATEWAY = "10.89.41.1"
FIRST_HOST = 10  # 10.89.41.10 .. 10.89.41.209
CONTAINER_PREFIX = "s4fleet-"
IMAGE_REPO = "localhost/s4fleet"
FLEET_DIR = topology.ROOT / "inventories" / "fleet"
CMDB_PATH = FLEET_DIR / "cmdb.yml"
DOMAIN = "fleet.smartt.example"
POOL = "/usr/local/share/s4fleet"  # the shared app trees, libraries and rolled-back packages in every flavour
NODE_DIR = "/opt/node-v20.18.0"
BEHIND_SHARE = 0.25
CLIENTS = 120  # customer pool of the largest fleet (about 3 clients for 5 hosts)


@dataclass(frozen=True)
class Flavour:
    """A shared image many fleet hosts start from: a lab image with its heavy daemons disabled plus the pool."""

    name: str
    source: str  # a lab image (base-<suite> or host-<lab host>), used as is: the lab's images are never rebuilt
    suite: str
    disable: tuple[str, ...] = ()  # units disabled in the flavour (memory: the fleet aims at <= 40 MB per host)
    services: tuple[str, ...] = ("ssh",)  # units expected active on a booted host
    node: bool = False  # carries the Node.js tarball runtime under /opt
    weight: int = 1


FLAVOURS: tuple[Flavour, ...] = (
    Flavour("d11-base", "base-bullseye", "bullseye", weight=2),
    Flavour("d11-nginx-php74", "host-mvps-acme-01", "bullseye",
            disable=("mariadb", "php7.4-fpm"), services=("ssh", "nginx"), weight=3),
    Flavour("d11-apache-php74", "host-mvps-globex-01", "bullseye",
            disable=("postgresql", "postgresql@13-main", "globex-api"), services=("ssh", "apache2"), node=True,
            weight=2),
    Flavour("d12-base", "base-bookworm", "bookworm", weight=2),
    Flavour("d12-apache-php82", "host-shared-01", "bookworm", disable=("php8.2-fpm",),
            services=("ssh", "apache2"), weight=4),
    Flavour("d12-node", "base-bookworm", "bookworm", node=True, weight=1),
    Flavour("d13-base", "base-trixie", "trixie", weight=2),
    Flavour("d13-nginx", "host-internal-01", "trixie", disable=("tomcat10", "redis-server"),
            services=("ssh", "nginx"), weight=2),
)
FLAVOUR_BY_NAME = {f.name: f for f in FLAVOURS}
SUITE_OS = {"bullseye": "debian-11", "bookworm": "debian-12", "trixie": "debian-13"}

# App trees copied from the lab's host images into the pool: kind -> (lab image, path in it, docroot below the copy)
APPS: dict[str, tuple[str, str, str]] = {
    "wordpress": ("host-mvps-acme-01", "/usr/share/wordpress", ""),
    "roundcube": ("host-mvps-globex-01", "/usr/share/roundcube", ""),
    "laravel": ("host-shared-01", "/srv/www/umbrella-shop", "public"),
    "php": ("host-shared-01", "/srv/www/initech-www", "public"),
    "node": ("host-shared-01", "/srv/www/hooli-app", "public"),
    "static": ("host-mvps-globex-01", "/srv/www/globex-www", ""),
}
# CMDB 'app' of each kind (the discovery's application names)
APP_LABEL = {"wordpress": "wordpress", "roundcube": "roundcube", "laravel": "laravel", "php": "php", "node": "php",
             "static": "php"}
APP_WEIGHTS = {"wordpress": 1, "roundcube": 1, "laravel": 2, "php": 3, "node": 2, "static": 2}
# front-end libraries at a spread of versions (npm packages, fetched once into .lab/cache/assets)
LIBS: dict[str, tuple[str, ...]] = {
    "jquery": ("1.12.4", "2.2.4", "3.4.1", "3.5.1", "3.7.1"),
    "jquery-ui": ("1.12.1", "1.13.2"),
    "bootstrap": ("3.3.7", "4.6.2", "5.3.3"),
    "lodash": ("4.17.15", "4.17.21"),
}
OUT_OF_SCOPE = ("colocation", "unmanaged", "connectivity")
SHORT = {"mvps": "mvps", "shared_hosting": "shared", "internal": "int", "colocation": "colo",
         "unmanaged": "unm", "connectivity": "conn"}


@dataclass(frozen=True)
class FleetSite:
    name: str
    client: str
    domain: str
    app: str  # a key of APPS
    libs: tuple[tuple[str, str], ...]  # (npm name, version) copied under <docroot>/vendor/<name>
    uploads: int  # small client data: number of files generated from the seed
    seed: int

    @property
    def root(self) -> str:
        return f"/srv/www/{self.name}"

    @property
    def docroot(self) -> str:
        sub = APPS[self.app][2]
        return f"{self.root}/{sub}" if sub else self.root


@dataclass(frozen=True)
class FleetHost:
    name: str
    index: int
    address: str
    flavour: str
    service: str
    clients: tuple[str, ...]
    public: bool
    sites: tuple[FleetSite, ...]
    behind: bool  # some packages rolled back to the suite's point release (missing updates)
    node: bool  # Node.js tarball runtime under /opt

    @property
    def container(self) -> str:
        return CONTAINER_PREFIX + self.name

    @property
    def suite(self) -> str:
        return FLAVOUR_BY_NAME[self.flavour].suite

    @property
    def in_scope(self) -> bool:
        return self.service in s4_cmdb.IN_SCOPE

    def digest(self) -> str:
        """What the host's first-boot overlay is made of (a changed plan recreates the container)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FleetClient:
    id: str
    name: str
    contacts: tuple[str, ...]


@dataclass(frozen=True)
class Fleet:
    seed: int
    hosts: tuple[FleetHost, ...]
    clients: tuple[FleetClient, ...]


def address(index: int) -> str:
    if not 1 <= index <= MAX_HOSTS:
        raise ValueError(f"fleet host index {index} outside 1..{MAX_HOSTS}")
    return str(ipaddress.ip_network(SUBNET)[FIRST_HOST + index - 1])


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _client_pool(seed: int) -> list[FleetClient]:
    rng = random.Random(f"s4fleet:{seed}:clients")
    pool = [FleetClient("smartt", "Smartt (internal)", ("noc@smartt.example",))]
    for c in range(1, CLIENTS + 1):
        cid = f"fc{c:03d}"
        contacts = () if rng.random() < 0.1 else (f"ops@{cid}.example",)  # some clients have no contact on file
        pool.append(FleetClient(cid, f"Fleet Client {c:03d}", contacts))
    return pool


def plan_host(i: int, seed: int = DEFAULT_SEED) -> FleetHost:
    """Host ``i`` of the fleet of ``seed``: the same whatever the fleet size (fleets of 50, 100, 200 nest)."""
    address(i)  # range check
    rng = random.Random(f"s4fleet:{seed}:{i}")
    # exactly one host in ten is out of scope, at an offset fixed by the seed (a fleet of 5 has one)
    offset = 1 + random.Random(f"s4fleet:{seed}:scope").randrange(5)
    if i % 10 == offset:
        service = rng.choice(OUT_OF_SCOPE)
    else:
        service = _weighted(rng, {"mvps": 11, "shared_hosting": 5, "internal": 2})
    flavour = FLAVOUR_BY_NAME[_weighted(rng, {f.name: f.weight for f in FLAVOURS})]
    customers = [f"fc{c:03d}" for c in range(1, CLIENTS + 1)]
    if service == "internal":
        hclients: tuple[str, ...] = ("smartt",)
    elif service == "shared_hosting":
        hclients = tuple(sorted(rng.sample(customers, rng.randint(2, 4))))
    elif service == "connectivity":
        hclients = ()
    else:
        hclients = (rng.choice(customers),)
    sites: list[FleetSite] = []
    in_scope = service in s4_cmdb.IN_SCOPE
    if in_scope and hclients:
        n_sites = rng.choice((0, 1, 1, 2, 2, 3, 4, 5)) if service != "internal" else rng.randint(0, 1)
        for j in range(n_sites):
            client = rng.choice(hclients)
            app = _weighted(rng, APP_WEIGHTS)
            tag = f"{i:03d}{chr(ord('a') + j)}"
            lib_names = rng.sample(sorted(LIBS), rng.randint(0, 3))
            libs = tuple((lib, rng.choice(LIBS[lib])) for lib in sorted(lib_names))
            sites.append(FleetSite(f"{client}-{app}-{tag}", client, f"{app}{tag}.{client}.example", app, libs,
                                   rng.randint(3, 24), rng.randrange(1 << 30)))
    return FleetHost(
        name=f"fleet-{SHORT[service]}-{i:03d}", index=i, address=address(i), flavour=flavour.name, service=service,
        clients=hclients, public=service != "connectivity" and rng.random() < 0.8, sites=tuple(sites),
        behind=in_scope and rng.random() < BEHIND_SHARE,
        node=flavour.node and rng.random() < 0.75,  # a flavour carrying the runtime keeps it on ~3 hosts in 4
    )


def plan(n: int, seed: int = DEFAULT_SEED) -> Fleet:
    """The fleet of ``n`` hosts for ``seed`` (deterministic: no clock, no machine state; plan(n) starts plan(n+k))."""
    if not 1 <= n <= MAX_HOSTS:
        raise ValueError(f"fleet size must be 1..{MAX_HOSTS}, not {n}")
    hosts = tuple(plan_host(i, seed) for i in range(1, n + 1))
    used = {c for h in hosts for c in h.clients}
    return Fleet(seed, hosts, tuple(c for c in _client_pool(seed) if c.id in used))


def check_names(fleet: Fleet) -> list[str]:
    """Every generated name passes the strict patterns of s4/names.py (the generator's values reach shell lines)."""
    problems: list[str] = []
    checks = []
    for h in fleet.hosts:
        checks.append((names.check_host_name, h.name, "host name"))
        for s in h.sites:
            checks += [(names.check_site_name, s.name, "site name"), (names.check_domain, s.domain, "domain"),
                       (names.check_abs_path, s.docroot, "docroot"), (names.check_client_id, s.client, "client")]
            checks += [(names.check_app, lib, "library") for lib, _v in s.libs]
    for check, value, what in checks:
        try:
            check(value, what)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def build_cmdb(fleet: Fleet) -> dict[str, Any]:
    hosts: dict[str, Any] = {}
    for h in fleet.hosts:
        hosts[h.name] = {
            "service": h.service,
            "address": h.address,
            "os": SUITE_OS[h.suite],
            "clients": list(h.clients),
            "public": h.public,
            "vars": {"s4_lab_container": h.container},
            "sites": [
                {"name": s.name, "client": s.client, "domain": s.domain, "aliases": [f"www.{s.domain}"],
                 "docroot": s.docroot, "app": APP_LABEL[s.app]}
                for s in h.sites
            ],
            "licences": [],
        }
    return {
        "plugin": "smartt.s4.cmdb",
        "cmdb": {
            "version": 1,
            "domain": DOMAIN,
            "clients": {c.id: {"name": c.name, "contacts": list(c.contacts)} for c in fleet.clients},
            "hosts": hosts,
        },
    }


HEADER = (
    "# Generated by `scripts/lab up --fleet N` from s4/lab/fleet.py (seed {seed}, {n} hosts): do not edit, not committed.\n"
    "# Schema: docs/CMDB.md. Connection settings: group_vars/s4_in_scope.yml next to this file.\n"
)

GROUP_VARS = """---
# Generated by `scripts/lab up --fleet N` (s4/lab/fleet.py): connection settings of the fleet's in-scope hosts.
ansible_user: root
ansible_ssh_private_key_file: "{{ inventory_dir }}/../../.lab/ssh/id_ed25519"
ansible_ssh_common_args: >-
  -o UserKnownHostsFile={{ inventory_dir }}/../../.lab/ssh/fleet_known_hosts
  -o StrictHostKeyChecking=yes
  -o IdentitiesOnly=yes
ansible_python_interpreter: /usr/bin/python3
"""


def render_cmdb(fleet: Fleet) -> str:
    from s4.lab.cmdb import _Dumper  # the lab CMDB's YAML layout (one look for both generated CMDBs)

    body = yaml.dump(build_cmdb(fleet), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120,
                     default_flow_style=False, explicit_start=True)
    return HEADER.format(seed=fleet.seed, n=len(fleet.hosts)) + body


def validate(fleet: Fleet) -> list[str]:
    """Problems of a fleet plan: names, the plugin's strict CMDB schema, the lab CMDB's consistency rules."""
    from s4.lab import cmdb as lab_cmdb

    data = build_cmdb(fleet)
    problems = check_names(fleet) + lab_cmdb.validate(data)
    try:
        s4_cmdb.validate(data["cmdb"], str(CMDB_PATH))
    except s4_cmdb.CmdbError as exc:
        problems += exc.problems
    return problems


def write_inventory(fleet: Fleet, directory: Path = FLEET_DIR) -> Path:
    """Write ``cmdb.yml`` and ``group_vars/s4_in_scope.yml`` for ``fleet`` (refused when the plan is invalid)."""
    problems = validate(fleet)
    if problems:
        raise ValueError("fleet CMDB is inconsistent:\n" + "\n".join(problems))
    (directory / "group_vars").mkdir(parents=True, exist_ok=True)
    (directory / "group_vars" / "s4_in_scope.yml").write_text(GROUP_VARS, encoding="utf-8")
    path = directory / "cmdb.yml"
    path.write_text(render_cmdb(fleet), encoding="utf-8")
    return path


def remove_inventory(directory: Path = FLEET_DIR) -> None:
    for p in (directory / "cmdb.yml", directory / "group_vars" / "s4_in_scope.yml"):
        p.unlink(missing_ok=True)
    for d in (directory / "group_vars", directory):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
