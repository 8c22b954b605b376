"""The fleet lab's generator (s4/lab/fleet.py) and first-boot overlay: deterministic, valid, varied. No podman."""

from __future__ import annotations

import shlex
from collections import Counter

import pytest
import yaml

from s4 import cmdb as s4_cmdb
from s4 import names
from s4.lab import cli, fleet, fleetctl, topology


def test_same_seed_same_fleet_other_seed_other_fleet():
    assert fleet.plan(40) == fleet.plan(40)
    assert fleet.render_cmdb(fleet.plan(40)) == fleet.render_cmdb(fleet.plan(40))
    assert fleet.plan(40, seed=7) != fleet.plan(40)


def test_fleets_nest():
    """Host i is the same whatever the size: a 50-host fleet is the start of the 200-host one (benchmarks compare)."""
    assert fleet.plan(200).hosts[:50] == fleet.plan(50).hosts


@pytest.mark.parametrize("n", [1, 5, 200])
def test_generated_cmdb_passes_the_plugin_schema(n, tmp_path):
    f = fleet.plan(n)
    assert fleet.validate(f) == []
    path = fleet.write_inventory(f, tmp_path)
    loaded = s4_cmdb.load(path)
    assert sorted(loaded.hosts) == sorted(h.name for h in f.hosts)
    assert (tmp_path / "group_vars" / "s4_in_scope.yml").is_file()
    for h in f.hosts:
        assert loaded.hosts[h.name].in_scope == h.in_scope


def test_scope_mix_is_one_in_ten_and_a_small_fleet_has_one():
    f = fleet.plan(200)
    out = [h for h in f.hosts if not h.in_scope]
    assert len(out) == 20
    assert {h.service for h in out} <= set(s4_cmdb.OUT_OF_SCOPE)
    assert all(not h.sites for h in out)
    for seed in range(10):
        assert sum(not h.in_scope for h in fleet.plan(5, seed).hosts) == 1


def test_variation_at_200():
    f = fleet.plan(200)
    suites = Counter(h.suite for h in f.hosts)
    assert set(suites) == set(topology.SUITES) and min(suites.values()) >= 20
    assert len({h.flavour for h in f.hosts}) == len(fleet.FLAVOURS)
    in_scope = [h for h in f.hosts if h.in_scope]
    per_host = Counter(len(h.sites) for h in in_scope)
    assert set(per_host) == set(range(6))  # 0-5 sites
    behind = sum(h.behind for h in in_scope)
    assert 0.15 * len(in_scope) < behind < 0.35 * len(in_scope)
    assert 10 <= sum(h.node for h in f.hosts) < 60
    sites = [s for h in f.hosts for s in h.sites]
    assert {s.app for s in sites} == set(fleet.APPS)
    versions = {(lib, v) for s in sites for lib, v in s.libs}
    assert versions == {(lib, v) for lib, vs in fleet.LIBS.items() for v in vs}  # every version somewhere
    assert len({s.name for s in sites}) == len(sites)
    # clients spread: shared hosts carry several, some clients have sites on more than one host
    assert all(len(h.clients) >= 2 for h in f.hosts if h.service == "shared_hosting")
    hosts_per_client = Counter(c for h in f.hosts for c in h.clients if c != "smartt")
    assert max(hosts_per_client.values()) >= 3
    assert all(1 <= s.uploads <= 24 for s in sites)


def test_names_addresses_and_containers():
    f = fleet.plan(200)
    assert fleet.check_names(f) == []
    assert len({h.address for h in f.hosts}) == 200
    assert f.hosts[0].address == "10.89.41.10" and f.hosts[-1].address == "10.89.41.209"
    lab_addresses = {h.address for h in topology.HOSTS}
    assert not lab_addresses & {h.address for h in f.hosts}
    for h in f.hosts:
        assert h.container.startswith("s4fleet-") and not h.container.startswith(topology.CONTAINER_PREFIX)
        names.check_host_name(h.name)
        for s in h.sites:
            assert names.is_within(s.docroot, ["/srv/www"])
            assert s.client in h.clients


def test_size_limits():
    for bad in (0, 201):
        with pytest.raises(ValueError):
            fleet.plan(bad)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["up", "--fleet", "201"])
    args = cli.build_parser().parse_args(["up", "--fleet", "20", "--seed", "3"])
    assert (args.fleet, args.seed) == (20, 3)
    assert cli.build_parser().parse_args(["up"]).fleet is None  # default off: `scripts/lab up` is unchanged
    assert cli.build_parser().parse_args(["down", "--fleet"]).fleet is True


def test_cmdb_has_no_secret_and_points_at_the_fleet_known_hosts():
    f = fleet.plan(30)
    text = fleet.render_cmdb(f)
    assert "password" not in text.lower() and "lab-" not in text
    data = yaml.safe_load(text)
    assert data["cmdb"]["domain"] == fleet.DOMAIN
    assert "fleet_known_hosts" in fleet.GROUP_VARS and "StrictHostKeyChecking=yes" in fleet.GROUP_VARS


