import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location("podman_conf", ROOT / "scripts" / "podman_conf.py")
assert spec and spec.loader
podman_conf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(podman_conf)


def test_empty_file_gets_both_settings():
    new, added = podman_conf.ensure("")
    data = tomllib.loads(new)
    assert data["engine"]["runtime"] == "runc"
    assert data["containers"]["default_ulimits"] == ["nofile=20000:20000", "nproc=20000:20000"]
    assert len(added) == 2


def test_existing_settings_are_never_clobbered():
    text = '# mine\n[containers]\nlog_driver = "journald"\ndefault_ulimits = ["nofile=1:1"]\n[engine]\nevents_logger = "file"\n'
    new, added = podman_conf.ensure(text)
    data = tomllib.loads(new)
    assert data["containers"]["default_ulimits"] == ["nofile=1:1"]
    assert data["containers"]["log_driver"] == "journald"
    assert data["engine"] == {"events_logger": "file", "runtime": "runc"}
    assert added == ['[engine] runtime = "runc"']
    assert new.startswith("# mine\n")


def test_second_run_changes_nothing():
    once, _ = podman_conf.ensure("[network]\nx = 1\n")
    twice, added = podman_conf.ensure(once)
    assert twice == once and added == []
