"""Filters smartt.s4.lifecycle_verdict and smartt.s4.lifecycle_recommend, called directly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[3]


def _load(name):
    # the in-place collection path (.collections) makes ansible_collections.smartt.s4 importable
    import sys
    col = str(ROOT / ".collections")
    if col not in sys.path:
        sys.path.insert(0, col)
    spec = importlib.util.spec_from_file_location(f"_s4_filter_{name}", ROOT / "s4_plugins" / "filter" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


verdict_mod = _load("lifecycle_verdict")
recommend_mod = _load("lifecycle_recommend")
verdict = verdict_mod.lifecycle_verdict
recommend = recommend_mod.lifecycle_recommend


def test_filter_registration():
    assert "lifecycle_verdict" in verdict_mod.FilterModule().filters()
    assert "lifecycle_recommend" in recommend_mod.FilterModule().filters()


def test_verdict_component_dict():
    comp = {"product": "php", "version": "7.4.33", "raw_version": "7.4.33-1+deb11u5", "source": "dpkg",
            "package": "php7.4-fpm"}
    d = verdict(comp, distro="debian-11", as_of="2026-11-27")
    assert (d["status"], d["source"], d["support_end"]) == ("eol", "distro", "2026-08-31")
    assert d["recommended"]["cycle"] == "8.4"


def test_verdict_product_and_version():
    d = verdict("php", version="8.4.11-1+deb13u1", distro="debian-13", as_of="2026-11-27")
    assert (d["status"], d["source"]) == ("supported", "distro")
    d = verdict("php", version="8.4.11-1", distro="debian-13", as_of="2026-11-27")  # a bare -N: no evidence
    assert (d["status"], d["source"]) == ("supported", "upstream")
    d = verdict("php", version="7.4.33-1+deb11u5", distro="debian-11", as_of="2026-11-27",
                constraints={"php": "5.6 - 8.0"})
    assert d["recommended"] is None


@pytest.mark.parametrize("args,kw", [
    (("php",), {}),                                        # no version
    (({"version": "1.0"},), {}),                           # no product
    (({"product": "php"},), {}),                           # no version in dict
    ((42,), {"version": "1"}),                             # wrong input type
    (("php",), {"version": "7.4", "as_of": "yesterday"}),  # bad date
    (("php",), {"version": "7.4", "eol_soon_days": "x"}),
    (("php",), {"version": "7.4", "constraints": "php>=7"}),
    (("php",), {"version": "7.4", "distro": 11}),
])
def test_verdict_bad_input(args, kw):
    with pytest.raises(AnsibleFilterError):
        verdict(*args, **kw)


def test_recommend():
    r = recommend("php", distro="debian-13", as_of="2026-11-27", constraints={"php": ">=7.4,<8.5"})
    assert (r["cycle"], r["source"], r["eol"]) == ("8.4", "distro", "2030-06-30")
    assert recommend("php", distro="debian-13", as_of="2026-11-27", constraints={"php": "5.6 - 8.0"}) is None
    assert recommend("mysql", as_of="2026-11-27", current="5.7.44")["cycle"] == "8.4"


@pytest.mark.parametrize("args,kw", [
    (("nosuch",), {}), (("",), {}), ((None,), {}), (("php",), {"distro": "debian-99"}),
    (("php",), {"constraints": {"php": "banana"}}), (("php",), {"constraints": ["x"]}),
    (("php",), {"min_months": -3}),
])
def test_recommend_bad_input(args, kw):
    with pytest.raises(AnsibleFilterError):
        recommend(*args, **kw)
