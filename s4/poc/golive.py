"""Go-live switch of a POC (docs/POC.md "Go-live"): the source's web server stops serving the POC's sites itself and
proxies them to the POC, so every client reaches the POC at once whatever their DNS caches hold; the DNS records
(A -> POC) are published in the POC's CMDB entry for the operator's DNS. The rollback puts the source's own vhosts
back exactly as they were.

On the source, the switch only *moves* the enabled entries of the sites' vhosts (the symbolic link in
``sites-enabled`` or the file in ``conf.d``) into a state directory and enables one proxy vhost per site next to
them; the original files are never edited. ``state.json`` in that directory, written before any change, lists
what was moved, what was added and which Apache modules the switch enabled, so a rollback (or a rerun of an
interrupted switch) knows exactly what to undo.

This module computes that plan from the POC plan and the source's discovered facts; the tasks in
``playbooks/tasks/poc_golive_*.yml`` apply it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from s4.poc.plan import slug as plan_slug

STATE_ROOT = "/var/lib/s4-golive"

SERVERS: dict[str, dict[str, Any]] = {
    "nginx": {
        "service": "nginx",
        "available": "/etc/nginx/sites-available",
        "enabled": "/etc/nginx/sites-enabled",
        "suffix": "",
        "configtest": ["nginx", "-t", "-q"],
        "modules": [],
        "switchable": ("/etc/nginx/sites-enabled/", "/etc/nginx/conf.d/"),
    },
    "apache2": {
        "service": "apache2",
        "available": "/etc/apache2/sites-available",
        "enabled": "/etc/apache2/sites-enabled",
        "suffix": ".conf",
        "configtest": ["apache2ctl", "configtest"],
        "modules": ["proxy", "proxy_http", "headers"],
        "switchable": ("/etc/apache2/sites-enabled/", "/etc/apache2/conf.d/"),
    },
}
SERVER_ALIASES = {"apache": "apache2", "httpd": "apache2", "apache-http-server": "apache2"}

_NGINX_KEEP = re.compile(r"^\s*((?:listen|ssl_certificate|ssl_certificate_key|ssl_protocols|ssl_ciphers|"
                         r"ssl_dhparam|http2)\s[^;]*;)", re.M)
_APACHE_BLOCK = re.compile(r"<VirtualHost\s+([^>]+)>(.*?)</VirtualHost>", re.S | re.I)
_APACHE_KEEP = re.compile(r"^\s*((?:SSLEngine|SSLCertificateFile|SSLCertificateKeyFile|SSLCertificateChainFile|"
                          r"SSLProtocol|SSLCipherSuite)\s+\S.*?)\s*$", re.M | re.I)
_NAME = re.compile(r"^[A-Za-z0-9*]([A-Za-z0-9.*-]{0,252})$")


class GoliveError(ValueError):
    """The switch cannot be done safely; the message says why (nothing was changed)."""


def _server(name: str | None) -> str:
    key = SERVER_ALIASES.get(name or "", name or "")
    if key not in SERVERS:
        raise GoliveError(f"web server {name!r} is not one the go-live switch handles (nginx, apache2)")
    return key


def _site_names(site: Mapping[str, Any]) -> list[str]:
    names = [site["domain"], *(site.get("aliases") or [])]
    for n in names:
        if not isinstance(n, str) or not _NAME.match(n):
            raise GoliveError(f"site {site.get('name')}: {n!r} is not a host name the switch can serve")
    return names


def switch_plan(plan: Mapping[str, Any], source_facts: Mapping[str, Any] | None, poc_name: str,
                poc_address: str) -> dict[str, Any]:
    """What the switch does on the source: per site, the enabled vhost entry to move away and the proxy vhost to
    enable. Refuses (GoliveError) when it cannot be done without touching anything else: a site whose vhost was not
    found, lives in the server's main configuration, or shares its file with a site the POC does not carry."""
    if not re.fullmatch(r"poc-[a-z0-9][a-z0-9-]{0,59}", poc_name or ""):
        raise GoliveError(f"{poc_name!r} is not a POC name")
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", poc_address or ""):
        raise GoliveError(f"POC address {poc_address!r} is not an IPv4 address")
    facts_sites = list((source_facts or {}).get("sites") or [])
    if not facts_sites:
        raise GoliveError(f"no discovered sites for {plan['source']}: run the final sync (poc_golive.yml) first")
    by_name = {s.get("name"): s for s in facts_sites}
    carried = {s["name"] for s in plan["sites"]}
    state_dir = f"{STATE_ROOT}/{poc_name}"
    sites = []
    for ps in plan["sites"]:
        fs = by_name.get(ps["name"])
        if fs is None or not fs.get("config"):
            raise GoliveError(f"site {ps['name']}: its vhost was not found on {plan['source']}; switch it by DNS only")
        server = _server(fs.get("server"))
        spec = SERVERS[server]
        config = posixpath.normpath(fs["config"])
        if not config.startswith(spec["switchable"]):
            raise GoliveError(
                f"site {ps['name']}: its vhost is in {config}, not in a per-site file under "
                f"{' or '.join(spec['switchable'])}; moving it would affect more than this site: switch by DNS only")
        sharing = sorted(s["name"] for s in facts_sites
                         if s.get("config") and posixpath.normpath(s["config"]) == config and s["name"] not in carried)
        if sharing:
            raise GoliveError(f"site {ps['name']}: {config} also serves {', '.join(sharing)}, which this POC does not "
                              "carry; go live with a whole-host POC or switch by DNS only")
        slug = plan_slug(ps["name"])
        sites.append({
            "name": ps["name"],
            "server": server,
            "names": _site_names(ps),
            "enabled": config,
            "stored": f"{state_dir}/disabled/{server}/{posixpath.basename(config)}",
            "conf": f"{spec['available']}/s4-golive-{slug}{spec['suffix']}",
            "link": f"{spec['enabled']}/s4-golive-{slug}{spec['suffix']}",
        })
    moves = dict.fromkeys((s["enabled"], s["stored"]) for s in sites)  # two sites of one file: one move
    servers = sorted({s["server"] for s in sites})
    return {
        "poc": poc_name,
        "poc_address": poc_address,
        "state_dir": state_dir,
        "state_file": f"{state_dir}/state.json",
        "sites": sites,
        "servers": [{"name": n, "service": SERVERS[n]["service"], "configtest": SERVERS[n]["configtest"],
                     "modules": SERVERS[n]["modules"]} for n in servers],
        "moves": [{"from": src, "to": dst} for src, dst in moves],
    }


