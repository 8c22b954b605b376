from __future__ import annotations

import pytest

from s4.pve import schema
from s4.pve.errors import ParamError, PVEError


def test_form_decoding_like_pveproxy() -> None:
    assert schema.parse_form("a=1&b=x+y;c=%2520&a=2") == {"a": ["1", "2"], "b": "x y", "c": "%20"}
    assert schema.parse_form(b"flag") == {"flag": ""}


def test_body_types() -> None:
    assert schema.parse_body(b"username=root@pam&password=x", None) == {"username": "root@pam", "password": "x"}
    assert schema.parse_body(b'{"full": true, "newid": 120}', "application/json") == {"full": "1", "newid": "120"}
    # only the exact content type means JSON
    assert schema.parse_body(b'{"a":1}', "application/json; charset=utf-8") == {'{"a":1}': ""}
    with pytest.raises(PVEError):
        schema.parse_body(b"{nope", "application/json")


def test_query_wins_and_path_conflicts() -> None:
    assert schema.merge_params({"a": "1"}, {"a": "2"}, {}) == {"a": "2"}
    with pytest.raises(ParamError) as exc:
        schema.merge_params({"vmid": "101"}, {}, {"vmid": "100"})
    assert "duplicate parameter" in exc.value.errors["vmid"]  # type: ignore[index]


def test_validation_collects_all_errors() -> None:
    props = {"vmid": schema.VMID, "full": schema.opt("boolean"), "name": schema.opt(fmt="dns-name")}
    with pytest.raises(ParamError) as exc:
        schema.validate({"full": "True", "bogus": "1", "name": "bad_name!"}, props)
    assert exc.value.code == 400 and exc.value.reason == "Parameter verification failed."
    assert exc.value.errors == {
        "full": "type check ('boolean') failed - got 'True'",
        "bogus": schema.UNKNOWN,
        "name": "invalid format - value does not look like a valid DNS name 'bad_name!'",
        "vmid": schema.MISSING,
    }
    assert schema.validate({"vmid": "+120", "full": "0"}, props) == {"vmid": 120, "full": 0}
    for bad, msg in (("x", "type check ('integer') failed - got 'x'"), ("99", "value must have a minimum value of 100")):
        with pytest.raises(ParamError) as exc:
            schema.validate({"vmid": bad}, props)
        assert exc.value.errors == {"vmid": msg}


@pytest.mark.parametrize("value,ok", [
    ("ip=10.89.40.120/24,gw=10.89.40.1", True), ("ip=dhcp", True), ("ip=dhcp,ip6=auto", True),
    ("ip=10.89.40.120", False), ("ip=300.1.1.1/24", False), ("addr=1.2.3.4/24", False), ("gw=x", False),
])
def test_ipconfig_format(value: str, ok: bool) -> None:
    assert (schema.FORMATS["pve-qm-ipconfig"](value) is None) is ok


def test_sshkeys_must_be_urlencoded() -> None:
    check = schema.FORMATS["urlencoded"]
    assert check("ssh-ed25519%20AAAA%2B%2F%20u%40h%0A") is None
    assert "invalid urlencoded string" in check("ssh-ed25519 AAAA u@h")


def test_list_formats_join_repeated_keys() -> None:
    assert schema.validate({"tags": ["a", "b"]}, {"tags": schema.VM_OPTIONS["tags"]}) == {"tags": "a,b"}
    with pytest.raises(ParamError):
        schema.validate({"name": ["a", "b"]}, {"name": schema.VM_OPTIONS["name"]})


def test_config_privileges() -> None:
    assert schema.config_privilege("ipconfig0") == "VM.Config.Cloudinit"
    assert schema.config_privilege("scsi0") == "VM.Config.Disk"
    assert schema.config_privilege("net1") == "VM.Config.Network"
    assert schema.config_privilege("memory") == "VM.Config.Memory"
    assert schema.config_privilege("description") == "VM.Config.Options"