def test_apply_script_copies_sites_libs_and_data_quoted():
    f = fleet.plan(200)
    h = next(h for h in f.hosts if h.behind and any(s.libs for s in h.sites))
    script = fleetctl.apply_script(h)
    for s in h.sites:
        assert f"cp -a {fleet.POOL}/apps/{s.app} {shlex.quote(s.root)}" in script
        for lib, v in s.libs:
            assert f"{fleet.POOL}/libs/{lib}-{v}" in script
        assert f"{shlex.quote(s.root + '/uploads')} {s.seed} {s.uploads}" in script
    assert "dpkg -i --force-downgrade" in script
    assert script.count(h.digest()) == 2  # idempotent marker: checked first, written last
    plain = next(h for h in f.hosts if not h.behind and not h.sites and not fleet.FLAVOUR_BY_NAME[h.flavour].node)
    assert "dpkg" not in fleetctl.apply_script(plain) and "cp -a" not in fleetctl.apply_script(plain)


def test_node_runtime_removed_where_the_plan_says_so():
    f = fleet.plan(200)
    with_node_flavour = [h for h in f.hosts if fleet.FLAVOUR_BY_NAME[h.flavour].node]
    assert any(h.node for h in with_node_flavour) and any(not h.node for h in with_node_flavour)
    for h in with_node_flavour:
        assert (f"rm -rf {fleet.NODE_DIR}" in fleetctl.apply_script(h)) == (not h.node)


def test_flavours_reuse_lab_images_only():
    lab_images = {f"base-{s}" for s in topology.SUITES} | {f"host-{h.name}" for h in topology.HOSTS}
    for f in fleet.FLAVOURS:
        assert f.source in lab_images
        assert "ssh" in f.services and not set(f.disable) & set(f.services)
    for image, _path, _sub in fleet.APPS.values():
        assert image in lab_images


def test_generated_shell_parses():
    """The flavour scripts and every host's first-boot script of the largest fleet are valid bash."""
    import subprocess

    scripts = [fleetctl._flavour_script(f) for f in fleet.FLAVOURS]
    scripts += [fleetctl.apply_script(h) for h in fleet.plan(200).hosts]
    # one bash -n over all of them, each as a function body (a stray quote in one would swallow the next: caught too)
    text = "".join(f"f{i}() {{\n{body}}}\n" for i, body in enumerate(scripts))
    res = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


def test_flavour_disables_heavy_units_and_keeps_ssh():
    f = fleet.FLAVOUR_BY_NAME["d11-nginx-php74"]
    script = fleetctl._flavour_script(f)
    assert "systemctl mask mariadb" in script and "systemctl mask php7.4-fpm" in script
    assert "ssh" not in f.disable
    assert f"cp -a /mnt/node {fleet.NODE_DIR}" in fleetctl._flavour_script(fleet.FLAVOUR_BY_NAME["d12-node"])
    assert "/mnt/node" not in script


def test_overlay_carries_keys_and_script_private(tmp_path, monkeypatch):
    import io
    import tarfile

    monkeypatch.setattr(fleetctl, "KEY_DIR", tmp_path / "fleet")
    monkeypatch.setattr(topology, "SSH_KEY", tmp_path / "id_ed25519")
    (tmp_path / "id_ed25519.pub").write_text("ssh-ed25519 AAAAclient s4lab-client\n")
    h = fleet.plan(5).hosts[2]
    with tarfile.open(fileobj=io.BytesIO(fleetctl._overlay_tar(h))) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert members["root/.ssh"].isdir() and members["root/.ssh"].mode == 0o700
    assert members["etc/ssh/ssh_host_ed25519_key"].mode == 0o600
    assert members["root/.ssh/authorized_keys"].mode == 0o600
    assert members["root/s4fleet-apply.sh"].mode == 0o700
    label = fleetctl.plan_label(h, "localhost/s4fleet/flavour-x:1")
    assert label == fleetctl.plan_label(h, "localhost/s4fleet/flavour-x:1")
    assert label != fleetctl.plan_label(h, "localhost/s4fleet/flavour-x:2")  # another image: recreated
    assert label != fleetctl.plan_label(fleet.plan(5, seed=1).hosts[2], "localhost/s4fleet/flavour-x:1")


def test_sites_get_a_vhost_and_lab_tenants_are_removed():
    h = next(h for h in fleet.plan(200).hosts if len(h.sites) >= 2)
    script = fleetctl.apply_script(h)
    for s in h.sites:
        assert f"/etc/nginx/sites-enabled/{s.name}" in script and f"/etc/apache2/sites-enabled/{s.name}.conf" in script
        assert f"root {s.docroot};" in script and f"DocumentRoot {s.docroot}" in script
        assert f"ServerName {s.domain}" in script
    flavour = fleetctl._flavour_script(fleet.FLAVOUR_BY_NAME["d12-apache-php82"])
    assert "rm -f /etc/nginx/sites-enabled/* /etc/apache2/sites-enabled/*" in flavour
    assert "/etc/wordpress/config-*.php" in flavour  # the lab's tenant configs (DB passwords) do not reach the fleet


def test_inotify_preflight_refuses_a_fleet_that_would_not_boot():
    assert fleetctl.inotify_problem(5, 128, 60) is None
    problem = fleetctl.inotify_problem(20, 128, 60)
    assert problem and "max_user_instances=1024" in problem
    assert fleetctl.inotify_problem(200, 2048, 60) is None
    assert fleetctl.inotify_problem(0, 128, 100) is None  # nothing new to start (a kept fleet)
    assert fleetctl.inotify_usage() >= 0
