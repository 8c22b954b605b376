"""End-to-end runs of the release watch: store, website, Atom feed, notices, SMTP delivery on a real local server."""

from __future__ import annotations

import copy
import email
import json
import socket
import xml.etree.ElementTree as ET
from email import policy as email_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from rwfixtures import AS_OF, CMDB_YAML, catalog_products, cycle, d, write_catalog

from s4.cli import main as s4_main
from s4.poc import profiles
from s4.releasewatch.site import SiteConfig
from s4.releasewatch.smtp import SmtpConfig, SmtpConfigError
from s4.releasewatch.store import Store
from s4.releasewatch.watch import Options, run
from s4.report.model import ReportInputError

ATOM = "{http://www.w3.org/2005/Atom}"


def PlainLoopback(port: int, **kw) -> SmtpConfig:  # noqa: N802 - reads like the config it builds
    """The aiosmtpd test servers offer no STARTTLS: plain SMTP chosen explicitly (no credentials)."""
    return SmtpConfig(host="127.0.0.1", port=port, security="none", **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = refuse or set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture()
def smtp_server():
    started = []

    def start(handler: Recorder, **kw) -> int:
        port = free_port()
        ctrl = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=30, **kw)
        ctrl.start()
        started.append(ctrl)
        return port

    yield start
    for c in started:
        c.stop()


def opts(tmp: Path, history_db: Path, catalog_dir: Path, **kw) -> Options:
    base = dict(as_of=AS_OF, out_dir=tmp / "out", store_path=tmp / "rw.sqlite", history_db=history_db,
                catalog_dir=catalog_dir, site=SiteConfig(base_url="http://notices.test/"))
    base.update(kw)
    return Options(**base)


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email_policy.default)


def text_of(msg) -> tuple[str, str]:
    plain = msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    return plain, msg.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")


# --- dry run ----------------------------------------------------------------------------------------------------

def test_dry_run_records_announcements_writes_site_and_eml_but_marks_nothing_sent(
        tmp_path, hostvars, history_db, catalog_dir, engine):
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir), engine=engine)
    assert r["error"] is None and r["changed"]
    assert [a["id"] for a in r["new_announcements"]] == ["php-8.5", "wordpress-7.1"]
    assert {a["id"]: a["clients"] for a in r["new_announcements"]} == {
        "php-8.5": ["acme", "globex", "hooli"], "wordpress-7.1": ["acme", "hooli"]}
    assert {n["client"]: n["status"] for n in r["notices"]} == {"acme": "dry-run", "globex": "dry-run"}
    assert sorted(p.name for p in (tmp_path / "out" / "outbox").iterdir()) == ["acme.eml", "globex.eml"]
    assert {(x["client"], x["announcement"]) for x in r["not_notified"]} == {("hooli", "php-8.5"),
                                                                            ("hooli", "wordpress-7.1")}
    # malformed release entries of the catalog: skipped with a warning, the rest decided
    assert any("7.1.bad" in w for w in r["warnings"]) and any("'garbage'" in w for w in r["warnings"])
    with Store(tmp_path / "rw.sqlite") as s:
        assert {x["status"] for x in s.deliveries()} == {"pending", "not-notified"}
    site = tmp_path / "out" / "site"
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()) == [
        ".s4-release-watch.json", "feed.atom", "index.html", "notices/php-8.5.html", "notices/wordpress-7.1.html"]
    assert json.loads((site / ".s4-release-watch.json").read_text())["entries"] == [
        ".s4-release-watch.json", "feed.atom", "index.html", "notices", "notices/php-8.5.html",
        "notices/wordpress-7.1.html"]

    again = run(hostvars, opts(tmp_path, history_db, catalog_dir), engine=engine)
    assert not again["changed"] and again["new_announcements"] == []
    assert again["site"]["changed"] == [] and again["outbox"]["changed"] == []


