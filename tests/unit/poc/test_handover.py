"""The client handover of a passed POC (s4.poc.handover, ``s4 poc handover``): the notice's content, no secret in it,
tenant isolation, header injection refused, idempotence through the state store, SMTP delivery on a local server."""

from __future__ import annotations

import email
import json
import socket
from email import policy as email_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from s4 import cmdb as cmdb_mod
from s4.cli import main as s4_main
from s4.poc import handover, profiles, report
from s4.poc import plan as poc_plan
from s4.releasewatch.smtp import SmtpConfig
from s4.state import dump_text, open_store
from s4.state import poc as state_poc

FIXTURES = Path(__file__).parent / "fixtures"
ADDRESS = {"acme-blog": "10.89.40.100", "initech-www": "10.89.40.101", "umbrella-shop": "10.89.40.102",
           "mvps-globex-01": "10.89.40.103"}
# what the POC's secrets file (/root/.s4/access.yml) and the state could hold: none of it may reach a notice
FAKE_DB_PASSWORD = "Fake-Db-Pass-7Qx9w2Lr"
FAKE_SMTP_PASSWORD = "Fake-Smtp-Pass-3Kd8"

CMDB_YAML = """
plugin: smartt.s4.cmdb
cmdb:
  version: 1
  domain: smartt.example
  clients:
    acme: {name: Acme Ltd, contacts: [ops@acme.example]}
    initech: {name: Initech, contacts: [webmaster@initech.example]}
    umbrella: {name: Umbrella Shop SARL, contacts: [devops@umbrella.example, ceo@umbrella.example]}
    hooli: {name: Hooli Apps, contacts: []}
    globex: {name: Globex Corporation, contacts: [it@globex.example, cto@globex.example]}
  hosts:
    mvps-globex-01:
      service: mvps
      address: 10.89.40.12
      os: debian-11
      clients: [globex]
      sites:
        - {name: globex-webmail, client: globex, domain: mail.globex.example, aliases: [],
           docroot: /var/lib/roundcube/public_html, app: roundcube,
           db: {engine: postgresql, name: globex_roundcube, server: mvps-globex-01}}
        - {name: globex-www, client: globex, domain: www.globex.example, aliases: [globex.example],
           docroot: /srv/www/globex-www, app: php, db: {engine: postgresql, name: globex_crm, server: mvps-globex-01}}
    mvps-acme-01:
      service: mvps
      address: 10.89.40.11
      os: debian-11
      clients: [acme]
      sites:
        - {name: acme-blog, client: acme, domain: blog.acme.example, aliases: [www.blog.acme.example],
           docroot: /usr/share/wordpress, app: wordpress,
           db: {engine: mariadb, name: acme_wp, server: mvps-acme-01}}
    shared-01:
      service: shared_hosting
      address: 10.89.40.13
      os: debian-12
      clients: [initech, umbrella, hooli]
      sites:
        - {name: initech-www, client: initech, domain: www.initech.example, aliases: [], docroot: /srv/www/initech-www/public,
           app: php, db: {engine: mariadb, name: initech_www, server: db-01}}
        - {name: umbrella-shop, client: umbrella, domain: shop.umbrella.example, aliases: [shop2.umbrella.example],
           docroot: /srv/www/umbrella-shop/public, app: laravel, db: {engine: mariadb, name: umbrella_shop, server: db-01}}
        - {name: hooli-app, client: hooli, domain: app.hooli.example, aliases: [], docroot: /srv/www/hooli-app/public,
           app: php}
    db-01:
      service: shared_hosting
      address: 10.89.40.14
      os: debian-12
      clients: [initech, umbrella]
"""

SHARED_BEFORE = {"distro": "debian-12", "os": {"id": "debian", "version_full": "12.12"},
                 "components": [{"product": "php", "version": "8.2.29", "source": "dpkg"},
                                {"product": "nginx", "version": "1.22.1", "source": "dpkg"}]}
SHARED_AFTER = {"distro": "debian-13", "os": {"id": "debian", "version_full": "13.2"},
                "components": [{"product": "php", "version": "8.4.16", "source": "dpkg"},
                               {"product": "nginx", "version": "1.26.3", "source": "dpkg"},
                               {"product": "mariadb", "version": "11.8.3", "source": "dpkg"}]}


