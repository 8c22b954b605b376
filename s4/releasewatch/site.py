"""The public notice website: one self-contained HTML page per announcement, an index and an Atom feed (RFC 4287)."""

from __future__ import annotations

import datetime as _dt
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from s4.filemodes import private_dir, private_file, write_private

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_FILE = "feed.atom"
MANIFEST_FILE = ".s4-release-watch.json"  # what the release watch wrote (publish with --delete checks it)


@dataclass(frozen=True)
class SiteConfig:
    base_url: str = "https://notices.smartt.example/"   # where the site is served (ends with /)
    domain: str = "smartt.example"
    name: str = "Smartt release notices"
    org: str = "Smartt"
    poc_contact: str = "support@smartt.example"
    author_email: str | None = None

    def url(self, rel: str) -> str:
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return base + rel


def notice_file(announcement_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", announcement_id) + ".html"


def _phase(value: Any) -> str:
    if value is True:
        return "ended"
    if value is False:
        return "no end date announced"
    if value is None:
        return "n/a"
    return str(value)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("s4.releasewatch", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "html.j2"], default=False),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["phase"] = _phase
    return env


def render_notice(a: dict[str, Any], site: SiteConfig) -> str:
    return _env().get_template("notice.html.j2").render(a=a, site=site)


def render_index(announcements: list[dict[str, Any]], site: SiteConfig) -> str:
    rows = [dict(a, file=notice_file(a["id"])) for a in announcements]
    return _env().get_template("index.html.j2").render(announcements=rows, site=site)


def _stamp(day: str) -> str:
    return _dt.date.fromisoformat(day[:10]).isoformat() + "T00:00:00Z"


def render_feed(announcements: list[dict[str, Any]], site: SiteConfig, as_of: _dt.date) -> str:
    """Atom 1.0 feed, newest entry first; ``updated`` = newest decision date (``as_of`` when empty)."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"tag:{site.domain},2026:release-watch")
    sub(feed, "title", site.name)
    sub(feed, "subtitle", f"New software versions {site.org} considers stable and ready for use (S4)")
    updated = max((a["decided_on"] for a in announcements), default=as_of.isoformat())
    sub(feed, "updated", _stamp(updated))
    author = sub(feed, "author")
    sub(author, "name", site.org)
    sub(author, "email", site.author_email or site.poc_contact)
    sub(feed, "link", rel="self", type="application/atom+xml", href=site.url(FEED_FILE))
    sub(feed, "link", rel="alternate", type="text/html", href=site.url("index.html"))
    sub(feed, "generator", "S4 Toolkit release watch")
    for a in announcements:
        e = sub(feed, "entry")
        sub(e, "id", f"tag:{site.domain},{a['decided_on'][:10]}:release-watch/{a['id']}")
        sub(e, "title", a["title"])
        sub(e, "published", _stamp(a["decided_on"]))
        sub(e, "updated", _stamp(a["decided_on"]))
        sub(e, "link", rel="alternate", type="text/html", href=site.url("notices/" + notice_file(a["id"])))
        sub(e, "category", term=a["product"], label=a["label"])
        sub(e, "summary", f"{a['title']}. {a['reason']}. Security support until {_phase(a.get('eol'))}. "
                          f"Smartt offers a POC environment at no cost: {site.poc_contact}.")
    ET.indent(feed, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _write_if_changed(path: Path, content: str, check: bool) -> bool:
    """Write as 0600 in 0700 directories (the outbox names each client's hosts and EOL software; the site is
    published with its own modes by rsync --chmod). An unchanged file of an older run is only tightened."""
    try:
        if path.read_text(encoding="utf-8") == content:
            if not check:
                private_file(path)
            return False
    except OSError:
        pass
    if not check:
        private_dir(path.parent)
        write_private(path, content)
    return True


def manifest(paths: list[str]) -> str:
    """The publish manifest: every file and directory of the site, itself included, relative, sorted (no date:
    the same site gives the same manifest). playbooks/release_watch.yml reads the published copy before it
    rsyncs with --delete and refuses a publish directory holding anything the release watch did not write."""
    entries = set(paths) | {MANIFEST_FILE}
    for rel in list(entries):
        parts = rel.split("/")[:-1]
        entries.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return json.dumps({"written_by": "s4 release watch", "entries": sorted(entries)}, indent=1) + "\n"


def site_files(announcements: list[dict[str, Any]], site: SiteConfig, as_of: _dt.date) -> dict[str, str]:
    """{relative path: content} of the whole site, its publish manifest included."""
    files = {"index.html": render_index(announcements, site), FEED_FILE: render_feed(announcements, site, as_of)}
    for a in announcements:
        files["notices/" + notice_file(a["id"])] = render_notice(a, site)
    files[MANIFEST_FILE] = manifest(list(files))
    return files


def write_site(announcements: list[dict[str, Any]], site: SiteConfig, out_dir: str | Path, as_of: _dt.date, *,
               check: bool = False) -> dict[str, Any]:
    """Write the site (only files whose content changed); notice pages no longer listed are removed."""
    out = Path(out_dir)
    files = site_files(announcements, site, as_of)
    changed = [rel for rel, content in sorted(files.items()) if _write_if_changed(out / rel, content, check)]
    removed = []
    ndir = out / "notices"
    if ndir.is_dir():
        for f in sorted(ndir.glob("*.html")):
            rel = f"notices/{f.name}"
            if rel not in files:
                removed.append(rel)
                if not check:
                    f.unlink()
    return {"dir": str(out), "files": sorted(files), "changed": changed, "removed": removed}
