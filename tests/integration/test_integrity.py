"""Integrity modules end to end, across major versions, in throw-away s4int containers (no lab hosts needed).

Source: Debian 11 container (MariaDB 10.5, PostgreSQL 13); target: Debian 13 container (MariaDB 11.8,
PostgreSQL 17). Data is loaded on the source, dumped with the source's tools, restored on the target, then
smartt.s4.db_checksum runs on both through Ansible (containers.podman.podman connection) and the results are
compared with the smartt.s4.integrity_compare filter. A file tree is copied with tar and checked with
smartt.s4.data_manifest the same way. Finally one row and one byte are corrupted on the target and must be caught.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from s4.integrity import dblab

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

PG_SEED = r"""
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email varchar(120), balance numeric(12,2),
  score double precision, ratio real, created timestamptz, birthday date, active boolean, notes text,
  avatar bytea, prefs jsonb, tags text[], wait interval);
INSERT INTO customers SELECT g, 'Customer ' || g || E' \\ tab\t nl\n', 'c' || g || '@example.com',
  (g * 12.34)::numeric(12,2), g / 3.0, (g / 7.0)::real,
  timestamptz '2021-03-04 05:06:07.123456+01' + g * interval '37 minutes', date '1970-01-01' + g,
  g % 2 = 0, CASE WHEN g % 10 = 0 THEN NULL ELSE 'NULL' END, decode(md5(g::text), 'hex'),
  jsonb_build_object('n', g, 'lang', 'fr'), ARRAY['a', 'b' || g], g * interval '1 second'
  FROM generate_series(1, 5000) g;
CREATE TABLE "Order Lines" (order_id int, line smallint, sku text COLLATE "C", qty int,
  PRIMARY KEY (order_id, line));
INSERT INTO "Order Lines" SELECT g / 4, g % 4, 'SKU-' || (g * 7919 % 1000), g % 9 FROM generate_series(1, 4000) g;
CREATE TABLE slugs (slug text PRIMARY KEY, v int);
INSERT INTO slugs VALUES ('b', 1), ('B', 2), ('a', 3), ('é', 4), ('Z', 5), ('e', 6);
CREATE TABLE audit_log (at timestamptz, msg text);
INSERT INTO audit_log SELECT timestamptz '2020-01-01 00:00:00+00' + g * interval '1 hour', 'event ' || (g % 50)
  FROM generate_series(1, 3000) g;
INSERT INTO audit_log SELECT * FROM audit_log LIMIT 10;
CREATE SCHEMA shop;
CREATE TABLE shop.products (id serial PRIMARY KEY, title text, price numeric, weight float4);
INSERT INTO shop.products (title, price, weight) VALUES ('Thé vert', 4.50, 0.1), ('Coffee', 1e-3, 3.14159),
  ('NaN', 'NaN', 'NaN'), ('inf', 0, '-Infinity');
"""

MY_SEED = r"""
CREATE DATABASE wp CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE wp;
CREATE TABLE wp_posts (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, post_author bigint unsigned NOT NULL,
  post_date datetime NOT NULL, post_content longtext NOT NULL, post_title text NOT NULL,
  post_status varchar(20) NOT NULL DEFAULT 'publish', guid varchar(255) NOT NULL DEFAULT '',
  menu_order int NOT NULL DEFAULT 0, comment_count bigint NOT NULL DEFAULT 0) ENGINE=InnoDB;
INSERT INTO wp_posts (post_author, post_date, post_content, post_title, post_status, guid)
  SELECT seq % 7, '2020-01-01 00:00:00' + INTERVAL seq HOUR,
  CONCAT('<p>Post ', seq, ' \\ with "quotes" and tab\t and newline\n and é ü 中文</p>'),
  CONCAT('Title ', seq), IF(seq % 3 = 0, 'draft', 'publish'), CONCAT('https://acme.example/?p=', seq)
  FROM seq_1_to_3000;
CREATE TABLE wp_options (option_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  option_name varchar(191) NOT NULL UNIQUE, option_value longtext NOT NULL, autoload varchar(20) NOT NULL DEFAULT 'yes')
  ENGINE=InnoDB;
