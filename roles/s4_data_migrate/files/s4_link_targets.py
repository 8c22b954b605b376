#!/usr/bin/python3
# Shipped by role smartt.s4.s4_data_migrate (ansible.builtin.script on the target): do not edit on a host.
"""Which targets of the symbolic links that dangle after the copy may be fetched from the source.

Usage: s4_link_targets.py [--also=ROOT]... ROOT... ; prints JSON {"copy": [target...], "refused": [{link, target,
reason}...]}. ``--also`` names further roots targets may lie in without being walked (package directories such as
/usr/share/wordpress/wp-content/themes, which hold no tenant's data).

Walks the copied data roots on this host (the POC) without following links, finds links whose target does not
exist here, resolves each target against the link's directory (lexically: the target does not exist here) and keeps
only targets inside one of the copied roots. A target outside every root (``x -> ../../other-tenant/.env``,
``x -> /etc/shadow``) is refused with the reason: it would bring files that are not this client's. The source's
forced command (s4-migration-pull) checks the same with ``realpath`` on the source.

Python 3.6+ standard library only.
"""

import json
import os
import posixpath
import sys


def within(path, roots):
    for root in roots:
        root = root.rstrip("/") or "/"
        if path == root or root == "/" or path.startswith(root + "/"):
            return True
    return False


def classify(links, roots):
    """Split ``links`` [(link path, link text)] into targets to copy and refusals (pure; unit-tested)."""
    roots = [posixpath.normpath(r) for r in roots]
    copy, refused = [], []
    for link, text in links:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(link), text))
        if target.startswith("//"):
            target = "/" + target.lstrip("/")
        if any(c in target for c in "\n\r\x00"):
            refused.append({"link": link, "target": target, "reason": "control character in the target"})
        elif not within(target, roots):
            refused.append({"link": link, "target": target,
                            "reason": "outside the allowed roots ({}): not copied".format(", ".join(roots))})
        elif target not in copy:
            copy.append(target)
    return {"copy": copy, "refused": refused}


def dangling_links(roots):
    """(link, link text) of every symbolic link under ``roots`` whose target does not exist here."""
    found = []
    for root in roots:
        candidates = []
        if os.path.islink(root):
            candidates.append(root)
        elif os.path.isdir(root):
            for d, dirs, files in os.walk(root):  # never follows links
                candidates.extend(os.path.join(d, n) for n in dirs + files if os.path.islink(os.path.join(d, n)))
        for p in candidates:
            if not os.path.exists(p):
                found.append((p, os.readlink(p)))
    return found


def main(argv):
    roots = [r for r in argv[1:] if r.startswith("/")]
    also = [a[len("--also="):] for a in argv[1:] if a.startswith("--also=/")]
    json.dump(classify(dangling_links(roots), roots + also), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