def test_check_mode_decides_but_writes_nothing(tmp_path, hostvars, history_db, catalog_dir, engine):
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir, check=True), engine=engine)
    assert r["changed"] and [a["id"] for a in r["new_announcements"]] == ["php-8.5", "wordpress-7.1"]
    assert "index.html" in r["site"]["changed"]
    assert not (tmp_path / "rw.sqlite").exists() and not (tmp_path / "out").exists()


def test_out_of_scope_host_refused_before_anything_is_written(tmp_path, cmdb, history_db, catalog_dir, engine):
    hv = [dict(cmdb.hostvars(n), inventory_hostname=n) for n in sorted(cmdb.hosts)]   # includes colo-01
    with pytest.raises(ReportInputError, match="colo-01"):
        run(hv, opts(tmp_path, history_db, catalog_dir), engine=engine)
    assert not (tmp_path / "rw.sqlite").exists() and not (tmp_path / "out").exists()


# --- website and feed ---------------------------------------------------------------------------------------------

def test_atom_feed_is_valid_and_complete(tmp_path, hostvars, history_db, catalog_dir, engine):
    run(hostvars, opts(tmp_path, history_db, catalog_dir), engine=engine)
    root = ET.parse(tmp_path / "out" / "site" / "feed.atom").getroot()
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{tag}") or "").strip(), tag
    assert root.findtext(f"{ATOM}updated") == f"{AS_OF.isoformat()}T00:00:00Z"
    assert root.find(f"{ATOM}author/{ATOM}name").text == "Smartt"
    links = {lk.get("rel"): lk.get("href") for lk in root.findall(f"{ATOM}link")}
    assert links == {"self": "http://notices.test/feed.atom", "alternate": "http://notices.test/index.html"}
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    ids = set()
    for e in entries:
        for tag in ("id", "title", "updated", "published", "summary"):
            assert (e.findtext(f"{ATOM}{tag}") or "").strip(), tag
        ids.add(e.findtext(f"{ATOM}id"))
        href = e.find(f"{ATOM}link").get("href")
        assert href.startswith("http://notices.test/notices/") and href.endswith(".html")
        assert (tmp_path / "out" / "site" / href.removeprefix("http://notices.test/")).is_file()
    assert len(ids) == 2 and all(i.startswith("tag:smartt.example,") for i in ids)


def test_notice_page_content(tmp_path, hostvars, history_db, catalog_dir, engine):
    run(hostvars, opts(tmp_path, history_db, catalog_dir), engine=engine)
    page = (tmp_path / "out" / "site" / "notices" / "php-8.5.html").read_text()
    assert "<title>PHP 8.5 is ready (8.5.2)" in page
    assert "8.5.2" in page and "2027-12-31" in page and "2029-12-31" in page          # what's new, support dates
    assert "How to request a POC" in page and "mailto:support@smartt.example" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page   # self-contained
    index = (tmp_path / "out" / "site" / "index.html").read_text()
    assert 'href="notices/php-8.5.html"' in index and 'href="notices/wordpress-7.1.html"' in index


# --- SMTP ---------------------------------------------------------------------------------------------------------

def test_smtp_one_message_per_client_then_nothing_new(tmp_path, hostvars, history_db, catalog_dir, engine,
                                                      smtp_server):
    handler = Recorder()
    port = smtp_server(handler)
    o = opts(tmp_path, history_db, catalog_dir, send=True, smtp=PlainLoopback(port=port, timeout=10))
    r = run(hostvars, o, engine=engine)
    assert r["error"] is None and r["sent"] == 2
    got = {parsed(raw)["X-S4-Client"]: (sender, rcpts, parsed(raw)) for sender, rcpts, raw in handler.messages}
    assert len(handler.messages) == 2 and set(got) == {"acme", "globex"}          # hooli has no contact
    assert got["acme"][1] == ["ops@acme.example"]
    assert sorted(got["globex"][1]) == ["cto@globex.example", "it@globex.example"]
    assert got["acme"][0] == "s4-notices@smartt.example"
    acme = got["acme"][2]
    assert acme["Subject"] == "Smartt release notices: 2 new versions for your services"
    assert acme["X-S4-Notices"] == "php-8.5 wordpress-7.1"
    globex = got["globex"][2]
    assert globex["Subject"] == "Smartt release notice: PHP 8.5 is ready (8.5.2)"
    assert "WordPress" not in text_of(globex)[0]
    assert [x["client"] for x in r["not_notified"]] == ["hooli", "hooli"]
    with Store(tmp_path / "rw.sqlite") as s:
        rows = {(x["client_id"], x["announcement_id"]): x for x in s.deliveries()}
    assert {k: v["status"] for k, v in rows.items()} == {
        ("acme", "php-8.5"): "sent", ("acme", "wordpress-7.1"): "sent", ("globex", "php-8.5"): "sent",
        ("hooli", "php-8.5"): "not-notified", ("hooli", "wordpress-7.1"): "not-notified"}
    assert rows[("acme", "php-8.5")]["message_id"] == acme["Message-ID"]

    again = run(hostvars, o, engine=engine)
    assert len(handler.messages) == 2 and again["sent"] == 0 and again["notices"] == [] and not again["changed"]