INSERT INTO wp_options (option_name, option_value) SELECT CONCAT('opt_', seq), REPEAT('v', seq % 300) FROM seq_1_to_800;
INSERT INTO wp_options (option_name, option_value) VALUES ('null_text', 'NULL'), ('empty', '');
CREATE TABLE wp_term_relationships (object_id bigint unsigned NOT NULL, term_taxonomy_id bigint unsigned NOT NULL,
  term_order int NOT NULL DEFAULT 0, PRIMARY KEY (object_id, term_taxonomy_id)) ENGINE=InnoDB;
INSERT INTO wp_term_relationships SELECT seq, seq % 13, 0 FROM seq_1_to_2000;
CREATE TABLE measurements (id int PRIMARY KEY, f float, d double, dec1 decimal(20,6), ts timestamp NULL,
  dt datetime(6), b blob, bits bit(7), e enum('x','y','z'), j json, l1 varchar(40) CHARACTER SET latin1)
  ENGINE=InnoDB;
INSERT INTO measurements SELECT seq, seq / 3, seq / 7, seq * 1.000001, '2021-06-01 12:00:00' + INTERVAL seq SECOND,
  '2021-06-01 12:00:00.123456' + INTERVAL seq MINUTE, UNHEX(MD5(seq)), seq % 128, ELT(1 + seq % 3, 'x', 'y', 'z'),
  CONCAT('{"k": ', seq, '}'), IF(seq % 5 = 0, NULL, CONCAT('Zürich ', seq)) FROM seq_1_to_1500;
CREATE TABLE no_key_log (msg varchar(100), n int) ENGINE=InnoDB;
INSERT INTO no_key_log SELECT CONCAT('m', seq % 40), seq % 3 FROM seq_1_to_1000;
CREATE TABLE legacy_counter (k varchar(10) PRIMARY KEY, v int) ENGINE=MyISAM;
INSERT INTO legacy_counter VALUES ('a', 1), ('b', 2);
"""


@pytest.fixture(scope="module")
def boxes() -> Iterator[tuple[dblab.DbContainer, dblab.DbContainer]]:
    for suite in ("bullseye", "trixie"):
        dblab.ensure_image(suite)
    src = dblab.start("bullseye", tag="src")
    try:
        tgt = dblab.start("trixie", tag="tgt")
    except Exception:
        src.remove()
        raise
    try:
        yield src, tgt
    finally:
        src.remove()
        tgt.remove()


def ansible(tmp_path: Path, boxes: tuple[dblab.DbContainer, dblab.DbContainer], play: str) -> dict:
    """Run ``play`` (tasks for hosts src and tgt) and return {host: {register name: result}} from a JSON dump."""
    src, tgt = boxes
    tmp_path.mkdir(parents=True, exist_ok=True)
    inv = tmp_path / "inventory.ini"
    inv.write_text(
        "[s4int]\n"
        f"src ansible_host={src.name}\n"
        f"tgt ansible_host={tgt.name}\n"
        "[s4int:vars]\nansible_connection=containers.podman.podman\nansible_python_interpreter=/usr/bin/python3\n"
    )
    out = tmp_path / "results"
    out.mkdir(exist_ok=True)
    pb = tmp_path / "play.yml"
    pb.write_text(play.replace("@OUT@", str(out)))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="default",
               PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inv), str(pb)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


DB_PLAY = """
- name: Checksum databases on both sides
  hosts: s4int
  gather_facts: false
  tasks:
    - name: PostgreSQL checksum (login over TCP with a password)
      smartt.s4.db_checksum:
        engine: postgresql
        databases: [app]
        login_host: 127.0.0.1
        login_user: s4check
        login_password: "{{ s4int_password }}"
      register: pg
    - name: MariaDB checksum (local socket as root)
      smartt.s4.db_checksum:
        engine: mariadb
        databases: [wp]
      register: my
    - name: MariaDB md5sum method
      smartt.s4.db_checksum:
        engine: mariadb
        databases: [wp]
        mariadb_method: md5sum
      register: my5
    - name: Compare on the controller
      ansible.builtin.copy:
        content: "{{ {'pg': hostvars['src'].pg | smartt.s4.integrity_compare(hostvars['tgt'].pg),
                      'my': hostvars['src'].my | smartt.s4.integrity_compare(hostvars['tgt'].my),
                      'my5': hostvars['src'].my5 | smartt.s4.integrity_compare(hostvars['tgt'].my5),
                      'src_pg': hostvars['src'].pg, 'tgt_my': hostvars['tgt'].my} | to_json }}"
        dest: "@OUT@/@NAME@.json"
        mode: "0644"
      delegate_to: localhost
      run_once: true
  vars:
    s4int_password: "{{ lookup('ansible.builtin.env', 'S4INT_PASSWORD') }}"
