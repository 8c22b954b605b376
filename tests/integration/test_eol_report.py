"""Fleet EOL report from the lab's real gathered facts: gather_software.yml, then eol_report.yml (twice)."""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s4.lab import topology
from s4.lifecycle import Engine

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

IN_SCOPE = sorted(h.name for h in topology.HOSTS if h.service in ("mvps", "shared_hosting", "internal"))


def _play(env, *args, timeout=900):
    proc = subprocess.run(["ansible-playbook", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def _changed(out: str, host: str = "localhost") -> int:
    line = next(ln for ln in out.splitlines() if ln.startswith(host + " "))
    return int(line.split("changed=")[1].split()[0])


@pytest.fixture(scope="module")
def lab_report(tmp_path_factory, ssh):
    tmp = tmp_path_factory.mktemp("eol-lab")
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"),
               ANSIBLE_NOCOLOR="1", PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    history = tmp / "state.sqlite"
    _play(env, "playbooks/gather_software.yml", "-e", f"s4_state_url={history}")
    as_of = _dt.datetime.now(_dt.UTC).date().isoformat()
    dest = tmp / "report"
    args = ("playbooks/eol_report.yml", "-e", f"s4_as_of={as_of}", "-e", f"s4_report_dir={dest}",
            "-e", f"s4_state_url={history}")
    first = _play(env, *args)
    second = _play(env, *args)
    return {"dir": dest, "as_of": as_of, "first": first.stdout, "second": second.stdout,
            "doc": json.loads((dest / "findings.json").read_text())}


def _find(doc, host, product, site=None):
    hits = [f for f in doc["findings"] if f["host"] == host and f["product"] == product and f["site"] == site]
    assert hits, f"no {product} finding on {host} {site or ''}: {[(f['host'], f['product']) for f in doc['findings']]}"
    return hits[0]


def test_every_in_scope_lab_host_is_reported_and_colo_never(lab_report):
    doc = lab_report["doc"]
    assert doc["not_gathered"] == []
    assert sorted({f["host"] for f in doc["findings"]}) == IN_SCOPE
    assert doc["summary"]["hosts_in_scope"] == len(IN_SCOPE)
    for p in lab_report["dir"].rglob("*"):
        if p.is_file():
            assert "colo-01" not in p.read_text(), p


def test_acme_php_74_is_judged_with_debian_11_lts(lab_report):
    doc = lab_report["doc"]
    php = _find(doc, "mvps-acme-01", "php")
    lts_end = Engine.load_default().distro_info("debian-11")["package_support_end"]
    assert (php["cycle"], php["support_source"], php["support_end"]) == ("7.4", "distro", lts_end)
    assert php["install_source"] == "dpkg" and any(p.startswith("php7.4") for p in php["packages"])
    assert php["responsible"] == "provider"
    assert php["days_left"] == (_dt.date.fromisoformat(lts_end) - _dt.date.fromisoformat(lab_report["as_of"])).days
    assert {"host": "mvps-acme-01", "site": "acme-blog", "client": "acme"} in php["affected_sites"]


def test_sites_apps_and_interop_come_from_the_lab(lab_report):
    doc = lab_report["doc"]
    wp = _find(doc, "mvps-acme-01", "wordpress", "acme-blog")
    assert wp["clients"] == ["acme"] and wp["version"]
    interop = json.loads((lab_report["dir"] / "interop.json").read_text())["interop"]
    shared_db = [i for i in interop if i["type"] == "shared-db-server" and i["host"] == "db-01"]
    assert shared_db, interop
    assert {s["host"] for s in shared_db[0]["sites"]} == {"shared-01"}
    plans = json.loads((lab_report["dir"] / "plans.json").read_text())["plans"]
    assert "mvps-acme-01" in plans["hosts"]


def test_outputs_and_trend(lab_report):
    d = lab_report["dir"]
    rows = list(csv.DictReader((d / "findings.csv").open()))
    assert len(rows) == len(lab_report["doc"]["findings"])
    html = (d / "report.html").read_text()
    assert html.count('<tr data-id="') == len(rows)
    clients = sorted(p.stem for p in (d / "clients").glob("*.html"))
    assert "acme" in clients and "globex" in clients
    trend = json.loads((d / "debt.json").read_text())["debt"]["trend"]
    assert trend["runs"], trend["note"]
    assert trend["hosts"]["mvps-acme-01"][-1]["score"] > 0


def test_second_run_changes_nothing(lab_report):
    assert _changed(lab_report["first"]) == 1
    assert _changed(lab_report["second"]) == 0
