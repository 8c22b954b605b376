"""The HTML report in headless Chromium: sorting reorders rows, the filters hide rows, the charts are drawn.

A probe script is appended to a copy of the page; it clicks/filters through the page's own controls and writes
what it saw as JSON into the DOM, which Chromium prints with --dump-dom.
"""

from __future__ import annotations

import html as _html
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import report_fleet as fleet

from s4.report import build_report, write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian package chromium is not installed (scripts/apt-packages.txt)")

PROBE = r"""
<script>
(function () {
  var out = {errors: []};
  function rows(id) { return Array.prototype.slice.call(document.getElementById(id).tBodies[0].rows); }
  function idx(id, key) {
    var ths = document.getElementById(id).tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) { if (ths[i].getAttribute("data-key") === key) { return i; } }
    return -1;
  }
  function col(id, key) {
    var i = idx(id, key);
    return rows(id).map(function (r) { return r.cells[i].textContent.trim(); });
  }
  function visible(id, attr) {
    return rows(id).filter(function (r) { return getComputedStyle(r).display !== "none"; })
                   .map(function (r) { return attr ? r.getAttribute(attr) : r.textContent; });
  }
  function th(id, key) { return document.getElementById(id).tHead.rows[0].cells[idx(id, key)]; }
  try {
    var t = "__TABLE__";
    out.initialHosts = col(t, "host");
    th(t, "host").click();
    out.hostsAsc = col(t, "host"); out.ariaAsc = th(t, "host").getAttribute("aria-sort");
    th(t, "host").click();
    out.hostsDesc = col(t, "host"); out.ariaDesc = th(t, "host").getAttribute("aria-sort");
    th(t, "days_left").click();
    out.daysAsc = col(t, "days_left");
    th(t, "debt").click(); th(t, "debt").click();
    out.debtDesc = col(t, "debt");
    var f = document.getElementById(t + "-filter");
    f.value = "wordpress"; f.dispatchEvent(new Event("input", {bubbles: true}));
    out.filteredProducts = visible(t).length;
    out.filteredIds = visible(t, "data-id");
    out.counter = document.getElementById(t + "-count").textContent;
    f.value = ""; f.dispatchEvent(new Event("input", {bubbles: true}));
    out.afterClear = visible(t).length;
    var s = document.getElementById(t + "-status");
    s.value = "eol"; s.dispatchEvent(new Event("change", {bubbles: true}));
    out.eolStatuses = visible(t, "data-status");
    var p = document.getElementById(t + "-responsible");
    p.value = "client"; p.dispatchEvent(new Event("change", {bubbles: true}));
    out.eolClient = visible(t, "data-id");
    s.value = ""; s.dispatchEvent(new Event("change", {bubbles: true}));
    p.value = ""; p.dispatchEvent(new Event("change", {bubbles: true}));
    function bars(sel) {
      return Array.prototype.map.call(document.querySelectorAll(sel + " g.bar"), function (g) {
        return {key: g.getAttribute("data-key"), total: +g.getAttribute("data-total"),
                segs: Array.prototype.map.call(g.querySelectorAll("rect.seg"), function (r) {
                  return {status: r.getAttribute("data-status"), count: +r.getAttribute("data-count"),
                          width: r.getBBox().width};
                })};
      });
    }
    out.productBars = bars("#chart-status-by-product");
    out.clientBars = bars("#chart-status-by-client");
    out.timeline = Array.prototype.map.call(document.querySelectorAll("#chart-eol-timeline g.tl-event"), function (g) {
      var c = g.querySelector("circle.tl-point");
      return {product: g.getAttribute("data-product"), cycle: g.getAttribute("data-cycle"),
              date: g.getAttribute("data-date"), cx: +c.getAttribute("cx")};
    });
    var svg = document.getElementById("chart-status-by-product");
    out.chartWidth = svg ? svg.getBoundingClientRect().width : 0;
  } catch (e) { out.errors.push(String(e && e.stack || e)); }
  var pre = document.createElement("pre");
  pre.id = "s4-probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def probe(page: Path, tmp_path: Path, table: str = "findings-table") -> dict:
    probed = page.with_name(page.stem + ".probe.html")
    probed.write_text(page.read_text().replace("</body>", PROBE.replace("__TABLE__", table) + "</body>"))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", probed.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    m = re.search(r'<pre id="s4-probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"probe output missing (rc={proc.returncode}): {proc.stderr[-2000:]}"
    data = json.loads(_html.unescape(m.group(1)))
    assert data["errors"] == []
    return data


@pytest.fixture(scope="module")
def fleet_report():
    return build_report(fleet.hostvars(), engine=fleet.FakeEngine(), as_of=fleet.AS_OF)


@pytest.fixture(scope="module")
def seen(fleet_report, tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    write_report(fleet_report, out)
    return probe(out / "report.html", out)


def _key(s: str) -> str:
    return s.lower()


def test_sorting_a_column_reorders_rows(seen):
    assert seen["initialHosts"] != sorted(seen["initialHosts"], key=_key)   # the table starts sorted by status
    assert seen["hostsAsc"] == sorted(seen["initialHosts"], key=_key)
    assert seen["ariaAsc"] == "ascending"
    assert seen["hostsDesc"] == sorted(seen["initialHosts"], key=_key, reverse=True)
    assert seen["ariaDesc"] == "descending"


def test_numeric_columns_sort_as_numbers(seen, fleet_report):
    days = [int(d) for d in seen["daysAsc"] if d != "-"]
    assert days == sorted(days) and len(days) == sum(1 for f in fleet_report["findings"] if f["days_left"] is not None)
    assert min(days) < -1000 and max(days) > 100    # a string sort would put "-88" after "-1956" etc.
    debts = [float(d) for d in seen["debtDesc"]]
    assert debts == sorted(debts, reverse=True)


def test_filter_box_and_selects_hide_rows(seen, fleet_report):
    wp = [f["id"] for f in fleet_report["findings"] if f["product"] == "wordpress"]
    assert sorted(seen["filteredIds"]) == sorted(wp) and seen["filteredProducts"] == len(wp) > 0
    assert seen["counter"] == str(len(wp))
    assert seen["afterClear"] == len(fleet_report["findings"])
    eol = [f for f in fleet_report["findings"] if f["status"] == "eol"]
    assert seen["eolStatuses"] == ["eol"] * len(eol)
    assert sorted(seen["eolClient"]) == sorted(f["id"] for f in eol if f["responsible"] == "client")


def test_charts_have_the_right_counts(seen, fleet_report):
    findings = fleet_report["findings"]
    by_product = {p["key"]: p for p in seen["productBars"]}
    assert sorted(by_product) == sorted({f["product"] for f in findings})
    for product, bar in by_product.items():
        expected = Counter(f["status"] for f in findings if f["product"] == product)
        assert {s["status"]: s["count"] for s in bar["segs"]} == dict(expected)
        assert bar["total"] == sum(expected.values())
        assert all(s["width"] > 0 for s in bar["segs"])
    assert sum(s["count"] for b in seen["productBars"] for s in b["segs"]) == len(findings)
    by_client = {b["key"]: b for b in seen["clientBars"]}
    assert sorted(by_client) == sorted(fleet_report["clients"])
    for client, bar in by_client.items():
        assert bar["total"] == sum(1 for f in findings if client in f["clients"])
    assert seen["chartWidth"] > 100


def test_timeline_marks_each_support_end(seen, fleet_report):
    assert len(seen["timeline"]) == len(fleet_report["timeline"]) > 0
    got = {(e["product"], e["cycle"], e["date"]) for e in seen["timeline"]}
    assert ("php", "7.4", fleet.DISTRO_END["debian-11"]) in got
    # later dates sit further right
    ordered = sorted(seen["timeline"], key=lambda e: e["date"])
    xs = [e["cx"] for e in ordered]
    assert xs == sorted(xs)


def test_client_page_sorts_and_filters(fleet_report, tmp_path):
    write_report(fleet_report, tmp_path)
    seen = probe(tmp_path / "clients" / "acme.html", tmp_path, table="client-findings-table")
    acme = [f for f in fleet_report["findings"] if "acme" in f["clients"]]
    assert sorted(seen["initialHosts"]) == sorted(f["host"] for f in acme)
    assert seen["hostsAsc"] == sorted(seen["initialHosts"], key=_key)
    assert sorted(seen["filteredIds"]) == sorted(f["id"] for f in acme if f["product"] == "wordpress")
    assert {b["key"] for b in seen["productBars"]} == {f["product"] for f in acme}


def test_debt_trend_chart_has_a_point_per_run(tmp_path):
    from s4.history import History

    db = tmp_path / "history.sqlite"
    with History(db) as hist:
        for started in ("2026-06-01T10:00:00Z", "2026-09-01T10:00:00Z", "2026-09-01T18:00:00Z"):
            hist.record_run({h: {"status": "ok", "facts": f} for h, f in fleet.FACTS.items()}, started_at=started,
                            finished_at=started)
    r = build_report(fleet.hostvars(), engine=fleet.FakeEngine(), as_of=fleet.AS_OF, history_db=db)
    write_report(r, tmp_path / "out")
    page = tmp_path / "out" / "report.html"
    page.write_text(page.read_text().replace("</body>", """<script>
      var pts = Array.prototype.map.call(document.querySelectorAll('#chart-debt-trend circle.trend-point'),
        function (c) { return [c.getAttribute('data-date'), +c.getAttribute('data-score'), +c.getAttribute('cy')]; });
      var pre = document.createElement('pre'); pre.id = 's4-trend'; pre.textContent = JSON.stringify(pts);
      document.body.appendChild(pre);
    </script></body>"""))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout
    pts = json.loads(_html.unescape(re.search(r'<pre id="s4-trend">(.*?)</pre>', dom, re.S).group(1)))
    assert [p[0] for p in pts] == ["2026-06-01", "2026-09-01", "2026-09-01"]     # two runs on one day: two points
    per_run = {}
    for series in r["debt"]["trend"]["hosts"].values():
        for p in series:
            per_run[p["run"]] = per_run.get(p["run"], 0) + p["score"]
    assert [p[1] for p in pts] == [round(per_run[k], 2) for k in sorted(per_run)]
    # same facts judged later carry more debt (further past EOL): the line rises, i.e. cy falls
    assert pts[0][1] < pts[1][1] and pts[0][2] > pts[1][2]
