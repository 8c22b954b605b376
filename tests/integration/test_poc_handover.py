"""The client handover of the lab's passed POCs (issue #17 part 7): poc_provision.yml drafts the notice as
reports/poc/<name>/handover.eml with the preview names and the hosts-file lines, to the client's CMDB contacts only,
without any of the POC's generated passwords, and records it in the state store. Uses the session POCs of
tests/conftest.py (no provision of its own)."""

from __future__ import annotations

import email
from email import policy as email_policy
from typing import Any

import pytest
import yaml
from poc_support import POC_SECRETS_DIR, ROOT, Poc, vm_exec

from s4.state import open_store
from s4.state import poc as state_poc

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _notice(poc: Poc) -> tuple[email.message.EmailMessage, str, str]:
    eml = ROOT / "reports" / "poc" / poc.name / "handover.eml"
    assert eml.is_file(), f"no handover draft {eml}"
    assert eml.stat().st_mode & 0o777 == 0o600
    raw = eml.read_bytes()
    msg = email.message_from_bytes(raw, policy=email_policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    plain, html = msg.get_body(preferencelist=("plain",)), msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    return msg, plain.get_content(), raw.decode("utf-8", "replace") + html.get_content()


def _secrets(poc: Poc) -> list[str]:
    assert poc.vmid is not None
    access = vm_exec(poc.vmid, f"cat {POC_SECRETS_DIR}/access.yml")
    assert access.returncode == 0
    secrets = list((yaml.safe_load(access.stdout).get("database_accounts") or {}).values())
    assert secrets
    return [str(s) for s in secrets]


def _handovers(name: str) -> list[dict[str, Any]]:
    store = open_store()
    assert store is not None
    with store:
        return state_poc.handovers(store, name)


@pytest.mark.parametrize(("fixture", "contacts", "sites"), [
    ("acme", "ops@acme.example", ["acme-blog"]),
    ("globex", "it@globex.example, cto@globex.example", ["globex-webmail", "globex-www"]),
])
def test_a_passed_poc_is_handed_over_with_its_preview_names_and_no_secret(
        request: pytest.FixtureRequest, fixture: str, contacts: str, sites: list[str]) -> None:
    poc: Poc = request.getfixturevalue(fixture)
    assert poc.report["status"] == "passed"
    msg, text, everything = _notice(poc)
    assert msg["To"] == contacts and msg["X-S4-Poc"] == poc.name
    for site in sites:
        assert f"http://{site}.poc.smartt.example/" in text
    for line in poc.report["access"]["hosts_lines"]:
        assert line in text
    for secret in _secrets(poc):
        assert secret not in everything
    for word in ("ansible-playbook", "s4_poc_"):
        assert word not in text
    rows = _handovers(poc.name)
    assert rows and rows[-1]["status"] == "drafted" and rows[-1]["message_id"] == msg["Message-ID"]