def test_notice_content(tmp_path, hostvars, history_db, catalog_dir, engine, smtp_server):
    handler = Recorder()
    port = smtp_server(handler)
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True, smtp=PlainLoopback(port=port)),
            engine=engine)
    msgs = {parsed(raw)["X-S4-Client"]: parsed(raw) for _, _, raw in handler.messages}
    text, html = text_of(msgs["acme"])
    # hosts, sites, components and the lifecycle status of what they run
    assert "server mvps-acme-01 (serves acme-blog): php 7.4.33 (runtime), lifecycle status eol" in text
    assert "site acme-blog (acme-blog.example) on mvps-acme-01: wordpress 5.7.11 (webapp), lifecycle status eol" in text
    # provider / client split; what Smartt uplifts is offered what the POC builds (the default profile: one target
    # across notice, EOL report and POC), with its own support end and the announced release as newer upstream
    prof = profiles.default_for({"distro": "debian-11"})
    php = prof.components["php"]
    assert (f"What Smartt will do:\n  - uplift php 7.4.33 on mvps-acme-01 to PHP {php} (supported until 2030-06-30; "
            f"what POC profile {prof.name} builds); PHP 8.5 is newer upstream, not in the POC profile") in text
    assert "What is yours to do (web applications and front-end components you manage):\n  - upgrade wordpress 5.7.11" \
        " in site acme-blog (acme-blog.example) on mvps-acme-01 to WordPress 7.1" in text    # the client's own app
    assert "time-and-materials" in text
    # the POC offer in words: what it builds, never the operator's command (that is in the run's result)
    assert (f"Smartt will then build:\n  - a copy of server mvps-acme-01 (sites acme-blog) with your data, on "
            f"{prof.description} (POC profile {prof.name})") in text
    for body in (text, html):
        assert "ansible-playbook" not in body and "s4_poc" not in body and "poc_provision" not in body
    assert "http://notices.test/notices/php-8.5.html" in text
    assert "<td>wordpress (webapp)</td><td>5.7.11</td><td>eol</td>" in html and "<script" not in html
    globex_text = text_of(msgs["globex"])[0]
    # a shared server names only globex's own sites: hooli's site name never reaches globex
    assert "server shared-01 (serves globex-www): php 8.2.29 (runtime)" in globex_text
    assert "hooli" not in globex_text.lower() and "hooli" not in text_of(msgs["globex"])[1].lower()
    assert f"uplift php 8.2.29 on shared-01 to PHP {php} (supported until" in globex_text
    assert "acme" not in globex_text.lower()
    # the operator's copy: the command per host, with the profile
    notices = {n["client"]: n for n in r["notices"]}
    assert notices["acme"]["poc_commands"] == [
        f"ansible-playbook playbooks/poc_provision.yml -e s4_poc_source=mvps-acme-01 -e s4_poc_profile={prof.name}"]


