#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Documentation only: the work is done on the controller by the action plugin of the same name
# (plugins/action/release_watch.py), which never ships this file to a host.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_watch
short_description: Announce new stable software releases - notice website, Atom feed and client notices
version_added: "0.1.0"
description:
  - Reads the release history of the lifecycle catalog (C(s4/data/catalog), refreshed by C(scripts/update_catalog)),
    applies the stability policy (C(s4/releasewatch/policy.yaml) - by default a new cycle is ready once it is 30 days
    old and has had a patch release; pre-releases never; security releases of a supported cycle at once) and
    compares what is ready with what the decision store (the state store, docs/STATE.md) has already announced.
  - Each new announcement is recorded with one delivery row per client using the software, from the latest gather
    history (C(state_url)) joined with the CMDB hostvars of the given in-scope hosts. Clients without a contact
    address are recorded and listed as not notified.
  - Writes the website into C(dest/site) - C(index.html), one self-contained page per announcement under
    C(notices/) and the Atom feed C(feed.atom) - rewriting only files whose content changes.
  - Builds one notice per client with pending deliveries (their hosts, sites and components concerned, lifecycle
    status, what Smartt does and what is theirs to do, the POC offer with the operator's command). With I(send=false)
    (the default) they are written to C(dest/outbox/<client>.eml) and nothing is marked sent; with I(send=true) they
    go out by SMTP and a delivery is marked sent only once the server accepted it. When the server cannot be used
    the task fails with the reason, the deliveries stay pending and a rerun sends them.
  - Runs on the controller (action plugin); it never connects to a host. Out-of-scope hosts are refused.
options:
  dest:
    description: Output directory (C(site/) and C(outbox/) are created in it).
    type: path
    required: true
  hosts:
    description: Inventory hostnames whose CMDB hostvars and facts decide which clients use what.
    type: list
    elements: str
    default: the C(s4_in_scope) group
  as_of:
    description: Decision date (YYYY-MM-DD); the same date, catalog and store give the same output.
    type: str
    default: today (UTC)
  state_url:
    description:
      - State store URL or SQLite path (C(docs/STATE.md)) holding the decisions and the gather history; hosts
        missing from the history fall back to their cached C(s4_software) facts, else they are listed as not
        gathered.
      - Default - the C(s4_state_url) variable, else C(S4_STATE_URL), else
        C(sqlite:///<checkout>/.cache/s4/state.sqlite).
    type: str
  store:
    description: Deprecated and ignored (the old decision file); an old C(.cache/s4/release_watch.sqlite) next to
      the default store is imported into it. Use O(state_url).
    type: path
  history_db:
    description: Deprecated and ignored (see O(state_url)).
    type: path
  catalog_dir:
    description: Catalog directory holding C(products/<id>.json).
    type: path
    default: the committed s4/data/catalog
  policy:
    description: Stability policy YAML (defaults plus per-product overrides).
    type: path
    default: s4/releasewatch/policy.yaml
  base_url:
    description: URL the site is served at (links in the feed and the notices).
    type: str
    default: https://notices.<CMDB domain>/
  poc_contact:
    description: Address clients write to for a POC.
    type: str
    default: support@<CMDB domain>
  sender:
    description: From address of the notices.
    type: str
    default: s4-notices@<CMDB domain>
  send:
    description: Deliver the notices by SMTP. False writes C(.eml) files instead (dry run).
    type: bool
    default: false
  claim_lease:
    description:
      - Minutes a job's claim on a client notice holds (I(send=true)). Before sending, the job claims every delivery
        of the notice in the state store; a notice another job claimed less than this long ago is left to it and
        reported with status V(sending). A job killed while sending leaves its claim; the next job takes it over once
        the lease expired (at-least-once delivery). Keep it longer than a job's SMTP run.
    type: int
    default: 15
  smtp:
    description: SMTP settings, used when I(send=true). Put the task under C(no_log) when it carries a password.
    type: dict
    suboptions:
      host:
        description: Server name or address.
        type: str
        default: localhost
      port:
        description: Port.
        type: int
        default: 587 (465 with I(security=ssl), 25 with I(security=none))
      security:
        description:
          - C(starttls) (the server must offer STARTTLS, no fallback), C(ssl) (implicit TLS) or C(none).
          - With C(none), a username/password is refused (nothing is sent) unless I(allow_plaintext_auth) is set
            and the server is a loopback address.
        type: str
        choices: [starttls, ssl, none]
        default: starttls
      username:
        description: Login name; default C($S4_SMTP_USERNAME).
        type: str
      password:
        description: Password; default C($S4_SMTP_PASSWORD). Never printed or returned.
        type: str
      timeout:
        description: Connection timeout in seconds.
        type: float
        default: 30
      verify_tls:
        description: Verify the server certificate.
        type: bool
        default: true
      ca_file:
        description: CA bundle for the server certificate.
        type: path
      allow_plaintext_auth:
        description:
          - Allow the login over a connection without TLS (I(security=none)), to a loopback server only
            (C(localhost), 127.0.0.0/8, ::1; names are not resolved). Any other server is refused even when set.
        type: bool
        default: false
attributes:
  check_mode:
    support: full
    description: Decides and renders in memory and reports what would change; records, writes and sends nothing.
  diff_mode:
    support: partial
    description: Lists new announcements, changed site files and notices.
notes:
  - Documentation of the policy, the store and the outputs - docs/RELEASE_WATCH.md.
author:
  - S4 Toolkit
"""

EXAMPLES = r"""
- name: Decide and write the site and the notices as .eml files (dry run)
  smartt.s4.release_watch:
    dest: reports/release-watch
    as_of: "2026-11-27"

- name: Send the notices
  smartt.s4.release_watch:
    dest: reports/release-watch
    state_url: postgresql://s4@db.smartt.example/s4
    send: true
    smtp:
      host: smtp.smartt.example
      port: 587
      security: starttls
      username: s4-notices
      password: "{{ vault_smtp_password }}"
  no_log: true
"""

RETURN = r"""
dest:
  description: Output directory.
  returned: always
  type: str
site_dir:
  description: Directory of the website (what gets published).
  returned: always
  type: str
as_of:
  description: Decision date.
  returned: always
  type: str
ready:
  description: Ids of everything the policy considers ready as of I(as_of) (announced before or now).
  returned: always
  type: list
  elements: str
new_announcements:
  description: Announcements made by this run, with the clients they concern.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "php-8.5", "title": "PHP 8.5 is ready (8.5.2)", "clients": ["acme", "globex"]}]
late_clients:
  description: Clients added to an earlier announcement that is still current (their host was gathered or
    onboarded after the announcement was made).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "php-8.5", "clients": ["initech"]}]
announcements:
  description: Ids of every announcement in the store, newest first.
  returned: always
  type: list
  elements: str
site_changed:
  description: Site files written or removed.
  returned: always
  type: list
  elements: str
notices:
  description: One entry per client with deliveries pending at the start of the run - status C(sent),
    C(failed), C(pending) (SMTP unusable), C(dry-run) (with the C(eml) path) or C(sending) (being sent by another
    job that claimed it, see I(claim_lease); not an error, not sent by this run).
  returned: always
  type: list
  elements: dict
sent:
  description: Number of notices the SMTP server accepted.
  returned: always
  type: int
not_notified:
  description: Client/announcement pairs with no contact address in the CMDB.
  returned: always
  type: list
  elements: dict
not_gathered:
  description: In-scope hosts without usable facts.
  returned: always
  type: list
  elements: dict
warnings_list:
  description: Problems that did not stop the run (malformed release entries skipped, ...).
  returned: always
  type: list
  elements: str
"""
