"""Release watch on the lab: gather_software.yml (state store), then release_watch.yml publishing the site to
internal-01's nginx (rsync), fetched over HTTP from the controller; a second run changes nothing. internal-01's
docroot is restored afterwards."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from email import policy as email_policy
from pathlib import Path

import pytest

from s4.lab import topology

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

AS_OF = "2026-11-27"        # fixed: the committed catalog decides the same announcements every time
DOCROOT = "/srv/www/notices"
WEB = next(h for h in topology.HOSTS if h.name == "internal-01")
ATOM = "{http://www.w3.org/2005/Atom}"


def _play(env, *args, timeout=900, ok=True):
    proc = subprocess.run(["ansible-playbook", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if ok:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def _changed(out: str, host: str) -> int:
    line = next(ln for ln in out.splitlines() if ln.startswith(host + " "))
    return int(line.split("changed=")[1].split()[0])


def _get(path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://{WEB.address}{path}", timeout=20) as resp:  # noqa: S310 (lab address)
        return resp.status, resp.read().decode("utf-8")


@pytest.fixture(scope="module")
def watch(tmp_path_factory, ssh):
    tmp = tmp_path_factory.mktemp("release-watch-lab")
    saved = ssh("internal-01", f"tar -C {DOCROOT} -czf - . | base64 -w0").stdout.strip()
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"),
               ANSIBLE_NOCOLOR="1", PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    history = tmp / "state.sqlite"
    _play(env, "playbooks/gather_software.yml", "-e", f"s4_state_url={history}")
    args = ("playbooks/release_watch.yml", "-e", f"s4_as_of={AS_OF}", "-e", f"s4_state_url={history}",
            "-e", f"s4_release_watch_dir={tmp / 'out'}",
            "-e", f"s4_release_watch_base_url=http://{WEB.address}/", "-e", "s4_release_watch_publish_host=internal-01")
    try:
        first = _play(env, *args)
        second = _play(env, *args)
        refused = _play(env, *args[:-2], "-e", "s4_release_watch_publish_host=colo-01", ok=False)
        yield {"dir": tmp / "out", "first": first.stdout, "second": second.stdout, "refused": refused}
    finally:
        restore = (f"find {DOCROOT} -mindepth 1 -delete && echo {saved} | base64 -d | tar -C {DOCROOT} -xzf -"
                   if saved else f"find {DOCROOT} -mindepth 1 -delete")
        ssh("internal-01", restore)


def test_site_published_on_internal_01_and_served_by_nginx(watch):
    site = watch["dir"] / "site"
    status, index = _get("/")
    assert status == 200 and index == (site / "index.html").read_text(encoding="utf-8")
    notices = sorted(p.name for p in (site / "notices").glob("*.html"))
    assert "nodejs-26.html" in notices and "wordpress-7.1.html" in notices
    for name in notices:
        assert f'href="notices/{name}"' in index
    status, page = _get("/notices/nodejs-26.html")
    assert status == 200 and "Node.js 26 is ready" in page and "How to request a POC" in page
    status, feed = _get("/feed.atom")
    root = ET.fromstring(feed)
    assert root.tag == f"{ATOM}feed" and root.findtext(f"{ATOM}updated")
    links = [e.find(f"{ATOM}link").get("href") for e in root.findall(f"{ATOM}entry")]
    assert len(links) == len(notices)
    for href in links[:3]:
        assert href.startswith(f"http://{WEB.address}/notices/")
        assert _get(href.removeprefix(f"http://{WEB.address}"))[0] == 200


def test_second_run_changes_nothing_and_announces_nothing(watch):
    assert "new announcements: none" in watch["second"]
    assert _changed(watch["second"], "localhost") == 0
    assert _changed(watch["second"], "internal-01") == 0
    assert _changed(watch["first"], "internal-01") == 1


def test_out_of_scope_publish_host_refused(watch):
    proc = watch["refused"]
    assert proc.returncode != 0 and "out-of-scope and unknown hosts are never targeted" in proc.stdout
    assert not any(ln.startswith("colo-01") for ln in proc.stdout.splitlines())   # never in the recap


def test_client_notices_from_the_lab_history(watch):
    outbox = watch["dir"] / "outbox"
    msgs = {p.stem: email.message_from_bytes(p.read_bytes(), policy=email_policy.default)
            for p in outbox.glob("*.eml")}
    # globex runs Node.js 20 (outside the package manager) and roundcube 1.4; acme runs WordPress 5.7
    assert "nodejs-26" in msgs["globex"]["X-S4-Notices"].split()
    assert msgs["globex"]["To"] == "it@globex.example, cto@globex.example"
    globex = msgs["globex"].get_body(preferencelist=("plain",)).get_content()
    assert "server mvps-globex-01" in globex and "nodejs 20.18.0" in globex
    assert "wordpress-7.1" in msgs["acme"]["X-S4-Notices"].split()
    assert "hooli" not in msgs                                       # no contact address in the lab CMDB
    assert "not notified (no contact): hooli" in watch["first"]
    for p in (watch["dir"]).rglob("*"):
        if p.is_file():
            assert "colo-01" not in p.read_text(encoding="utf-8", errors="replace"), p
