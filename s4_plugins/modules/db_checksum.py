#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_checksum
short_description: Per-table row counts and content checksums of MariaDB/MySQL or PostgreSQL databases
version_added: "0.1.0"
description:
  - Takes, inside one consistent snapshot, the row count and a content checksum of every table, comparable
    between a source and a target server of different major versions (for example MariaDB 10.5 and 11.8,
    PostgreSQL 13 and 17). Compare two results with the P(smartt.s4.integrity_compare#filter) filter.
  - "PostgreSQL: one C(REPEATABLE READ READ ONLY) transaction per database streams
    C(COPY (SELECT ... ORDER BY <primary key> COLLATE \"C\") TO STDOUT) of every table into SHA-256, with the
    session settings that change text rendering pinned (C(extra_float_digits), C(DateStyle), C(TimeZone=UTC),
    C(IntervalStyle), C(bytea_output), C(lc_monetary))."
  - "MariaDB/MySQL: one C(START TRANSACTION WITH CONSISTENT SNAPSHOT) session for all databases streams
    C(SELECT <columns>, <null map> ... ORDER BY <primary key as bytes>) of every table (client C(--batch --quick))
    into SHA-256, with C(time_zone=+00:00). Non-transactional tables (MyISAM, Aria) are flagged: the snapshot
    does not cover them."
  - Tables without a primary key are ordered by all their columns and flagged C(no_primary_key).
  - What the checksum covers and cannot cover (for example float rendering before PostgreSQL 12) is in
    C(docs/INTEGRITY.md).
  - Uses the C(psql) and C(mariadb)/C(mysql) command-line clients; no Python database driver is needed.
    Passwords are passed through C(PGPASSWORD) or a private temporary client defaults file, never on the
    command line.
author: Smartt S4 team
options:
  engine:
    description: Database engine.
    type: str
    required: true
    choices: [mariadb, mysql, postgresql]
  databases:
    description: Databases to check; empty means all (except system databases and PostgreSQL templates).
    type: list
    elements: str
    default: []
  exclude_databases:
    description: Databases to leave out.
    type: list
    elements: str
    default: []
  tables:
    description: Only these tables (C(name) or, for PostgreSQL, C(schema.name)); empty means all.
    type: list
    elements: str
    default: []
  exclude_tables:
    description: Tables to leave out (C(name) or C(schema.name)).
    type: list
    elements: str
    default: []
  login_host:
    description: Server host; empty uses the local socket.
    type: str
  login_port:
    description: Server port.
    type: int
  login_unix_socket:
    description: Unix socket (MariaDB) or socket directory (PostgreSQL).
    type: path
  login_user:
    description: User to log in as; empty uses the client's default (the OS user with socket authentication).
    type: str
  login_password:
    description: Password of O(login_user).
    type: str
  maintenance_db:
    description: PostgreSQL database used to list the others.
    type: str
    default: postgres
  mariadb_method:
    description:
      - V(ordered_sha256) (default) streams rows in key order into SHA-256; comparable across versions.
      - V(md5sum) sums per-row MD5s inside the server (order-free, nothing leaves the server but one row per
        table); comparable across versions.
      - V(checksum_table) uses C(CHECKSUM TABLE ... EXTENDED); NOT comparable across major versions or row
        formats, and it locks tables.
    type: str
    default: ordered_sha256
    choices: [ordered_sha256, md5sum, checksum_table]
  client:
    description: Path of the client binary (C(psql), C(mariadb) or C(mysql)); found on PATH by default.
    type: path
  connect_timeout:
    description: Seconds to wait for a connection.
    type: int
    default: 10
  ssl_mode:
    description: PostgreSQL C(sslmode).
    type: str
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
notes:
  - For PostgreSQL with peer authentication run the task with C(become_user=postgres).
"""

EXAMPLES = r"""
- name: Checksum every WordPress table on the source
  smartt.s4.db_checksum:
    engine: mariadb
    databases: [acme_wp]
  register: s4_db_source

- name: Checksum the restored PostgreSQL databases on the POC
  smartt.s4.db_checksum:
    engine: postgresql
    login_host: 127.0.0.1
    login_user: s4check
    login_password: "{{ s4_db_check_password }}"
  register: s4_db_target

- name: Compare
  ansible.builtin.set_fact:
    s4_db_result: "{{ s4_db_source | smartt.s4.integrity_compare(s4_db_target) }}"
"""

RETURN = r"""
engine:
  description: Engine checked.
  returned: always
  type: str
  sample: postgresql
host:
  description: Host or socket connected to.
  returned: always
  type: str
server_version:
  description: Version reported by the server.
  returned: always
  type: str
  sample: "17.12 (Debian 17.12-0+deb13u1)"
method:
  description: Checksum method (results are comparable only when it is the same on both sides).
  returned: always
  type: str
  sample: pg-copy-sha256-v1
databases:
  description: One entry per database with its tables.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Database name.
      type: str
    rows:
      description: Rows in all its tables.
      type: int
    checksum:
      description: SHA-256 over the sorted per-table lines (table, rows, checksum).
      type: str
    tables:
      description:
        - Per table C(schema) (PostgreSQL), C(name), C(rows), C(checksum), C(method), C(no_primary_key),
          C(primary_key), C(columns), C(transactional) and (MariaDB) C(engine).
      type: list
      elements: dict
  sample:
    - name: acme_wp
      rows: 5012
      checksum: 4a6c...
      tables:
        - {name: wp_posts, rows: 812, checksum: 9f1e..., no_primary_key: false, primary_key: [ID]}
tables_count:
  description: Tables checked.
  returned: always
  type: int
rows:
  description: Rows in all checked tables.
  returned: always
  type: int
no_primary_key:
  description: Tables without a primary key (C(database/table)); ordered by all columns.
  returned: always
  type: list
  elements: str
seconds:
  description: Wall time.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.smartt.s4.plugins.module_utils.s4_dbsum import DbSumError, checksum


def module_args():
    return dict(
        engine=dict(type="str", required=True, choices=["mariadb", "mysql", "postgresql"]),
        databases=dict(type="list", elements="str", default=[]),
        exclude_databases=dict(type="list", elements="str", default=[]),
        tables=dict(type="list", elements="str", default=[]),
        exclude_tables=dict(type="list", elements="str", default=[]),
        login_host=dict(type="str"),
        login_port=dict(type="int"),
        login_unix_socket=dict(type="path"),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        maintenance_db=dict(type="str", default="postgres"),
        mariadb_method=dict(type="str", default="ordered_sha256", choices=["ordered_sha256", "md5sum", "checksum_table"]),
        client=dict(type="path"),
        connect_timeout=dict(type="int", default=10),
        ssl_mode=dict(type="str"),
    )


def main():
    module = AnsibleModule(argument_spec=module_args(), supports_check_mode=True)
    p = dict(module.params)
    if p["mariadb_method"] != "ordered_sha256" and p["engine"] == "postgresql":
        module.fail_json(msg="mariadb_method applies to engine mariadb/mysql only")
    started = time.time()
    try:
        result = checksum(p)
    except DbSumError as exc:
        msg = str(exc)
        if p.get("login_password"):
            msg = msg.replace(p["login_password"], "********")
        module.fail_json(msg=msg, engine=p["engine"], host=p.get("login_host") or p.get("login_unix_socket") or "localhost",
                         databases=p["databases"])
    result["seconds"] = round(time.time() - started, 3)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
