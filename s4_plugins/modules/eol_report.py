#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Documentation only: the work is done on the controller by the action plugin of the same name
# (plugins/action/eol_report.py), which never ships this file to a host.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: eol_report
short_description: Build the S4 fleet EOL report (HTML, CSV, JSON) on the controller
version_added: "0.1.0"
description:
  - Reads the CMDB hostvars (C(s4_service), C(s4_clients), C(s4_sites), C(s4_licences), C(s4_public)) and the
    cached C(s4_software) facts of the given in-scope hosts, judges every component with the lifecycle engine
    (C(s4.lifecycle)) and writes the report into I(dest) - C(report.html) (self-contained, charts, sortable and
    filterable findings), C(findings.json) (schema C(s4/report/findings.schema.json)), C(findings.csv),
    C(impact.json/.csv), C(interop.json), C(licences.json), C(plans.json), C(debt.json), C(responsible.json) and
    one page per client under C(clients/).
  - Every finding names who must act - the provider (server-side software Smartt manages, packaged apps, internal
    assets) or the client (web applications and front-end components in their docroots).
  - Runs entirely on the controller (action plugin); nothing connects to any host. Hosts without facts are listed
    as not gathered. An out-of-scope host (C(s4_in_scope) false) is refused and nothing is written.
  - Files are rewritten only when their content changes, so a second run with the same I(as_of) and facts reports
    changed=0.
options:
  dest:
    description: Report directory (created when missing).
    type: path
    required: true
  hosts:
    description: Inventory hostnames to report on.
    type: list
    elements: str
    default: the C(s4_in_scope) group
  as_of:
    description: Date the lifecycles are judged at (YYYY-MM-DD); makes a report reproducible.
    type: str
    default: today (UTC)
  eol_soon_days:
    description: Window in days - support ending within it is C(eol-soon); licences expiring within it are listed.
    type: int
    default: 180
  history_db:
    description:
      - Gather history for the debt trend - a state store URL or SQLite path (see C(docs/STATE.md)). Default the
        state store (O(state_url)). A store without gather runs - no trend.
    type: str
  facts_source:
    description:
      - Where each host's C(s4_software) facts come from - V(cache) the hostvars/fact cache of this run, V(state)
        the latest successful snapshot of the host in the state store (a report job needs no fact cache of an
        earlier job, e.g. under AWX). A host without facts there is reported as not gathered.
    type: str
    choices: [cache, state]
    default: cache
  state_url:
    description:
      - State store URL (C(sqlite:///PATH), C(postgresql://...)); default C(s4_state_url), E(S4_STATE_URL), else
        C(sqlite:///<checkout>/.cache/s4/state.sqlite). Every run (not in check mode) is recorded there as a report
        run with its counts.
    type: str
  published:
    description: Where the playbook publishes this report (recorded with the run; the publishing is the playbook's).
    type: list
    elements: str
    default: []
  history_limit:
    description: Number of most recent gather runs (on or before I(as_of)) in the debt trend.
    type: int
    default: 12
attributes:
  check_mode:
    support: full
    description: Computes the report and reports which files would change; writes nothing.
  diff_mode:
    support: partial
    description: Lists the files that change.
notes:
  - Needs the C(s4) Python package (the S4 toolkit) on the controller.
author:
  - S4 Toolkit developers
"""

EXAMPLES = r"""
- name: Build the fleet EOL report as of a fixed date
  smartt.s4.eol_report:
    hosts: "{{ groups['s4_in_scope'] }}"
    dest: reports/eol/2026-11-27
    as_of: "2026-11-27"
    eol_soon_days: 180
    facts_source: state
  run_once: true
"""

RETURN = r"""
dest:
  description: The report directory.
  returned: always
  type: str
  sample: reports/eol/2026-11-27
as_of:
  description: The as-of date used.
  returned: always
  type: str
  sample: "2026-11-27"
files:
  description: Every file of the report, relative to I(dest).
  returned: always
  type: list
  elements: str
  sample: [report.html, findings.json, findings.csv, clients/acme.html]
changed_files:
  description: Files written (or, in check mode, that would be written) because their content changed.
  returned: always
  type: list
  elements: str
  sample: [report.html]
removed_files:
  description: Client pages removed because the client is no longer in the report.
  returned: always
  type: list
  elements: str
  sample: []
summary:
  description: Counts - hosts in scope / gathered / not gathered, findings by status and by responsible party,
    sites, clients, interop issues, expiring licences.
  returned: always
  type: dict
  sample: {hosts_in_scope: 5, hosts_gathered: 5, findings: 42, by_status: {eol: 9}}
not_gathered:
  description: In-scope hosts without usable facts, with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{host: mvps-initech-01, service: mvps, clients: [initech], reason: no s4_software facts in the fact cache}]
interop:
  description: One line per interoperability issue (shared DB servers, shared PHP runtimes, apps blocking a PHP uplift).
  returned: always
  type: list
  elements: str
  sample: ["mariadb 10.11 on db-01 serves 3 site(s) on 1 other host(s) ..."]
facts_source:
  description: Where the facts came from (V(cache) or V(state)).
  returned: always
  type: str
report_run_id:
  description: Id of the report run recorded in the state store (null in check mode).
  returned: always
  type: int
store:
  description: The state store's URL, password masked.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            hosts=dict(type="list", elements="str"),
            as_of=dict(type="str"),
            eol_soon_days=dict(type="int", default=180),
            history_db=dict(type="str"),
            history_limit=dict(type="int", default=12),
            facts_source=dict(type="str", default="cache", choices=["cache", "state"]),
            state_url=dict(type="str"),
            published=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="smartt.s4.eol_report runs on the controller through its action plugin; "
                         "it cannot run as a module on a managed host")


if __name__ == "__main__":
    main()