def test_smtp_down_records_nothing_sent_and_a_rerun_sends(tmp_path, hostvars, history_db, catalog_dir, engine,
                                                          smtp_server):
    down = free_port()  # nothing listens there
    o = opts(tmp_path, history_db, catalog_dir, send=True, smtp=PlainLoopback(port=down, timeout=5))
    r = run(hostvars, o, engine=engine)
    assert r["error"] and f"cannot use SMTP server 127.0.0.1:{down}" in r["error"]
    assert r["sent"] == 0 and {n["status"] for n in r["notices"]} == {"pending"}
    with Store(tmp_path / "rw.sqlite") as s:
        assert s.deliveries("sent") == []
        assert all(x["attempts"] == 1 and x["last_error"] for x in s.deliveries("pending"))
        assert len(s.announced_ids()) == 2          # the decisions themselves are kept: announced once
    handler = Recorder()
    port = smtp_server(handler)
    r2 = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True,
                            smtp=PlainLoopback(port=port)), engine=engine)
    assert r2["error"] is None and r2["sent"] == 2 and r2["new_announcements"] == []
    assert sorted(parsed(raw)["X-S4-Client"] for _, _, raw in handler.messages) == ["acme", "globex"]


def test_refused_recipient_fails_that_client_only(tmp_path, hostvars, history_db, catalog_dir, engine, smtp_server):
    handler = Recorder(refuse={"ops@acme.example"})
    port = smtp_server(handler)
    o = opts(tmp_path, history_db, catalog_dir, send=True, smtp=PlainLoopback(port=port))
    r = run(hostvars, o, engine=engine)
    assert {n["client"]: n["status"] for n in r["notices"]} == {"acme": "failed", "globex": "sent"}
    assert "acme" in r["error"] and "stay pending" in r["error"]
    handler.refuse.clear()
    r2 = run(hostvars, o, engine=engine)
    assert r2["error"] is None and [n["client"] for n in r2["notices"]] == ["acme"]
    assert [parsed(raw)["X-S4-Client"] for _, _, raw in handler.messages] == ["globex", "acme"]


def test_client_gets_contacts_later_then_is_notified(tmp_path, hostvars, history_db, catalog_dir, engine,
                                                     smtp_server):
    handler = Recorder()
    port = smtp_server(handler)
    o = opts(tmp_path, history_db, catalog_dir, send=True, smtp=PlainLoopback(port=port))
    run(hostvars, o, engine=engine)
    hv = copy.deepcopy(hostvars)
    for h in hv:
        for c in h["s4_clients"]:
            if c["id"] == "hooli":
                c["contacts"] = ["admin@hooli.example"]
    r = run(hv, o, engine=engine)
    assert r["changed"] and r["not_notified"] == [] and [n["client"] for n in r["notices"]] == ["hooli"]
    sender, rcpts, raw = handler.messages[-1]
    assert rcpts == ["admin@hooli.example"] and parsed(raw)["X-S4-Notices"] == "php-8.5 wordpress-7.1"


def test_new_release_next_run_only_sends_the_new_one(tmp_path, hostvars, history_db, engine, smtp_server):
    products = catalog_products()
    cat = write_catalog(tmp_path / "cat", products)
    handler = Recorder()
    port = smtp_server(handler)
    o = opts(tmp_path, history_db, cat, send=True, smtp=PlainLoopback(port=port))
    run(hostvars, o, engine=engine)
    # a security release of PHP 8.2 (supported) appears: announced at once, only to the clients on 8.2 < 8.2.30
    php = products["php"]
    php["cycles"][1] = cycle("8.2", 1100, [["8.2.30", d(0), "security"], ["8.2.29", d(100)], ["8.2.1", d(1050)],
                                           ["8.2.0", d(1100)]], eol="2026-12-31")
    write_catalog(cat, {"php": php})
    r = run(hostvars, o, engine=engine)
    assert [a["id"] for a in r["new_announcements"]] == ["php-8.2.30-security"]
    assert r["new_announcements"][0]["clients"] == ["globex", "hooli"]
    assert len(handler.messages) == 3
    last = parsed(handler.messages[-1][2])
    assert last["X-S4-Client"] == "globex" and last["X-S4-Notices"] == "php-8.2.30-security"
    assert "security release" in last["Subject"]