"""


def _db_round(tmp_path: Path, boxes, name: str) -> dict:
    os.environ["S4INT_PASSWORD"] = dblab.CHECK_PASSWORD
    return ansible(tmp_path, boxes, DB_PLAY.replace("@NAME@", name))[name]


def test_databases_survive_dump_and_restore_across_major_versions(boxes, tmp_path):
    src, tgt = boxes
    # load on the source (MariaDB 10.5, PostgreSQL 13)
    src.sql_postgresql("CREATE DATABASE app")
    src.sql_postgresql(PG_SEED, database="app")
    src.sql_mariadb(MY_SEED)
    # dump with the source's tools, restore on the target (MariaDB 11.8, PostgreSQL 17)
    pg_dump = src.exec("pg_dump --no-owner --no-privileges -d app", user="postgres").stdout
    tgt.sql_postgresql("CREATE DATABASE app")
    tgt.exec("psql -X -q -v ON_ERROR_STOP=1 -d app", input_=pg_dump, user="postgres")
    my_dump = src.exec("mysqldump --single-transaction --databases wp").stdout
    tgt.exec("mariadb", input_=my_dump)
    for box in (src, tgt):
        grant = "GRANT SELECT ON ALL TABLES IN SCHEMA public, shop TO s4check; GRANT USAGE ON SCHEMA shop TO s4check;"
        box.sql_postgresql(grant, database="app")

    res = _db_round(tmp_path / "1", boxes, "same")
    assert res["pg"]["passed"] is True, res["pg"]
    assert res["my"]["passed"] is True, res["my"]
    assert res["my5"]["passed"] is True, res["my5"]
    pg = res["pg"]["summary"]
    assert pg["source_version"].startswith("13.") and pg["target_version"].startswith("17.")
    assert pg["matched"] == 5 and pg["source_rows"] == 5000 + 4000 + 6 + 3010 + 4
    assert res["pg"]["no_primary_key"] == ["app/public.audit_log"]
    my = res["my"]["summary"]
    assert my["source_version"].startswith("10.5") and my["target_version"].startswith("11.8")
    assert my["matched"] == 6 and my["source_rows"] == 3000 + 802 + 2000 + 1500 + 1000 + 2
    assert res["my"]["no_primary_key"] == ["wp/no_key_log"] and res["my"]["non_transactional"] == ["wp/legacy_counter"]
    assert "s4-Check" not in json.dumps(res["src_pg"])  # no_log: the password never comes back

    # corrupt one row on the target: exactly that table must be reported
    tgt.sql_postgresql("UPDATE customers SET score = score + 1e-9 WHERE id = 4321", database="app")
    tgt.sql_mariadb("UPDATE wp.wp_options SET option_value = 'NULL ' WHERE option_name = 'null_text'")
    tgt.sql_mariadb("DELETE FROM wp.no_key_log WHERE n = 2 LIMIT 1")
    bad = _db_round(tmp_path / "2", boxes, "corrupt")
    assert bad["pg"]["passed"] is False
    assert [(m["table"], m["attributes"]) for m in bad["pg"]["mismatched"]] == [("customers", ["checksum"])]
    assert bad["my"]["passed"] is False
    assert [(m["table"], m["attributes"]) for m in bad["my"]["mismatched"]] == [
        ("no_key_log", ["rows", "checksum"]), ("wp_options", ["checksum"])]
    assert {m["table"] for m in bad["my5"]["mismatched"]} == {"no_key_log", "wp_options"}


def test_unreachable_database_error_names_engine_host_and_database(boxes, tmp_path):
    play = """
- name: Unreachable server
  hosts: tgt
  gather_facts: false
  tasks:
    - name: Wrong port
      smartt.s4.db_checksum:
        engine: postgresql
        login_host: 127.0.0.1
        login_port: 5999
        login_user: s4check
        login_password: Very-Secret-Pw-1
        databases: [app]
      register: r
      ignore_errors: true
    - name: Save
      ansible.builtin.copy:
        content: "{{ r | to_json }}"
        dest: "@OUT@/err.json"
        mode: "0644"
      delegate_to: localhost