def nginx_proxy(site: Mapping[str, Any], original: str, poc_name: str, poc_address: str) -> str:
    """A server block with the original's listen and TLS lines that proxies every request to the POC."""
    keep = list(dict.fromkeys(m.group(1).strip() for m in _NGINX_KEEP.finditer(_strip_comments(original, "#"))))
    if not any(k.startswith("listen") for k in keep):
        keep.insert(0, "listen 80;")
    lines = [f"# S4 go-live of {poc_name}: {site['name']} is served by the POC {poc_address}.",
             "# Written by playbooks/poc_golive.yml; the rollback removes it and re-enables the original vhost.",
             "server {",
             *(f"    {k}" for k in keep),
             f"    server_name {' '.join(site['names'])};",
             f"    add_header X-S4-Golive {poc_name} always;",
             "    client_max_body_size 0;",
             "    location / {",
             f"        proxy_pass http://{poc_address};",
             "        proxy_set_header Host $host;",
             "        proxy_set_header X-Real-IP $remote_addr;",
             "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
             "        proxy_set_header X-Forwarded-Proto $scheme;",
             "        proxy_read_timeout 300s;",
             "    }",
             "}", ""]
    return "\n".join(lines)


def apache_proxy(site: Mapping[str, Any], original: str, poc_name: str, poc_address: str) -> str:
    """One <VirtualHost> per original one (same address:port and TLS lines) proxying everything to the POC."""
    blocks = _APACHE_BLOCK.findall(_strip_comments(original, "#")) or [("*:80", "")]
    out = [f"# S4 go-live of {poc_name}: {site['name']} is served by the POC {poc_address}.",
           "# Written by playbooks/poc_golive.yml; the rollback removes it and re-enables the original vhost."]
    for addr, body in blocks:
        keep = list(dict.fromkeys(m.group(1).strip() for m in _APACHE_KEEP.finditer(body)))
        out += [f"<VirtualHost {addr.strip()}>",
                f"    ServerName {site['names'][0]}",
                *([f"    ServerAlias {' '.join(site['names'][1:])}"] if site["names"][1:] else []),
                *(f"    {k}" for k in keep),
                f"    Header always set X-S4-Golive {poc_name}",
                "    ProxyPreserveHost On",
                "    ProxyRequests Off",
                "    ProxyTimeout 300",
                f"    ProxyPass / http://{poc_address}/",
                f"    ProxyPassReverse / http://{poc_address}/",
                "</VirtualHost>"]
    return "\n".join(out) + "\n"


def proxy_conf(site: Mapping[str, Any], original: str, poc_name: str, poc_address: str) -> str:
    render = nginx_proxy if site["server"] == "nginx" else apache_proxy
    return render(site, original, poc_name, poc_address)


def _strip_comments(text: str, mark: str) -> str:
    return "\n".join(line.split(mark, 1)[0] if not line.lstrip().startswith(mark) else "" for line in text.splitlines())


def served_by_poc(status: int, body: str, php: str | None = None) -> bool:
    """Whether a response to the probe URI came from the POC: only the POC's pools serve it, answering with their
    PHP version (the target one when ``php`` is given); the source answers 404 or its application's page."""
    text = body.strip()
    if status != 200 or not re.fullmatch(r"\d+\.\d+\.\d+\S*", text):
        return False
    return php is None or text.startswith(str(php) + ".")


def judge(names: list[str], probes: list[tuple[int, str]], fronts: list[int]) -> dict[str, list[str]]:
    """Who answers each site name through the source's address: ``{"poc": [...], "source": [...],
    "front_failed": [...]}`` from the probe responses (status, body) and the front pages' statuses."""
    if not len(names) == len(probes) == len(fronts):
        raise GoliveError("judge: names, probe and front page results differ in length")
    out: dict[str, list[str]] = {"poc": [], "source": [], "front_failed": []}
    for name, (status, body), front in zip(names, probes, fronts, strict=True):
        out["poc" if served_by_poc(int(status or 0), str(body or "")) else "source"].append(name)
        if not 200 <= int(front or 0) < 400:
            out["front_failed"].append(name)
    return out


def drift(names: list[str], current: list[str | None], copied: list[str | None]) -> list[str]:
    """Databases whose current source checksum is not the one the POC's copy was restored from."""
    if not len(names) == len(current) == len(copied):
        raise GoliveError("drift: names, current and copied checksums differ in length")
    return [n for n, c, v in zip(names, current, copied, strict=True) if c is None or v is None or c != v]
