"""Host image recipes: hashes are stable and change exactly when what an image is made of changes."""

from __future__ import annotations

import dataclasses

import pytest

from s4.lab import estate, hostimages, topology


def test_hashes_are_stable():
    for h in topology.HOSTS:
        assert hostimages.host_hash(h.name) == hostimages.host_hash(h.name)
        assert hostimages.host_ref(h.name).startswith(f"{topology.IMAGE_REPO}/host-{h.name}:")


def test_package_change_changes_both_layers(monkeypatch):
    before_pkg = hostimages.package_hash("db-01")
    before_host = hostimages.host_hash("db-01")
    spec = estate.SPEC_BY_NAME["db-01"]
    monkeypatch.setitem(estate.SPEC_BY_NAME, "db-01", dataclasses.replace(spec, packages=(*spec.packages, "htop")))
    assert hostimages.package_hash("db-01") != before_pkg
    assert hostimages.host_hash("db-01") != before_host


def test_seed_change_changes_only_the_provisioned_layer(monkeypatch):
    spec = estate.SPEC_BY_NAME["mvps-acme-01"]
    before_pkg = hostimages.package_hash("mvps-acme-01")
    before_host = hostimages.host_hash("mvps-acme-01")
    monkeypatch.setitem(estate.SPEC_BY_NAME, "mvps-acme-01",
                        dataclasses.replace(spec, seed={**spec.seed, "seed": spec.seed["seed"] + 1}))
    assert hostimages.package_hash("mvps-acme-01") == before_pkg
    assert hostimages.host_hash("mvps-acme-01") != before_host


def test_provisioning_script_change_changes_only_that_host(tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "provision"
    shutil.copytree(hostimages.PROVISION_DIR, copy)
    monkeypatch.setattr(hostimages, "PROVISION_DIR", copy)
    before = {h.name: hostimages.host_hash(h.name) for h in topology.HOSTS}
    with open(copy / "db-01.sh", "a") as fh:
        fh.write("\n# changed\n")
    after = {h.name: hostimages.host_hash(h.name) for h in topology.HOSTS}
    assert after["db-01"] != before["db-01"]
    assert all(after[n] == before[n] for n in before if n != "db-01")


def test_every_host_has_a_provisioning_script():
    for h in topology.HOSTS:
        for path in hostimages.provision_files(h.name):
            assert path.exists(), path


def test_params_of_db_server_list_other_hosts_databases():
    p = hostimages.params("db-01")
    names = {d["name"] for d in p["hosted_dbs"]}
    assert names == {s.db.name for s in estate.spec("shared-01").sites if s.db}
    assert p["hosts"]["db-01"] == topology.host("db-01").address
    assert hostimages.params("mvps-acme-01")["hosted_dbs"] == []


def test_package_script_holds_services_back_and_preseeds():
    script = hostimages._package_script("mvps-globex-01")
    assert "policy-rc.d" in script and "debconf-set-selections" in script
    assert "roundcube-core=" in script
    assert "policy-rc.d" not in hostimages._layer_script("colo-01")


def test_unknown_asset_kind_is_rejected(monkeypatch, tmp_path):
    monkeypatch.setattr(hostimages, "ASSET_CACHE", tmp_path)
    spec = estate.SPEC_BY_NAME["colo-01"]
    monkeypatch.setitem(estate.SPEC_BY_NAME, "colo-01", dataclasses.replace(spec, assets=(("ftp", "x"),)))
    with pytest.raises(hostimages.BuildError, match="unknown asset kind 'ftp'"):
        hostimages.fetch_assets("colo-01")


def test_prune_stale_removes_only_older_recipes_of_that_host(monkeypatch):
    import subprocess as sp

    repo = topology.IMAGE_REPO
    current_host, current_pkg = hostimages.host_ref("db-01"), hostimages.package_ref("db-01")
    listed = {
        f"{repo}/pkg-db-01": [current_pkg, f"{repo}/pkg-db-01:0000000000000000"],
        f"{repo}/host-db-01": [current_host, f"{repo}/host-db-01:latest", f"{repo}/host-db-01:1111111111111111",
                               f"{repo}/host-db-01-other:2222"],
    }
    removed = []

    def fake_run(cmd, **kw):
        if cmd[:2] == ["podman", "images"]:
            return sp.CompletedProcess(cmd, 0, "\n".join(listed[cmd[-1]]), "")
        if cmd[:2] == ["podman", "rmi"]:
            removed.append(cmd[2])
            return sp.CompletedProcess(cmd, 0, "", "")
        raise AssertionError(cmd)

    monkeypatch.setattr(hostimages.subprocess, "run", fake_run)
    out = hostimages.prune_stale("db-01", log=lambda m: None)
    assert sorted(out) == sorted(removed) == sorted(
        [f"{repo}/pkg-db-01:0000000000000000", f"{repo}/host-db-01:1111111111111111"]
    )