def cmdb_text(contacts: str | None = None) -> str:
    return CMDB_YAML if contacts is None else CMDB_YAML.replace("contacts: [ops@acme.example]", contacts)


@pytest.fixture()
def hostvars() -> dict[str, dict[str, Any]]:
    db = cmdb_mod.loads(CMDB_YAML, "test-cmdb.yml")
    return {n: db.hostvars(n) for n in db.in_scope}


class Poc:
    """A passed POC as poc_provision.yml leaves it: its record in the state store and reports/poc/<name>/report.json."""

    def __init__(self, tmp: Path, hostvars: dict[str, Any], source: str, site: str | None, *,
                 passed: bool = True) -> None:
        self.url = f"sqlite:///{tmp / 'state.sqlite'}"
        self.reports = tmp / "reports"
        prof = profiles.load("debian13")
        in_scope = [h for h, v in hostvars.items() if v.get("s4_in_scope")]
        self.plan = poc_plan.build(source, hostvars, in_scope, site=site, domain="smartt.example",
                                   profile=prof.to_dict(), versions=prof.resolve_versions())
        self.name = self.plan["name"]
        address = ADDRESS[site or source]
        if site == "acme-blog":
            fx = json.loads((FIXTURES / "lab_acme_blog.json").read_text())
            before, after = fx["before"], fx["after"]
        else:
            before, after = SHARED_BEFORE, SHARED_AFTER
        config = self.plan["sites"][0]["config"] or f"/srv/www/{site}/.env"
        legitimate = [{"path": config, "change": "modified", "detail": "content",
                       "reason": f"DB password rewritten; password={FAKE_DB_PASSWORD}"}]
        if self.plan["sites"][0]["preview_config"]:
            legitimate.append({"path": self.plan["sites"][0]["preview_config"], "change": "added", "detail": "new",
                               "reason": "preview host name configuration (WP_HOME/WP_SITEURL)"})
        upgrades = {"acme-blog": [{"site": "acme-blog", "app": "wordpress", "package": "wordpress",
                                   "package_before": "5.7.11", "package_after": "6.8.1", "schema": "db_version",
                                   "schema_before": 49752, "schema_after": 60421, "schema_target": 60421,
                                   "status": "ran", "detail": ""}],
                    None: [{"site": "globex-webmail", "app": "roundcube", "package": "roundcube-core",
                            "package_before": "1.4.15+dfsg.1-1", "package_after": "1.6.11+dfsg-1",
                            "schema": "roundcube-version", "schema_before": "2019092900",
                            "schema_after": "2022081200", "schema_target": "2022081200", "status": "ran",
                            "detail": ""}]}
        rep = report.build(
            self.plan, vm={"vmid": 101, "node": "pve", "address": address, "name": self.name},
            before=before, after=after,
            integrity={"passed": passed, "checks": [], "mismatches": [], "legitimate": legitimate},
            interop=[{"check": "http", "site": site, "passed": True, "detail": f"token={FAKE_DB_PASSWORD}"}],
            # the worst case: the POC's access file (hosts lines AND its database passwords) handed to the report
            access={"hosts_lines": poc_plan.hosts_lines(self.plan, address),
                    "dns": poc_plan.dns_records(self.plan, address),
                    "credentials_file": f"root@{self.name}:/root/.s4/access.yml",
                    "database_accounts": {a["name"]: FAKE_DB_PASSWORD for a in self.plan["databases"]},
                    "rewritten_configs": [config]},
            commands={"go_live": f"ansible-playbook playbooks/poc_golive.yml -e s4_poc_name={self.name}"},
            app_upgrades=upgrades.get(site, []))
        (self.reports / self.name).mkdir(parents=True, exist_ok=True)
        (self.reports / self.name / "report.json").write_text(report.render_json(rep))
        store = open_store(self.url)
        assert store is not None
        with store:
            state_poc.record_step(store, self.name, "provision", outcome="ok" if passed else "failed",
                                  started_at="2026-12-08T03:00:00Z", client=self.plan["client"], vmid=101, node="pve",
                                  source_host=source, sites=[s["name"] for s in self.plan["sites"]],
                                  profile="debian13",
                                  detail=f"passed; db password {FAKE_DB_PASSWORD}", secrets=[FAKE_DB_PASSWORD])

    def opts(self, **kw: Any) -> handover.Options:
        return handover.Options(reports_dir=self.reports, state_url=self.url, **kw)

    @property
    def eml(self) -> Path:
        return self.reports / self.name / "handover.eml"

    def rows(self) -> list[dict[str, Any]]:
        store = open_store(self.url)
        assert store is not None
        with store:
            return state_poc.handovers(store, self.name)