def _auth(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"s4-notices" and auth_data.password == b"s3cr3t-pw"
    return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_and_credentials_never_leak(tmp_path, hostvars, history_db, catalog_dir, engine, smtp_server):
    handler = Recorder()
    port = smtp_server(handler, authenticator=_auth, auth_required=True, auth_require_tls=False)
    # a loopback test server without TLS: plain AUTH only because it is explicitly allowed (and loopback)
    bad = SmtpConfig(host="127.0.0.1", port=port, security="none", username="s4-notices", password="wrong-pw-123",
                     allow_plaintext_auth=True)
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True, smtp=bad), engine=engine)
    assert "refused the login" in r["error"] and r["sent"] == 0
    assert "wrong-pw-123" not in json.dumps(r) and "wrong-pw-123" not in repr(bad)
    good = SmtpConfig.from_options({"host": "127.0.0.1", "port": port, "security": "none",
                                    "allow_plaintext_auth": True},
                                   env={"S4_SMTP_USERNAME": "s4-notices", "S4_SMTP_PASSWORD": "s3cr3t-pw"})
    r2 = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True, smtp=good), engine=engine)
    assert r2["error"] is None and r2["sent"] == 2
    assert "s3cr3t-pw" not in json.dumps(r2) and "s3cr3t-pw" not in repr(good)


@pytest.mark.parametrize("options,problem", [
    ({"security": "tls"}, "security must be one of"),
    ({"port": 70000}, "port must be 1-65535"),
    ({"port": "abc"}, "must be numbers"),
    ({"username": "u"}, "go together"),
    ({"verify_tls": "maybe"}, "verify_tls must be a boolean"),
])
def test_smtp_settings_validation(options, problem):
    with pytest.raises(SmtpConfigError, match=problem):
        SmtpConfig.from_options(options, env={})


def test_smtp_settings_defaults():
    default = SmtpConfig.from_options({}, env={})
    assert (default.security, default.port, default.verify_tls, default.allow_plaintext_auth) == (
        "starttls", 587, True, False)
    assert SmtpConfig.from_options({"security": "ssl"}, env={}).port == 465
    assert SmtpConfig.from_options({"security": "none"}, env={}).port == 25
    cfg = SmtpConfig.from_options({"verify_tls": "false", "port": "587", "security": "starttls"}, env={})
    assert (cfg.port, cfg.verify_tls, cfg.username) == (587, False, None)


# --- CLI --------------------------------------------------------------------------------------------------------

def test_cli_dry_run_then_idempotent(tmp_path, history_db, catalog_dir, capsys):
    cmdb_file = tmp_path / "cmdb.yml"
    cmdb_file.write_text(CMDB_YAML)
    argv = ["release-watch", "--as-of", AS_OF.isoformat(), "--cmdb", str(cmdb_file), "--history-db", str(history_db),
            "--store", str(tmp_path / "rw.sqlite"), "--out", str(tmp_path / "out"), "--catalog", str(catalog_dir),
            "--json"]
    assert s4_main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in r["new_announcements"]] == ["php-8.5", "wordpress-7.1"]
    assert (tmp_path / "out" / "outbox" / "acme.eml").is_file()
    assert s4_main(argv[:-1]) == 0
    out = capsys.readouterr().out
    assert "0 new, 2 announced in total" in out and "not notified: hooli" in out
    assert s4_main(["release-watch", "--as-of", "27/11/2026"]) == 2
    assert s4_main(["release-watch", "--explain", "jquery", "--as-of", AS_OF.isoformat(), "--catalog",
                    str(catalog_dir)]) == 0
    assert "0 patch release(s), policy wants 1" in capsys.readouterr().out


