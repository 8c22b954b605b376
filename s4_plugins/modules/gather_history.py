#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Documentation only: the work is done on the controller by the action plugin of the same name
# (plugins/action/gather_history.py), which never ships this file to a host.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gather_history
short_description: Append a discovery run to the S4 state store's gather history (controller side)
version_added: "0.1.0"
description:
  - Reads the C(s4_software) facts of every host of the play (set by M(smartt.s4.software_facts)) and appends
    one run to the gather history of the state store (C(docs/STATE.md)) - a run, per host a status and a pointer
    to a snapshot of its facts (stored once per distinct content), and components with first/last seen.
  - Runs entirely on the controller (action plugin) - use it with C(run_once) true. Nothing is sent to any host.
  - Reports per host what changed since that host's previous successful run - components added, removed, or
    with a new version, including site web apps and front-end libraries. C(changed) is true only when something
    changed, so a second run over an unchanged estate reports changed=0.
  - Hosts of the play that failed or were unreachable are recorded with status C(failed); their components are
    left untouched.
options:
  state_url:
    description:
      - State store URL (C(sqlite:///PATH), C(postgresql://USER@HOST/DB)) or a SQLite file path.
      - Default - the C(s4_state_url) variable, else the C(S4_STATE_URL) environment variable, else
        C(sqlite:///<checkout>/.cache/s4/state.sqlite). The store is created and migrated on first use.
    type: str
  db:
    description: Deprecated and ignored (the old SQLite history file); an old C(.cache/s4/history.sqlite) next
      to the default store is imported into it. Use O(state_url).
    type: path
  playbook:
    description: Name recorded for the run.
    type: str
  hosts:
    description: Hosts to record (default - C(ansible_play_hosts_all)).
    type: list
    elements: str
  failed_hosts:
    description: Hosts to record as failed (default - the play hosts that are no longer active).
    type: list
    elements: str
  keep_facts_runs:
    description: Keep only this many newest runs (older runs and the snapshots only they used are deleted;
      components keep their first-seen dates). See also C(s4 history prune).
    type: int
  fact_name:
    description: Name of the fact holding the discovery result.
    type: str
    default: s4_software
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; the changes that would be recorded are reported.
  diff_mode:
    support: none
requirements:
  - the C(s4) Python package of the S4 toolkit on the controller
author: S4 toolkit
"""

EXAMPLES = r"""
- name: Record the run in the history database
  smartt.s4.gather_history:
    state_url: "{{ s4_state_url | default(omit) }}"
    playbook: gather_software.yml
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
state_url:
  description: The state store written to (password masked).
  returned: always
  type: str
  sample: sqlite:////srv/s4/.cache/s4/state.sqlite
run_id:
  description: Id of the recorded run (null in check mode).
  returned: always
  type: int
  sample: 12
hosts_ok:
  description: Number of hosts recorded with facts.
  returned: always
  type: int
  sample: 5
hosts_failed:
  description: Hosts recorded as failed.
  returned: always
  type: list
  elements: str
  sample: []
changes:
  description: Per host - first_run, added, removed and changed components since its previous successful run.
  returned: always
  type: dict
  sample: {mvps-acme-01: {first_run: false, added: [], removed: [], changed: [{site: acme-blog, product: wordpress, kind: webapp, from: 5.7.11, to: 5.7.14}]}}
summary:
  description: Human-readable lines, one per host or change.
  returned: always
  type: list
  elements: str
  sample: ["run 12: 5 host(s) ok, 0 failed", "mvps-acme-01: no change"]
"""

if __name__ == "__main__":
    import json
    import sys

    print(json.dumps({"failed": True, "msg": "smartt.s4.gather_history runs on the controller (action plugin)"}))
    sys.exit(1)