def parsed(raw: bytes | str) -> email.message.EmailMessage:
    data = raw.encode() if isinstance(raw, str) else raw
    msg = email.message_from_bytes(data, policy=email_policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def bodies(msg: email.message.EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


# --- content ------------------------------------------------------------------------------------------------------


def test_notice_carries_preview_names_hosts_lines_versions_and_what_to_test(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    r = handover.run(poc.name, hostvars, poc.opts())
    assert r["status"] == "drafted" and r["changed"] and r["recipients"] == ["ops@acme.example"]
    msg = parsed(poc.eml.read_bytes())
    text, html = bodies(msg)
    assert msg["To"] == "ops@acme.example" and msg["Reply-To"] == "support@smartt.example"
    assert msg["X-S4-Client"] == "acme" and msg["X-S4-Poc"] == poc.name
    assert "acme-blog" in msg["Subject"]
    for body in (text, html):
        assert "http://acme-blog.poc.smartt.example/" in body
        # the hosts-file line is plan.hosts_lines' own
        assert poc_plan.hosts_lines(poc.plan, "10.89.40.100")[0] in body
        assert "10.89.40.100 acme-blog.poc.smartt.example blog.acme.example www.blog.acme.example" in body
        assert "http://acme-blog.poc.smartt.example/wp-login.php" in body  # the app kind's key pages
        assert "/etc/wordpress/config-acme-blog.poc.smartt.example.php" in body  # a declared config change
        assert "support@smartt.example" in body and poc.name in body
    # versions before -> after, from the report (the lab's recorded facts of acme-blog)
    assert "PHP: 7.4.33 -> 8.4.28" in text and "MariaDB: 10.5.29 -> 11.8.9" in text and "Debian: 11 -> 13" in text
    assert "WordPress 5.7.11 -> 6.8.1 (its database was upgraded" in text
    assert "<td>PHP</td><td>7.4.33</td><td>8.4.28</td>" in html
    # the rewritten config is named, in the client's words
    assert "/etc/wordpress/config-blog.acme.example.php (modified): the database password in your application" in text
    # the report's look: the release watch's e-mail base
    assert '<body style="font-family:Arial,sans-serif;color:#1d2733;line-height:1.45">' in html
    assert '<h2 style="font-size:17px">What to test</h2>' in html


def test_no_operator_command_in_the_notice(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    handover.run(poc.name, hostvars, poc.opts())
    raw = poc.eml.read_text()
    text, html = bodies(parsed(raw))
    for body in (text, html):
        for word in ("ansible", "playbook", "s4_poc", "-e ", "poc_golive", "poc_teardown", "/root/.s4"):
            assert word not in body, word


def test_a_laravel_site_gets_its_own_pages_and_each_alias(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "shared-01", "umbrella-shop")
    handover.run(poc.name, hostvars, poc.opts())
    text, _html = bodies(parsed(poc.eml.read_bytes()))
    assert "http://umbrella-shop.poc.smartt.example/login" in text
    assert "http://shop.umbrella.example/, http://shop2.umbrella.example/" in text
    assert "PHP: 8.2.29 -> 8.4.16" in text and "nginx: 1.22.1 -> 1.26.3" in text


def test_a_whole_host_poc_lists_every_site_with_its_application_pages(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-globex-01", None)
    assert poc.name == "poc-globex-mvps-globex-01-1b6568b8"
    r = handover.run(poc.name, hostvars, poc.opts())
    assert r["sites"] == ["globex-webmail", "globex-www"] and r["recipients"] == ["it@globex.example",
                                                                                 "cto@globex.example"]
    text, _html = bodies(parsed(poc.eml.read_bytes()))
    assert "your server mvps-globex-01 (sites globex-webmail, globex-www)" in text
    assert "10.89.40.103 globex-webmail.poc.smartt.example mail.globex.example" in text
    assert "10.89.40.103 globex-www.poc.smartt.example www.globex.example globex.example" in text
    assert "globex-webmail (Roundcube):" in text and "log in with a mailbox account" in text
    assert "globex-webmail: Roundcube 1.4.15+dfsg.1-1 -> 1.6.11+dfsg-1 (its database was upgraded" in text
    assert "globex-www (PHP):" in text and "http://globex-www.poc.smartt.example/: the home page" in text


# --- secrets --------------------------------------------------------------------------------------------------------


def test_generated_passwords_never_reach_the_notice_or_the_store(tmp_path: Path, hostvars, monkeypatch) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    monkeypatch.setenv("S4_SMTP_PASSWORD", FAKE_SMTP_PASSWORD)
    # the report itself still holds the access file's passwords (the worst case): the notice must not take them
    assert FAKE_DB_PASSWORD in (poc.reports / poc.name / "report.json").read_text()
    r = handover.run(poc.name, hostvars, poc.opts())
    raw = poc.eml.read_bytes()
    text, html = bodies(parsed(raw))
    for blob in (raw.decode(), text, html, json.dumps(r)):
        assert FAKE_DB_PASSWORD not in blob and FAKE_SMTP_PASSWORD not in blob
    store = open_store(poc.url)
    assert store is not None
    with store:
        dumped = dump_text(store).decode()
    assert FAKE_DB_PASSWORD not in dumped and "poc_handovers" in dumped
    assert "no password" in text and "ask support@smartt.example" in text  # how credentials are obtained


# --- tenant isolation -----------------------------------------------------------------------------------------------


def test_each_client_of_a_shared_host_gets_only_its_own_poc(tmp_path: Path, hostvars) -> None:
    a = Poc(tmp_path / "a", hostvars, "shared-01", "initech-www")
    b = Poc(tmp_path / "b", hostvars, "shared-01", "umbrella-shop")
    handover.run(a.name, hostvars, a.opts())
    handover.run(b.name, hostvars, b.opts())
    raw_a, raw_b = a.eml.read_text(), b.eml.read_text()
    msg_a, msg_b = parsed(raw_a), parsed(raw_b)
    assert msg_a["To"] == "webmaster@initech.example"
    assert msg_b["To"] == "devops@umbrella.example, ceo@umbrella.example"
    body_a, body_b = " ".join(bodies(msg_a)) + raw_a, " ".join(bodies(msg_b)) + raw_b
    for other in ("umbrella", "Umbrella", "shop.umbrella.example", "10.89.40.102", b.name, "hooli"):
        assert other not in body_a, other
    for other in ("initech", "Initech", "www.initech.example", "10.89.40.101", a.name, "hooli"):
        assert other not in body_b, other


def test_a_site_the_cmdb_gives_to_another_client_is_refused(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "shared-01", "initech-www")
    # the CMDB now says the POC's site belongs to umbrella: the notice would go to the wrong client
    moved = json.loads(json.dumps(hostvars))
    moved["shared-01"]["s4_sites"][0]["client"] = "umbrella"
    with pytest.raises(handover.HandoverError, match="belongs to client umbrella, not to the POC's client initech"):
        handover.run(poc.name, moved, poc.opts())
    assert not poc.eml.exists() and poc.rows() == []


# --- header injection -----------------------------------------------------------------------------------------------


def test_a_contact_with_a_header_injection_fails_clearly(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    evil = "ops@acme.example\r\nBcc: attacker@evil.example"
    # at the CMDB boundary (the inventory plugin and `s4 poc handover --cmdb`)
    with pytest.raises(cmdb_mod.CmdbError, match="contacts"):
        cmdb_mod.loads(cmdb_text(f"contacts: [{json.dumps(evil)}]"), "evil.yml")
    # and again in the handover itself (hostvars from any other inventory source)
    bad = json.loads(json.dumps(hostvars))
    bad["mvps-acme-01"]["s4_clients"][0]["contacts"] = [evil]
    with pytest.raises(handover.HandoverError, match=r"CMDB client acme: contact 'ops@acme.example\\r\\nBcc: attacker@evil.example' is refused"):
        handover.run(poc.name, bad, poc.opts())
    assert not poc.eml.exists() and poc.rows() == []
    for display in ("Ops <ops@acme.example>", "ops@acme.example, attacker@evil.example"):
        bad["mvps-acme-01"]["s4_clients"][0]["contacts"] = [display]
        with pytest.raises(handover.HandoverError, match="CMDB client acme"):
            handover.run(poc.name, bad, poc.opts())


def test_cli_refuses_a_cmdb_with_an_injected_contact(tmp_path: Path, hostvars, capsys) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    cmdb_file = tmp_path / "cmdb.yml"
    cmdb_file.write_text(cmdb_text('contacts: ["ops@acme.example\\r\\nBcc: attacker@evil.example"]'))
    rc = s4_main(["poc", "handover", poc.name, "--cmdb", str(cmdb_file), "--state-url", poc.url,
                  "--reports", str(poc.reports)])
    err = capsys.readouterr().err
    assert rc == 2 and "client acme" in err and "contacts" in err
    assert not poc.eml.exists()


# --- refusals -------------------------------------------------------------------------------------------------------


def test_only_a_passed_poc_is_handed_over(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog", passed=False)
    with pytest.raises(handover.HandoverError, match="has not passed"):
        handover.run(poc.name, hostvars, poc.opts())
    with pytest.raises(handover.HandoverError, match="no record in the state store"):
        handover.run("poc-acme-other-12345678", hostvars, poc.opts())
    assert not poc.eml.exists()


def test_a_cmdb_whose_names_changed_since_the_provision_is_refused(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    changed = json.loads(json.dumps(hostvars))
    changed["mvps-acme-01"]["s4_sites"][0]["aliases"].append("new.acme.example")
    with pytest.raises(handover.HandoverError, match="changed since it was provisioned"):
        handover.run(poc.name, changed, poc.opts())


def test_a_client_without_contact_is_not_notified(tmp_path: Path, hostvars) -> None:
    no_contact = json.loads(json.dumps(hostvars))
    no_contact["mvps-acme-01"]["s4_clients"][0]["contacts"] = []
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    r = handover.run(poc.name, no_contact, poc.opts())
    assert r["status"] == "not-notified" and not r["changed"] and "no contact address" in r["warnings"][0]
    assert not poc.eml.exists() and poc.rows() == []


# --- idempotence and delivery ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture()
def smtp_server():
    started = []

    def start(handler: Recorder) -> int:
        port = free_port()
        ctrl = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=30)
        ctrl.start()
        started.append(ctrl)
        return port

    yield start
    for c in started:
        c.stop()


def loopback(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, security="none")  # the test server offers no STARTTLS


def test_dry_run_then_send_then_rerun_sends_nothing(tmp_path: Path, hostvars, smtp_server) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    first = handover.run(poc.name, hostvars, poc.opts())
    mtime, content = poc.eml.stat().st_mtime_ns, poc.eml.read_bytes()
    assert first["changed"] and first["status"] == "drafted"
    assert poc.eml.stat().st_mode & 0o777 == 0o600
    again = handover.run(poc.name, hostvars, poc.opts())
    assert again["changed"] is False and again["status"] == "drafted"
    assert poc.eml.stat().st_mtime_ns == mtime and poc.eml.read_bytes() == content  # same bytes, not rewritten
    [row] = poc.rows()
    assert row["status"] == "drafted" and row["eml"] == str(poc.eml) and row["sent_at"] is None

    rec = Recorder()
    port = smtp_server(rec)
    sent = handover.run(poc.name, hostvars, poc.opts(send=True, smtp=loopback(port)))
    assert sent["status"] == "sent" and sent["changed"]
    assert len(rec.messages) == 1 and rec.messages[0][1] == ["ops@acme.example"]
    delivered = parsed(rec.messages[0][2])
    assert delivered["Message-ID"] == parsed(content)["Message-ID"]  # what was drafted is what was sent
    assert bodies(delivered) == bodies(parsed(content))
    assert not poc.eml.exists()  # the draft of what was sent is gone
    [row] = poc.rows()
    assert row["status"] == "sent" and row["sent_at"] and row["attempts"] == 1 and row["eml"] is None

    # reruns (the provision's task again, the go-live's final sync) neither send nor draft it again
    for opts in (poc.opts(send=True, smtp=loopback(port)), poc.opts()):
        r = handover.run(poc.name, hostvars, opts)
        assert r["changed"] is False and r["status"] == "sent"
    assert len(rec.messages) == 1 and not poc.eml.exists() and len(poc.rows()) == 1


def test_a_poc_rebuilt_at_another_address_gets_a_new_notice(tmp_path: Path, hostvars, smtp_server) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    rec = Recorder()
    port = smtp_server(rec)
    handover.run(poc.name, hostvars, poc.opts(send=True, smtp=loopback(port)))
    ADDRESS_BEFORE = ADDRESS["acme-blog"]
    try:
        ADDRESS["acme-blog"] = "10.89.40.150"
        Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")  # torn down and provisioned again
    finally:
        ADDRESS["acme-blog"] = ADDRESS_BEFORE
    r = handover.run(poc.name, hostvars, poc.opts(send=True, smtp=loopback(port)))
    assert r["status"] == "sent" and r["changed"] and len(rec.messages) == 2
    assert "10.89.40.150 acme-blog.poc.smartt.example" in bodies(parsed(rec.messages[1][2]))[0]
    assert [row["status"] for row in poc.rows()] == ["sent", "sent"]


def test_smtp_down_marks_nothing_sent_and_a_rerun_sends(tmp_path: Path, hostvars, smtp_server) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    down = free_port()
    r = handover.run(poc.name, hostvars, poc.opts(send=True, smtp=loopback(down)))
    assert r["status"] == "failed" and r["error"] and "cannot use SMTP server" in r["error"]
    [row] = poc.rows()
    assert row["status"] == "drafted" and row["attempts"] == 1 and row["last_error"]
    rec = Recorder()
    port = smtp_server(rec)
    r = handover.run(poc.name, hostvars, poc.opts(send=True, smtp=loopback(port)))
    assert r["status"] == "sent" and len(rec.messages) == 1
    [row] = poc.rows()
    assert row["status"] == "sent" and row["attempts"] == 2 and row["last_error"] is None


def test_check_mode_writes_and_records_nothing(tmp_path: Path, hostvars) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    r = handover.run(poc.name, hostvars, poc.opts(check=True))
    assert r["status"] == "drafted" and r["changed"]
    assert not poc.eml.exists() and poc.rows() == []


def test_cli_dry_run_then_unchanged(tmp_path: Path, hostvars, capsys) -> None:
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    cmdb_file = tmp_path / "cmdb.yml"
    cmdb_file.write_text(CMDB_YAML)
    args = ["poc", "handover", poc.name, "--cmdb", str(cmdb_file), "--state-url", poc.url,
            "--reports", str(poc.reports), "--support", "help@smartt.example"]
    assert s4_main(args) == 0
    assert f"drafted -> {poc.eml} (changed)" in capsys.readouterr().out
    assert s4_main(args) == 0
    assert "(unchanged)" in capsys.readouterr().out
    assert parsed(poc.eml.read_bytes())["Reply-To"] == "help@smartt.example"


# --- the playbook's task (smartt.s4.poc_handover on localhost, the CMDB as inventory) --------------------------------


@pytest.mark.slow
def test_action_plugin_drafts_once_then_changes_nothing(tmp_path: Path, hostvars) -> None:
    import os
    import subprocess
    import sys

    import yaml

    root = Path(__file__).resolve().parents[3]
    poc = Poc(tmp_path, hostvars, "mvps-acme-01", "acme-blog")
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "cmdb.yml").write_text(CMDB_YAML)
    out = tmp_path / "out.json"
    task = {"smartt.s4.poc_handover": {"name": poc.name, "reports_dir": str(poc.reports), "state_url": poc.url},
            "register": "r"}
    book = tmp_path / "book.yml"
    book.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [task, {"ansible.builtin.set_fact": {"first": "{{ r }}"}}, task,
                  {"ansible.builtin.copy": {"dest": str(out), "mode": "0600",
                                            "content": "{{ {'first': first, 'again': r} | to_json }}"}}],
    }], sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "S4_"))}
    env.update(ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "t"),
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    p = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inv / "cmdb.yml"),
                        str(book)], cwd=root, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    r = json.loads(out.read_text())
    assert r["first"]["changed"] is True and r["first"]["status"] == "drafted"
    assert r["first"]["recipients"] == ["ops@acme.example"] and r["first"]["eml"] == str(poc.eml)
    assert r["again"]["changed"] is False and r["again"]["status"] == "drafted"
    assert FAKE_DB_PASSWORD not in p.stdout + p.stderr + poc.eml.read_text()
