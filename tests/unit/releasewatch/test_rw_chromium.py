"""The notice page and the index in headless Chromium: the DOM Chromium builds holds the notice, its support
dates and the POC section, laid out (visible boxes), and every index link points at a page that exists.

A probe script is appended to a copy of each page; it writes what it measured as JSON into the DOM, which
Chromium prints with --dump-dom.
"""

from __future__ import annotations

import html as _html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rwfixtures import AS_OF

from s4.releasewatch.site import SiteConfig
from s4.releasewatch.watch import Options, run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian package chromium is not installed (scripts/apt-packages.txt)")

PROBE = r"""
<script>
(function () {
  var out = {};
  function box(sel) { var e = document.querySelector(sel); return e ? [e.offsetWidth, e.offsetHeight] : null; }
  var n = document.getElementById("notice");
  out.title = document.title;
  out.noticeId = n ? n.getAttribute("data-notice-id") : null;
  out.h1 = document.querySelector("h1") ? document.querySelector("h1").textContent.trim() : null;
  out.noticeBox = box("#notice");
  out.pocBox = box("#poc");
  out.supportRows = Array.prototype.map.call(document.querySelectorAll("#support tr"), function (r) {
    return Array.prototype.map.call(r.cells, function (c) { return c.textContent.trim(); });
  });
  out.mailto = Array.prototype.map.call(document.querySelectorAll("a[href^='mailto:']"), function (a) {
    return a.getAttribute("href"); });
  out.links = Array.prototype.map.call(document.querySelectorAll("#notices a"), function (a) {
    return a.getAttribute("href"); });
  out.feed = document.querySelector("link[rel=alternate]").getAttribute("href");
  out.external = Array.prototype.filter.call(document.querySelectorAll("[src],link[href]"), function (e) {
    return /^https?:/.test(e.getAttribute("src") || e.getAttribute("href")); }).length;
  var pre = document.createElement("pre"); pre.id = "probe-result"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def dump(page: Path, tmp: Path) -> dict:
    probe = page.with_name(page.stem + ".probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    profile = tmp / f"chromium-{page.stem}"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--dump-dom", probe.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    probe.unlink()
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"no probe result (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(_html.unescape(m.group(1)))


def test_notice_page_and_index_in_chromium(tmp_path, hostvars, history_db, catalog_dir, engine):
    run(hostvars, Options(as_of=AS_OF, out_dir=tmp_path / "out", store_path=tmp_path / "rw.sqlite",
                          history_db=history_db, catalog_dir=catalog_dir,
                          site=SiteConfig(base_url="http://notices.test/")), engine=engine)
    site = tmp_path / "out" / "site"
    page = dump(site / "notices" / "php-8.5.html", tmp_path)
    assert page["title"] == "PHP 8.5 is ready (8.5.2) | Smartt release notices"
    assert page["noticeId"] == "php-8.5" and page["h1"] == "PHP 8.5 is ready (8.5.2)"
    assert page["noticeBox"][0] > 200 and page["noticeBox"][1] > 200
    assert page["pocBox"][1] > 20
    assert page["supportRows"] == [["Support phase of PHP 8.5", "Until"], ["Active support (bug fixes)", "2027-12-31"],
                                   ["Security support", "2029-12-31"]]
    assert page["mailto"] == ["mailto:support@smartt.example?subject=POC%20request%20php-8.5"]
    assert page["feed"] == "../feed.atom" and page["external"] == 0

    index = dump(site / "index.html", tmp_path)
    assert index["links"] == ["notices/wordpress-7.1.html", "notices/php-8.5.html"]
    assert all((site / link).is_file() for link in index["links"])
    assert index["feed"] == "feed.atom" and index["external"] == 0
