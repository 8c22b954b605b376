#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: data_manifest
short_description: Record a content manifest (metadata and SHA-256) of file trees
version_added: "0.1.0"
description:
  - Walks O(roots) (symlinks are recorded, never followed) and records for every entry its relative path, type,
    size, mode, owner, group, mtime, symlink target, hard-link group and the SHA-256 of its content.
  - Files are hashed in parallel by a process pool (one process per usable core), small files in batches and large
    files in 1 MiB reads; sparse files are read by data extent.
  - Writes a gzip-compressed JSON-lines manifest to O(dest) (format in C(docs/INTEGRITY.md)); fetch it with
    M(ansible.builtin.fetch) and compare two manifests with the P(smartt.s4.integrity_compare#filter) filter.
  - Files that cannot be read are recorded with an C(error) and counted in RV(error_count); they are never
    skipped silently.
  - Read-only on the roots; the only write is O(dest), and only when its content changes.
author: Smartt S4 team
options:
  roots:
    description: Absolute paths of the trees (or single files) to record.
    type: list
    elements: path
    required: true
  excludes:
    description:
      - Glob patterns to leave out. A pattern without C(/) matches any entry's name (C(*.log), C(.cache));
        a pattern with C(/) matches the path relative to its root (C(wp-content/cache), C(/tmp)).
      - Excluded directories are not descended into.
    type: list
    elements: str
    default: []
  dest:
    description: Where the manifest is written on the target. Leave empty to write nothing (summary only).
    type: path
    default: /var/tmp/s4-data-manifest.jsonl.gz
  previous:
    description:
      - An earlier manifest on the target. Regular files whose size and mtime are unchanged reuse its hash
        instead of being read again (incremental mode).
    type: path
  workers:
    description: Hashing processes; V(0) uses one per usable core.
    type: int
    default: 0
  one_file_system:
    description: Do not descend into directories on other file systems.
    type: bool
    default: false
  return_entries:
    description: Also return every entry in RV(entries) (use only for small trees; fetch the file otherwise).
    type: bool
    default: false
  fail_on_errors:
    description: Fail when any entry could not be read (the manifest is still written).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Walks and hashes, but does not write O(dest).
  diff_mode:
    support: none
notes:
  - Runs on Python 3.6+ with the standard library only.
  - Run it with C(become) to read every file; unreadable files are reported per entry.
"""

EXAMPLES = r"""
- name: Record the client's web roots
  smartt.s4.data_manifest:
    roots: [/srv/www, /etc/nginx]
    excludes: ["*.log", "wp-content/cache"]
    dest: /var/tmp/s4-manifest-source.jsonl.gz
  register: s4_manifest_source

- name: Fetch the manifest to the controller
  ansible.builtin.fetch:
    src: "{{ s4_manifest_source.manifest }}"
    dest: "reports/{{ inventory_hostname }}/manifest.jsonl.gz"
    flat: true

- name: Re-run incrementally (only changed files are read)
  smartt.s4.data_manifest:
    roots: [/srv/www]
    previous: /var/tmp/s4-manifest-source.jsonl.gz
    dest: /var/tmp/s4-manifest-source-2.jsonl.gz
"""

RETURN = r"""
manifest:
  description: Path of the manifest on the target (null when O(dest) is empty).
  returned: always
  type: str
  sample: /var/tmp/s4-data-manifest.jsonl.gz
manifest_sha256:
  description: SHA-256 of the compressed manifest file (to verify a fetched copy).
  returned: when written
  type: str
tree_sha256:
  description: SHA-256 over all entry lines; identical across runs over an unchanged tree.
  returned: always
  type: str
entries_count:
  description: Number of entries recorded (all types).
  returned: always
  type: int
  sample: 20012
counts:
  description: Entries per type.
  returned: always
  type: dict
  sample: {file: 20000, dir: 11, link: 1}
bytes:
  description: Total size of regular files (hard links counted once).
  returned: always
  type: int
hashed_bytes:
  description: Bytes actually read and hashed in this run (less than RV(bytes) in incremental mode).
  returned: always
  type: int
reused:
  description: Files whose hash was taken from O(previous).
  returned: always
  type: int
excluded:
  description: Entries left out by O(excludes).
  returned: always
  type: int
error_count:
  description: Entries that could not be read (listed in RV(errors), first 200).
  returned: always
  type: int
errors:
  description: Unreadable entries.
  returned: always
  type: list
  elements: dict
  sample: [{root: /srv/www, path: private/key.pem, error: "EACCES: Permission denied"}]
entries:
  description: All entries as in the manifest file (paths percent-encoded).
  returned: when O(return_entries=true)
  type: list
  elements: dict
workers:
  description: Hashing processes used.
  returned: always
  type: int
seconds:
  description: Wall time of the walk and hashing.
  returned: always
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.smartt.s4.plugins.module_utils.s4_manifest import (
    ManifestError,
    build,
    load,
    serialize,
    write,
)


def module_args():
    return dict(
        roots=dict(type="list", elements="path", required=True),
        excludes=dict(type="list", elements="str", default=[]),
        dest=dict(type="path", default="/var/tmp/s4-data-manifest.jsonl.gz"),
        previous=dict(type="path"),
        workers=dict(type="int", default=0),
        one_file_system=dict(type="bool", default=False),
        return_entries=dict(type="bool", default=False),
        fail_on_errors=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=module_args(), supports_check_mode=True)
    p = module.params
    if p["workers"] < 0:
        module.fail_json(msg="workers must be 0 (auto) or a positive number, got {0}".format(p["workers"]))
    dest = p["dest"] or None
    if dest and not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg="dest {0!r}: directory {1!r} does not exist".format(
            dest, os.path.dirname(os.path.abspath(dest))))
    previous = None
    try:
        if p["previous"]:
            previous = load(p["previous"])
        started = time.time()
        manifest = build(p["roots"], excludes=p["excludes"], workers=p["workers"], previous=previous,
                         skip_paths=[dest] if dest else None, one_file_system=p["one_file_system"])
        seconds = round(time.time() - started, 3)
        if dest and not module.check_mode:
            info = write(manifest, dest)
        else:
            serialize(manifest)  # fills tree_sha256
            info = {"path": None, "sha256": None, "changed": bool(dest),
                    "tree_sha256": manifest["header"]["tree_sha256"]}
            if dest and os.path.exists(dest):
                try:
                    info["changed"] = load(dest)["header"].get("tree_sha256") != info["tree_sha256"]
                except ManifestError:
                    info["changed"] = True
    except ManifestError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot write manifest {0!r}: {1}".format(dest, exc))

    st = manifest["stats"]
    result = dict(
        changed=info["changed"],
        manifest=dest,
        manifest_sha256=info["sha256"],
        tree_sha256=info["tree_sha256"],
        entries_count=st["entries"],
        counts=st["counts"],
        bytes=st["bytes"],
        hashed_bytes=st["hashed_bytes"],
        reused=st["reused"],
        excluded=st["excluded"],
        error_count=st["error_count"],
        errors=st["errors"],
        workers=st["workers"],
        seconds=seconds,
    )
    if p["return_entries"]:
        result["entries"] = manifest["entries"]
    if p["fail_on_errors"] and st["error_count"]:
        module.fail_json(msg="{0} entries could not be read (first: {1})".format(
            st["error_count"], st["errors"][0]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
