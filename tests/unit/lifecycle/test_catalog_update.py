"""Catalog updater: local and API v1 input, validation, refusal keeps the old catalog, change summary."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from s4.lifecycle import Engine
from s4.lifecycle.catalog import Catalog, CatalogError
from s4.lifecycle.catalog_update import (
    UpdateError,
    fetch_api_v1,
    main,
    parse_api_v1_full,
    product_from_api_v1,
    update,
)

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture
def src(tmp_path):
    s = tmp_path / "eol"
    shutil.copytree(FIX / "eol", s)
    return s


def _snapshot(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): p.read_text() for p in sorted(d.rglob("*")) if p.is_file()}


def test_local_update_builds_catalog(catdir, src):
    out: list[str] = []
    d = update(catdir, src=src, out=out.append)
    assert d["products_added"] == ["apache-http-server", "debian", "php"]
    cat = Catalog.load(catdir)
    assert cat.manifest["counts"]["products"] == 3
    assert cat.products["php"].index["7.4"].history[0][1] == "7.4.33"
    assert "5.6.40" not in [h[1] for c in cat.products["php"].cycles for h in c.history]  # no 5.6 cycle
    e = Engine(cat)
    v = e.evaluate("php", "7.4.33-1+deb11u5", "bullseye", date(2025, 6, 1))
    assert (v.status, v.source, v.support_end) == ("security-only", "distro", date(2026, 8, 31))
    assert e.evaluate("apache2", "2.4.62-1~deb11u1", "debian-11", date(2025, 8, 1)).releases_behind == 3
    assert not list(catdir.parent.glob(".catalog.*"))  # no temp dirs left


def test_second_run_reports_changes(catdir, src):
    update(catdir, src=src, out=lambda s: None)
    doc = (src / "products" / "php.yml").read_text()
    doc = doc.replace("eol: 2028-12-31", "eol: 2029-01-31").replace("- releaseCycle: '8.4'", "- releaseCycle: '8.5'\n  releaseDate: 2025-11-20\n  eol: 2029-12-31\n- releaseCycle: '8.4'")
    (src / "products" / "php.yml").write_text(doc)
    out: list[str] = []
    d = update(catdir, src=src, out=out.append)
    assert d["cycles_added"] == ["php 8.5"]
    assert d["changed"] == ["php 8.4 eol: 2028-12-31 -> 2029-01-31"]
    assert d["products_added"] == [] and d["products_removed"] == []
    assert "cycles added: 1" in "\n".join(out)


@pytest.mark.parametrize("corrupt", [
    ("php.yml", "eol: 2028-12-31", "eol: 2028-13-45"),          # bad date
    ("php.yml", "- releaseCycle: '8.2'", "- releaseCycle: '8.4'"),  # duplicate cycle
    ("php.yml", "releases:", "notreleases:"),                    # no cycles
    ("debian.yml", "title: Debian", "title: [Debian"),           # YAML syntax
    ("debian.yml", "- releaseCycle: '11'", "- releaseCycle: '10'"),  # distros.yaml refers to debian 11
])
def test_corrupt_input_refused_old_kept(catdir, src, corrupt):
    update(catdir, src=src, out=lambda s: None)
    before = _snapshot(catdir)
    name, old, new = corrupt
    f = src / "products" / name
    f.write_text(f.read_text().replace(old, new))
    with pytest.raises(UpdateError):
        update(catdir, src=src, out=lambda s: None)
    assert _snapshot(catdir) == before
    assert not list(catdir.parent.glob(".catalog.*"))


def test_partial_input_refused_without_force(catdir, src):
    update(catdir, src=src, out=lambda s: None)
    before = _snapshot(catdir)
    (src / "products" / "apache-http-server.yml").unlink()
    with pytest.raises(UpdateError, match="drop"):
        update(catdir, src=src, out=lambda s: None)
    assert _snapshot(catdir) == before
    # forced but the curated files still need the product: refused
    with pytest.raises(UpdateError, match="apache"):
        update(catdir, src=src, force=True, out=lambda s: None)
    assert _snapshot(catdir) == before
    # forced after the alias is gone: apache is dropped
    pol = catdir / "policy.yaml"
    pol.write_text(pol.read_text().replace("aliases: {apache2: apache-http-server}", "aliases: {}"))
    dis = catdir / "distros.yaml"
    dis.write_text(dis.read_text().replace('      apache-http-server: {"2.4": distro}\n', ""))
    d = update(catdir, src=src, force=True, out=lambda s: None)
    assert d["products_removed"] == ["apache-http-server"]


def test_partial_input_breaking_distros_refused_even_forced(catdir, src):
    update(catdir, src=src, out=lambda s: None)
    before = _snapshot(catdir)
    (src / "products" / "debian.yml").unlink()  # distros.yaml needs debian
    with pytest.raises(UpdateError):
        update(catdir, src=src, force=True, out=lambda s: None)
    assert _snapshot(catdir) == before


def test_check_writes_nothing(catdir, src):
    update(catdir, src=src, check=True, out=lambda s: None)
    assert not (catdir / "manifest.json").exists()


def test_main_exit_codes(catdir, src, capsys):
    assert main(["--from", str(src), "--catalog", str(catdir)]) == 0
    assert main(["--from", str(src / "nope"), "--catalog", str(catdir)]) == 1
    assert "refused" in capsys.readouterr().err


def test_api_v1_parse(catdir, src):
    update(catdir, src=src, out=lambda s: None)
    payload = json.loads((FIX / "api_v1_full.json").read_text())
    old = {p.stem: json.loads(p.read_text()) for p in (catdir / "products").glob("*.json")}
    prods, problems = parse_api_v1_full(payload, ["php", "debian", "apache-http-server", "nginx"], old)
    assert problems == ["nginx: not in the API response"]
    php = {c["cycle"]: c for c in prods["php"]["cycles"]}
    assert php["7.4"]["eol"] == "2022-11-28" and php["7.4"]["eoas"] == "2021-11-28"
    assert php["8.4"]["latest"] == "8.4.25"
    assert php["8.4"]["history"][0] == ["8.4.25", "2026-08-20"]       # latest added to the kept history
    assert ["8.4.24", "2026-07-30"] in php["8.4"]["history"]
    deb = {c["cycle"]: c for c in prods["debian"]["cycles"]}
    assert deb["11"]["eoes"] == "2026-08-31" and deb["11"]["eoas"] is None  # no eoas phase -> null
    apache = {c["cycle"]: c for c in prods["apache-http-server"]["cycles"]}
    assert apache["2.4"]["eol"] is False and apache["2.2"]["eol"] == "2017-07-11"
    assert prods["apache-http-server"]["aliases"] == ["apache", "httpd"]


def test_api_v1_phase_flags():
    rel = {"name": "1", "releaseDate": "2020-01-01", "isLts": True, "ltsFrom": None, "isEol": True, "eolFrom": None,
           "isEoes": None, "eoesFrom": None, "isMaintained": False, "latest": None}
    c = product_from_api_v1({"name": "x", "releases": [rel]})["cycles"][0]
    assert (c["eol"], c["eoes"], c["eoas"], c["lts"]) == (True, None, None, True)


def test_api_v1_live_update_with_fake_fetch(catdir, src):
    update(catdir, src=src, out=lambda s: None)
    payload = json.loads((FIX / "api_v1_full.json").read_text())
    d = update(catdir, live=True, fetch=lambda url: payload, out=lambda s: None)
    assert "php 8.5" in d["cycles_added"]
    assert Catalog.load(catdir).manifest["source"]["kind"] == "endoflife.date API v1"


@pytest.mark.parametrize("payload", [
    "<html>404</html>", {"schema_version": "2.0.0", "result": []}, {"schema_version": "1.0.0", "result": {}},
    {"schema_version": "1.0.0", "result": [{"name": "php", "releases": []}]},
])
def test_api_v1_bad_payloads(catdir, src, payload):
    update(catdir, src=src, out=lambda s: None)
    before = _snapshot(catdir)
    with pytest.raises(UpdateError):
        update(catdir, live=True, fetch=lambda url: payload, out=lambda s: None)
    assert _snapshot(catdir) == before


class _Resp:
    def __init__(self, status, body=None, ctype="application/json", headers=None):
        self.status_code, self._body = status, body
        self.headers = {"Content-Type": ctype, **(headers or {})}

    def json(self):
        if isinstance(self._body, str):
            raise ValueError("not json")
        return self._body


def test_fetch_retries_429_and_rejects_html(monkeypatch):
    import requests
    calls = []
    seq = [_Resp(429, headers={"Retry-After": "1"}), _Resp(200, {"schema_version": "1.0.0", "result": []})]
    monkeypatch.setattr(requests, "get", lambda url, **kw: calls.append(url) or seq.pop(0))
    slept = []
    assert fetch_api_v1("https://example.invalid/api/v1", sleep=slept.append)["result"] == []
    assert calls[0].endswith("/products/full") and slept == [1.0]
    monkeypatch.setattr(requests, "get", lambda url, **kw: _Resp(404, "<html>", ctype="text/html"))
    with pytest.raises(UpdateError, match="404"):
        fetch_api_v1("https://example.invalid/api/v1", sleep=lambda s: None)
    monkeypatch.setattr(requests, "get", lambda url, **kw: _Resp(200, "<html>", ctype="text/html"))
    with pytest.raises(UpdateError, match="expected JSON"):
        fetch_api_v1("https://example.invalid/api/v1", sleep=lambda s: None)


def test_committed_catalog_is_valid():
    cat = Catalog.load()
    assert len(cat.products) >= 60
    assert cat.manifest["counts"]["products"] == len(cat.products)
    for d in ("debian-10", "debian-11", "debian-12", "debian-13", "ubuntu-20.04", "ubuntu-22.04", "ubuntu-24.04",
              "rhel-8", "rhel-9", "rhel-10", "almalinux-9", "rocky-8"):
        assert cat.distros[d].package_support_end is not None


def test_missing_catalog_dir(tmp_path):
    with pytest.raises(CatalogError):
        Catalog.load(tmp_path / "none")