def test_cli_smtp_down_exit_1(tmp_path, history_db, catalog_dir, capsys):
    cmdb_file = tmp_path / "cmdb.yml"
    cmdb_file.write_text(CMDB_YAML)
    rc = s4_main(["release-watch", "--as-of", AS_OF.isoformat(), "--cmdb", str(cmdb_file), "--history-db",
                  str(history_db), "--store", str(tmp_path / "rw.sqlite"), "--out", str(tmp_path / "out"),
                  "--catalog", str(catalog_dir), "--send", "--smtp-host", "127.0.0.1", "--smtp-port",
                  str(free_port()), "--smtp-timeout", "5"])
    assert rc == 1
    assert "cannot use SMTP server" in capsys.readouterr().err


def test_drafts_of_the_dry_run_are_dropped_once_sent(tmp_path, hostvars, history_db, catalog_dir, engine,
                                                    smtp_server):
    run(hostvars, opts(tmp_path, history_db, catalog_dir), engine=engine)
    outbox = tmp_path / "out" / "outbox"
    assert sorted(p.name for p in outbox.iterdir()) == ["acme.eml", "globex.eml"]
    draft = parsed((outbox / "acme.eml").read_bytes())
    handler = Recorder()
    port = smtp_server(handler)
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True, smtp=PlainLoopback(port=port)),
            engine=engine)
    assert r["sent"] == 2 and sorted(r["outbox"]["removed"]) == ["acme.eml", "globex.eml"]
    assert list(outbox.iterdir()) == []
    sent = {parsed(raw)["X-S4-Client"]: parsed(raw) for _, _, raw in handler.messages}
    # what was drafted is what was sent (deterministic: same ids, same body)
    assert sent["acme"]["Message-ID"] == draft["Message-ID"]
    assert text_of(sent["acme"]) == text_of(draft)


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    import datetime as _dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(days=1))
            .not_valid_after(now + _dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    crt, pem = tmp / "smtp.crt", tmp / "smtp.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_smtp_tls_modes_verify_the_server(tmp_path, hostvars, history_db, catalog_dir, engine, smtp_server,
                                          security):
    import ssl

    crt, pem = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(crt, pem)
    handler = Recorder()
    if security == "starttls":
        port = smtp_server(handler, tls_context=server_ctx, require_starttls=True)
    else:
        port = smtp_server(handler, ssl_context=server_ctx)
    # without the CA the certificate is not trusted: nothing sent, a clear error
    untrusted = SmtpConfig(host="127.0.0.1", port=port, security=security, timeout=10)
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True, smtp=untrusted), engine=engine)
    assert r["sent"] == 0 and handler.messages == []
    assert "cannot use SMTP server" in r["error"] and "TLS certificate not trusted" in r["error"]
    trusted = SmtpConfig(host="127.0.0.1", port=port, security=security, timeout=10, ca_file=str(crt))
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True, smtp=trusted), engine=engine)
    assert r["error"] is None and r["sent"] == 2 and len(handler.messages) == 2


def test_clients_seen_after_the_announcement_are_notified_once(tmp_path, hostvars, history_db, catalog_dir, engine,
                                                              smtp_server):
    handler = Recorder()
    port = smtp_server(handler)
    smtp = PlainLoopback(port=port)
    # first run before any gathering: announced, nobody concerned yet, the missing history is warned about
    r = run(hostvars, opts(tmp_path, tmp_path / "none.sqlite", catalog_dir, send=True, smtp=smtp), engine=engine)
    assert [a["clients"] for a in r["new_announcements"]] == [[], []] and r["sent"] == 0
    assert any("no gather history database" in w for w in r["warnings"])
    assert len(r["not_gathered"]) == 3
    # the history arrives: the still-current announcements reach their clients
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True, smtp=smtp), engine=engine)
    assert r["new_announcements"] == [] and r["changed"]
    assert {a["id"]: a["clients"] for a in r["late_clients"]} == {"php-8.5": ["acme", "globex", "hooli"],
                                                                  "wordpress-7.1": ["acme", "hooli"]}
    assert r["sent"] == 2 and sorted(parsed(raw)["X-S4-Client"] for _, _, raw in handler.messages) == ["acme", "globex"]
    r = run(hostvars, opts(tmp_path, history_db, catalog_dir, send=True, smtp=smtp), engine=engine)
    assert not r["changed"] and r["late_clients"] == [] and len(handler.messages) == 2
