# Copyright: Smartt S4 Toolkit contributors
# SPDX-License-Identifier: MIT
"""Filter smartt.s4.integrity_compare: a thin wrapper over s4.integrity.compare."""

from __future__ import annotations

DOCUMENTATION = r"""
name: integrity_compare
short_description: Compare source and target data manifests or database checksums
version_added: "0.1.0"
author: Smartt S4 Toolkit contributors
description:
  - Given two P(smartt.s4.data_manifest#module) manifests (controller paths of the fetched files, or parsed
    manifests), returns the entries that are missing on the target, extra on the target, changed (with the list
    of differing attributes) or unverified (unreadable on either side), and a pass/fail verdict.
  - Given two P(smartt.s4.db_checksum#module) results, returns per table the missing, extra and mismatched
    tables (rows and/or checksum) and a pass/fail verdict.
  - The result is the machine-readable integrity block of the POC report (C(docs/INTEGRITY.md)).
options:
  _input:
    description: Source manifest (path, or dict with C(entries)) or source C(db_checksum) result.
    type: raw
    required: true
  target:
    description: Target manifest or C(db_checksum) result, same kind as the input.
    type: raw
    required: true
  root_map:
    description: 'Manifests only. Source root to target root, when the data moved (C({"/srv/www": "/var/www"})).'
    type: dict
  ignore:
    description:
      - Manifests only. Attributes not to compare; any of C(type size sha256 mode owner group mtime target hardlink
        rdev), plus C(dir_mtime) (mtimes of directories) and C(link_mtime) (mtimes of symlinks).
    type: list
    elements: str
    default: [dir_mtime]
  mtime_precision:
    description: Manifests only. Seconds to which mtimes are compared (1 = whole seconds).
    type: float
    default: 1.0
  database_map:
    description: Databases only. Source database name to target database name.
    type: dict
  limit:
    description: At most this many items per list (counts in C(summary) are always complete).
    type: int
    default: 1000
"""

EXAMPLES = r"""
- name: Compare the fetched manifests of source and POC
  ansible.builtin.set_fact:
    s4_files_result: >-
      {{ 'reports/acme/source.jsonl.gz' | smartt.s4.integrity_compare('reports/acme/target.jsonl.gz',
         ignore=['dir_mtime', 'owner']) }}

- name: Compare table checksums (registered results of smartt.s4.db_checksum)
  ansible.builtin.assert:
    that: (s4_db_source | smartt.s4.integrity_compare(s4_db_target)).passed
    fail_msg: database content differs between source and POC
"""

RETURN = r"""
_value:
  description: Comparison result.
  type: dict
  contains:
    schema: {description: Result format version (1)., type: int}
    kind: {description: C(files) or C(databases)., type: str}
    passed: {description: "True when nothing is missing, extra, changed, mismatched or unverified.", type: bool}
    summary: {description: Counts (complete even when lists are truncated)., type: dict}
    missing: {description: Entries or tables only on the source., type: list, elements: dict}
    extra: {description: Entries or tables only on the target., type: list, elements: dict}
    changed: {description: "Files: entries whose attributes differ (C(attributes), C(source), C(target)).", type: list, elements: dict}
    unverified: {description: "Files: entries unreadable on either side.", type: list, elements: dict}
    mismatched: {description: "Databases: tables whose rows or checksum differ.", type: list, elements: dict}
    no_primary_key: {description: "Databases: tables without a primary key (ordered by all columns).", type: list, elements: str}
    truncated: {description: True when a list was cut at O(limit)., type: bool}
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402


def integrity_compare(source: Any, target: Any, root_map: Any = None, ignore: Any = None, mtime_precision: Any = None,
                      database_map: Any = None, limit: Any = None) -> dict[str, Any]:
    from s4.integrity.compare import DEFAULT_IGNORE, LIST_LIMIT, CompareError, compare_databases, compare_manifests

    try:
        lim = int(limit) if limit is not None else LIST_LIMIT
        if isinstance(source, dict) and "databases" in source:
            if not isinstance(target, dict) or "databases" not in target:
                raise CompareError("target must be a smartt.s4.db_checksum result like the source")
            return compare_databases(source, target, database_map=database_map, limit=lim)
        if database_map is not None:
            raise CompareError("database_map applies to db_checksum results, not manifests")
        return compare_manifests(
            source,
            target,
            root_map=root_map,
            ignore=DEFAULT_IGNORE if ignore is None else list(ignore),
            mtime_precision=float(mtime_precision) if mtime_precision is not None else 1.0,
            limit=lim,
        )
    except (CompareError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"integrity_compare: {exc}") from exc


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"integrity_compare": integrity_compare}
