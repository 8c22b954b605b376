#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Documentation only: the work is done on the controller by the action plugin of the same name
# (plugins/action/poc_record.py), which never ships this file to a host.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: poc_record
short_description: Read or record a POC's record in the S4 state store (controller side)
version_added: "0.2.0"
description:
  - The POC playbooks find a POC through its record in the state store (C(s4.state.poc), C(docs/STATE.md)) and the
    Proxmox VM itself, never through a file of the controller's checkout, so a later job (another AWX job, another
    controller) can go live with or tear down a POC another job built.
  - With O(state=info) the record of O(name) is returned (C(exists) false when the store has none); nothing is
    written. With O(state=step) one step (provision, golive, rollback, teardown) and its outcome are recorded; the
    record's status follows (provisioned, live, rolled-back, torn-down) and the step's duration goes to the
    timesheet (C(s4 timesheet)).
  - The operator is AWX's C(awx_user_name) (else the controller's login name), the job id AWX's C(awx_job_id)
    (else E(S4_JOB_ID)).
  - No secret is stored - O(detail) is redacted and O(secrets) are masked in it. Every value is validated by the
    store (POC, host, site and client names) and a refused value fails the task.
  - Runs entirely on the controller (action plugin); nothing connects to any host.
options:
  name:
    description: The POC's name (C(poc-<client>-<site>-<hash>)).
    type: str
    required: true
  state:
    description: V(info) reads the record, V(step) records a step.
    type: str
    choices: [info, step]
    default: info
  state_url:
    description:
      - The state store's URL (C(sqlite:///PATH) or C(postgresql://...)). Default E(S4_STATE_URL), else the
        checkout's C(.cache/s4/state.sqlite). Prefer the environment variable for a URL with a password.
    type: str
  step:
    description: The step recorded (O(state=step)).
    type: str
    choices: [provision, golive, rollback, teardown]
  outcome:
    description: How the step ended.
    type: str
    choices: [ok, failed, aborted]
    default: ok
  started_at:
    description: When the step started (ISO-8601 with a zone, e.g. C(2026-12-08T10:00:00Z)); default now.
    type: str
  client:
    description: Client id of the POC.
    type: str
  vmid:
    description: Proxmox VM id.
    type: int
  node:
    description: Proxmox node.
    type: str
  source_host:
    description: Inventory name of the POC's source host.
    type: str
  sites:
    description: Site names the POC holds.
    type: list
    elements: str
  site:
    description: The one site of a site POC (shorthand for O(sites)).
    type: str
  profile:
    description: Profile name (C(debian13) ...).
    type: str
  detail:
    description: Free text kept with the step (redacted).
    type: str
  secrets:
    description: Values to mask in O(detail).
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    details: In check mode nothing is recorded.
  diff_mode:
    support: none
requirements:
  - the C(s4) Python package of the S4 toolkit on the controller (SQLAlchemy, Alembic, psycopg for PostgreSQL)
author: S4 toolkit
"""

EXAMPLES = r"""
- name: Find the POC in the state store
  smartt.s4.poc_record:
    name: poc-acme-acme-blog-93572f25
  register: poc

- name: Record that the go-live switch was done
  smartt.s4.poc_record:
    name: poc-acme-acme-blog-93572f25
    state: step
    step: golive
    started_at: "2026-12-08T10:00:00Z"
"""

RETURN = r"""
exists:
  description: Whether the store holds a record of the POC.
  returned: always
  type: bool
record:
  description: The POC's record (empty when none) - name, client, vmid, node, source_host, sites, profile, status,
    operator, outcome and the time of each status.
  returned: always
  type: dict
  sample: {name: poc-acme-acme-blog-93572f25, vmid: 101, node: pve, source_host: mvps-acme-01, sites: [acme-blog],
           profile: debian13, status: provisioned}
site:
  description: The site of a site POC, empty for a whole-host POC.
  returned: always
  type: str
store:
  description: The store's URL with its password masked.
  returned: always
  type: str
"""

if __name__ == "__main__":
    import json
    import sys

    print(json.dumps({"failed": True, "msg": "smartt.s4.poc_record runs on the controller (action plugin)"}))
    sys.exit(1)
