#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Documentation only: the work is done on the controller by the action plugin of the same name
# (plugins/action/poc_handover.py), which never ships this file to a host.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: poc_handover
short_description: Hand a passed POC over to its client - the notice to the client's contacts (controller side)
version_added: "0.2.0"
description:
  - Builds the handover notice of POC O(name) from its record in the state store (C(s4.state.poc), which must show it
    passed its last provision), its report (O(reports_dir)C(/<name>/report.json)) and the CMDB hostvars of the
    in-scope hosts (the sites of the POC's source host and its client's contacts).
  - The notice gives the preview names and the hosts-file lines, what changed (server software versions before and
    after, application upgrades, the declared configuration changes), what to test per site (its URLs and the
    application's key pages), how to accept the go-live or ask for changes (a reply to O(support)) and how to obtain
    credentials - never a credential, never an operator command.
  - Only the POC's own client's contacts receive it and only that client's sites are in it; every contact must be a
    plain address (a line break or a display name fails the task). Plain text + HTML, the release notices' look.
  - With O(send=false) (the default) it is written to O(reports_dir)C(/<name>/handover.eml) (0600); with
    O(send=true) it goes out by SMTP (the release watch's mailer, STARTTLS by default, the server's certificate
    verified). It is recorded in the state store (table C(poc_handovers)), so a rerun neither rewrites nor resends
    it (C(changed=false)); a POC whose content changed (another address, other versions) gets a new notice.
  - Runs entirely on the controller (action plugin); nothing connects to any host.
options:
  name:
    description: The POC's name (C(poc-<client>-<site or host>-<hash>)).
    type: str
    required: true
  reports_dir:
    description: Directory of the POC reports (C(<reports_dir>/<name>/report.json)); the draft goes next to it.
    type: path
    required: true
  state_url:
    description: The state store's URL. Default E(S4_STATE_URL), else the checkout's C(.cache/s4/state.sqlite).
    type: str
  send:
    description: V(false) writes the draft C(handover.eml); V(true) sends by SMTP.
    type: bool
    default: false
  support:
    description: The operator's support address replies (go-live acceptance, change requests, credentials) go to.
    type: str
    default: support@<CMDB domain>
  sender:
    description: From address.
    type: str
    default: s4-notices@<CMDB domain>
  org:
    description: Organisation name signing the notice.
    type: str
    default: Smartt
  smtp:
    description:
      - SMTP settings with O(send=true) - keys C(host), C(port), C(security) (starttls, ssl, none), C(username),
        C(timeout), C(verify_tls), C(ca_file), C(allow_plaintext_auth), as for M(smartt.s4.release_watch). The
        password comes only from E(S4_SMTP_PASSWORD) (the username may come from E(S4_SMTP_USERNAME)).
    type: dict
attributes:
  check_mode:
    support: full
    details: In check mode the notice is built; nothing is written, recorded or sent.
  diff_mode:
    support: none
requirements:
  - the C(s4) Python package of the S4 toolkit on the controller
author: S4 toolkit
"""

EXAMPLES = r"""
- name: Draft the handover notice of a passed POC (reports/poc/<name>/handover.eml)
  smartt.s4.poc_handover:
    name: poc-acme-acme-blog-93572f25
    reports_dir: "{{ playbook_dir }}/../reports/poc"

- name: Send it (password from $S4_SMTP_PASSWORD)
  smartt.s4.poc_handover:
    name: poc-acme-acme-blog-93572f25
    reports_dir: "{{ playbook_dir }}/../reports/poc"
    send: true
    smtp: {host: smtp.smartt.example, security: starttls, username: s4-notices}
"""

RETURN = r"""
status:
  description: V(drafted) (dry run), V(sent), V(not-notified) (the client has no contact address) or V(failed).
  returned: always
  type: str
recipients:
  description: The client's contact addresses.
  returned: always
  type: list
  elements: str
eml:
  description: The draft file (dry run).
  returned: when drafted
  type: str
message_id:
  description: The notice's Message-ID (the same for the draft and the sent message).
  returned: when the client has a contact
  type: str
"""

if __name__ == "__main__":
    import json
    import sys

    print(json.dumps({"failed": True, "msg": "smartt.s4.poc_handover runs on the controller (action plugin)"}))
    sys.exit(1)