"""
    r = ansible(tmp_path, boxes, play)["err"]
    assert r["failed"] is True
    assert "postgresql on host '127.0.0.1' port 5999 database 'app'" in r["msg"]
    assert "Very-Secret-Pw-1" not in json.dumps(r)


FILES_PLAY = """
- name: Manifest on both sides
  hosts: s4int
  gather_facts: false
  tasks:
    - name: Record the tree
      smartt.s4.data_manifest:
        roots: [/srv/data]
        excludes: ["*.tmp"]
        dest: /var/tmp/s4int-manifest.jsonl.gz
      register: m
    - name: Fetch it
      ansible.builtin.fetch:
        src: "{{ m.manifest }}"
        dest: "@OUT@/{{ inventory_hostname }}.jsonl.gz"
        flat: true
    - name: Compare on the controller
      ansible.builtin.copy:
        content: "{{ {'cmp': '@OUT@/src.jsonl.gz' | smartt.s4.integrity_compare('@OUT@/tgt.jsonl.gz'),
                      'src': hostvars['src'].m, 'tgt': hostvars['tgt'].m} | to_json }}"
        dest: "@OUT@/@NAME@.json"
        mode: "0644"
      delegate_to: localhost
      run_once: true
"""

MAKE_TREE = r"""set -e
mkdir -p /srv/data/site/wp-content/uploads "/srv/data/odd names" /srv/data/empty-dir
cd /srv/data
for i in $(seq 1 300); do head -c $((i * 37)) /dev/urandom > "site/wp-content/uploads/img $i.jpg"; done
printf 'x' > "$(printf 'odd names/new\nline')"
printf 'y' > "$(printf 'odd names/latin1-\351')"
printf 'z' > 'odd names/%41 percent'
ln -s site/wp-content target-link
ln -s /nonexistent dangling
ln site/wp-content/uploads/img\ 1.jpg hardlink.jpg
truncate -s 64M sparse.img && printf 'data' | dd of=sparse.img bs=1 seek=33554432 conv=notrunc 2>/dev/null
head -c 3000000 /dev/urandom > big.bin
chmod 0640 big.bin && chown 33:33 -R site
touch ignored.tmp
"""


def test_file_tree_copied_across_versions_and_corruption_caught(boxes, tmp_path):
    src, tgt = boxes
    src.exec(MAKE_TREE)
    # copy with tar (preserving owners, modes, mtimes, links, sparseness)
    tar = src.exec("tar --sparse --numeric-owner -C /srv -cf - data").stdout
    tgt.exec("mkdir -p /srv && tar --numeric-owner -C /srv -xpf -", input_=tar)
    res = ansible(tmp_path / "1", boxes, FILES_PLAY.replace("@NAME@", "same"))["same"]
    assert res["src"]["error_count"] == 0 and res["src"]["excluded"] == 1
    assert res["cmp"]["passed"] is True, res["cmp"]
    assert res["cmp"]["summary"]["source_entries"] == res["src"]["entries_count"] > 300

    # one flipped byte in the middle of the big file, size and mtime kept; one mode change
    tgt.exec("cd /srv/data && t=$(stat -c %y big.bin) && printf '\\377' | dd of=big.bin bs=1 seek=1500000 "
             "conv=notrunc 2>/dev/null && touch -d \"$t\" big.bin && chmod 0600 'odd names/%41 percent'")
    # make sure the byte really changed (if it was already 0xff, flip to 0x00)
    same = src.exec("dd if=/srv/data/big.bin bs=1 skip=1500000 count=1 2>/dev/null | od -An -tu1").stdout.strip()
    if same == b"255":
        tgt.exec("cd /srv/data && t=$(stat -c %y big.bin) && printf '\\000' | dd of=big.bin bs=1 seek=1500000 "
                 "conv=notrunc 2>/dev/null && touch -d \"$t\" big.bin")
    bad = ansible(tmp_path / "2", boxes, FILES_PLAY.replace("@NAME@", "corrupt"))["corrupt"]
    assert bad["cmp"]["passed"] is False
    changed = {c["path"]: c["attributes"] for c in bad["cmp"]["changed"]}
    assert changed == {"big.bin": ["sha256"], "odd names/%41 percent": ["mode"]}
