"""Request parameter decoding and validation, mirroring pveproxy and PVE::JSONSchema.

* Bodies are form-urlencoded (split on ``&`` and ``;``, ``+`` is a space, %-decoding) unless the Content-Type is
  exactly ``application/json``; a body without Content-Type is parsed as a form too.
* The query string is read for every method and wins over the body.
* Booleans are only ``0``/``1``, integers an optional sign and digits; unknown parameters are rejected
  (``additionalProperties: 0``), missing required ones reported; all errors of a request are collected in one
  ``400 Parameter verification failed.``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from s4.pve.errors import ParamError, PVEError

Raw = dict[str, Any]

UNKNOWN = "property is not defined in schema and the schema does not allow additional properties"
MISSING = "property is missing and it is not optional"


def _unquote(text: str) -> str:
    return unquote_to_bytes(text.replace("+", " ")).decode("utf-8", "replace")


def parse_form(data: str | bytes) -> Raw:
    """Decode ``a=1&b=2;c=3`` as pveproxy does; a repeated key becomes a list."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    out: Raw = {}
    for part in re.split(r"[&;]", data):
        if not part:
            continue
        key, sep, value = part.partition("=")
        k = _unquote(key)
        v = _unquote(value) if sep else ""
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return out


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_scalar(v) for v in value]
    return value


def parse_body(body: bytes, content_type: str | None) -> Raw:
    """Decode a POST/PUT body. Only an exact ``application/json`` is JSON; everything else is a form."""
    if not body:
        return {}
    ctype = (content_type or "").strip()
    if ctype == "application/json":
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PVEError(400, f"unable to parse JSON body - {exc}") from None
        if not isinstance(data, dict):
            raise PVEError(400, "JSON body must be an object")
        return {str(k): _scalar(v) for k, v in data.items() if v is not None}
    if ctype.startswith("multipart/form-data"):
        raise PVEError(501, "multipart uploads are not supported by the lab server")
    return parse_form(body)


def merge_params(body: Raw, query: Raw, path: dict[str, str]) -> Raw:
    """Query wins over body; a path placeholder given again with another value is a 400."""
    params: Raw = dict(body)
    params.update(query)
    for key, value in path.items():
        if key in params and params[key] != value:
            raise ParamError({key: "duplicate parameter (already defined in URI) with conflicting values!"})
        params[key] = value
    return params


# --------------------------------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Prop:
    type: str = "string"  # string | integer | boolean | number
    optional: bool = True
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None
    fmt: str | None = None  # named format checked by FORMATS
    max_length: int | None = None
    is_list: bool = False  # a "*-list" format: repeated keys are joined with ","


def req(type_: str = "string", **kw: Any) -> Prop:
    return Prop(type=type_, optional=False, **kw)


def opt(type_: str = "string", **kw: Any) -> Prop:
    return Prop(type=type_, optional=True, **kw)


INT_RE = re.compile(r"^[+-]?\d+$")
NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
CONFIGID_RE = re.compile(r"^[a-z][a-z0-9_-]+$", re.I)
DNS_LABEL = r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)"
DNS_NAME_RE = re.compile(rf"^({DNS_LABEL}\.)*{DNS_LABEL}$")
NODE_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")
URLENC_RE = re.compile(r"^[-%a-zA-Z0-9_.!~*'()]*$")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
NET_MODELS = ("e1000", "e1000e", "virtio", "rtl8139", "vmxnet3", "i82551", "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "e1000-82540em", "e1000-82544gc", "e1000-82545em")


def _check_ipconfig(value: str) -> str | None:
    seen = set()
    for part in value.split(","):
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep or key not in ("ip", "gw", "ip6", "gw6"):
            return f"invalid format - format error\n{key}: property is not defined in schema"
        if key in seen:
            return f"invalid format - duplicate key in comma-separated list property: {key}"
        seen.add(key)
        try:
            if key == "ip" and val != "dhcp":
                ipaddress.IPv4Interface(val)
                if "/" not in val:
                    raise ValueError
            elif key == "gw":
                ipaddress.IPv4Address(val)
            elif key == "ip6" and val not in ("dhcp", "auto"):
                ipaddress.IPv6Interface(val)
            elif key == "gw6":
                ipaddress.IPv6Address(val)
        except ValueError:
            kind = {"ip": "IPv4 network configuration", "gw": "IPv4 address", "ip6": "IPv6 network configuration",
                    "gw6": "IPv6 address"}[key]
            return f"invalid format - format error\n{key}: invalid format - value does not look like a valid {kind}"
    return None


def _check_net(value: str) -> str | None:
    parts = value.split(",")
    head, sep, _mac = parts[0].partition("=")
    if head not in NET_MODELS and head != "model":
        return "invalid format - format error\nmodel: property is missing and it is not optional"
    if sep and head != "model" and _mac and not MAC_RE.match(_mac):
        return f"invalid format - format error\nmacaddr: value does not look like a valid MAC address '{_mac}'"
    return None


def _check_addresses(value: str) -> str | None:
    for item in re.split(r"[\s,;]+", value.strip()):
        if not item:
            continue
        try:
            ipaddress.ip_address(item)
        except ValueError:
            return f"invalid format - value does not look like a valid ip address list: '{item}'"
    return None


def _check_memory(value: str) -> str | None:
    v = value[len("current="):] if value.startswith("current=") else value
    if not re.fullmatch(r"\d+", v) or int(v) < 16:
        return f"invalid format - format error\ncurrent: type check ('integer') failed - got '{v}'"
    return None


def _check_agent(value: str) -> str | None:
    for i, part in enumerate(value.split(",")):
        key, sep, val = part.partition("=")
        if not sep and i == 0:
            key, val = "enabled", key
        if key not in ("enabled", "fstrim_cloned_disks", "type", "freeze-fs-on-backup", "freeze-fs"):
            return f"invalid format - format error\n{key}: property is not defined in schema"
        if key != "type" and val not in ("0", "1"):
            return f"invalid format - format error\n{key}: type check ('boolean') failed - got '{val}'"
    return None


def _check_tags(value: str) -> str | None:
    for tag in re.split(r"[,; ]+", value):
        if tag and not re.fullmatch(r"[a-zA-Z0-9_][a-zA-Z0-9_\-+.]*", tag):
            return f"invalid format - invalid characters in tag '{tag}'"
    return None


FORMATS: dict[str, Any] = {
    "pve-configid": lambda v: None if CONFIGID_RE.match(v) else f"invalid format - invalid configuration ID '{v}'\n",
    "dns-name": lambda v: None if DNS_NAME_RE.match(v) else f"invalid format - value does not look like a valid DNS name '{v}'",
    "pve-node": lambda v: None if NODE_RE.match(v) else f"invalid format - value does not look like a valid node name '{v}'",
    "urlencoded": lambda v: None if URLENC_RE.match(v) else f"invalid format - invalid urlencoded string: {v}\n",
    "pve-qm-ipconfig": _check_ipconfig,
    "pve-qm-net": _check_net,
    "address-list": _check_addresses,
    "pve-qm-memory": _check_memory,
    "pve-qm-agent": _check_agent,
    "pve-tag-list": _check_tags,
}


def check_value(name: str, prop: Prop, value: Any) -> tuple[Any, str | None]:
    """Return (typed value, error text or None)."""
    if isinstance(value, list):
        if prop.is_list:
            value = ",".join(value)
        else:
            return None, f"type check ('{prop.type}') failed - got ARRAY"
    value = str(value)
    if prop.type == "boolean":
        if value not in ("0", "1"):
            return None, f"type check ('boolean') failed - got '{value}'"
        return int(value), None
    if prop.type == "integer":
        if not INT_RE.match(value):
            return None, f"type check ('integer') failed - got '{value}'"
        ival = int(value)
        if prop.minimum is not None and ival < prop.minimum:
            return None, f"value must have a minimum value of {prop.minimum}"
        if prop.maximum is not None and ival > prop.maximum:
            return None, f"value must have a maximum value of {prop.maximum}"
        return ival, None
    if prop.type == "number":
        if not NUM_RE.match(value):
            return None, f"type check ('number') failed - got '{value}'"
        fval = float(value)
        if prop.minimum is not None and fval < prop.minimum:
            return None, f"value must have a minimum value of {prop.minimum}"
        return fval, None
    if prop.enum is not None and value not in prop.enum:
        return None, f"value '{value}' does not have a value in the enumeration '{', '.join(prop.enum)}'"
    if prop.max_length is not None and len(value) > prop.max_length:
        return None, f"value may only be {prop.max_length} characters long"
    if prop.fmt:
        err = FORMATS[prop.fmt](value)
        if err:
            return None, err
    return value, None


def validate(params: Raw, schema: dict[str, Prop], additional: bool = False) -> dict[str, Any]:
    """Check ``params`` against ``schema``; raise ParamError with every problem found, else return typed values."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in params.items():
        prop = schema.get(key)
        if prop is None:
            if not additional:
                errors[key] = UNKNOWN
            continue
        typed, err = check_value(key, prop, value)
        if err:
            errors[key] = err
        else:
            out[key] = typed
    for key, prop in schema.items():
        if not prop.optional and key not in params:
            errors[key] = MISSING
    if errors:
        raise ParamError(errors)
    return out


# ------------------------------------------------------------------------------------- qemu VM options

VMID = req("integer", minimum=100, maximum=999999999)
NODE = req(fmt="pve-node")
DISK = opt()


def _indexed(prefix: str, count: int, prop: Prop) -> dict[str, Prop]:
    return {f"{prefix}{i}": prop for i in range(count)}


# The options of a qemu VM config (names and types from the PVE 8 API schema).
VM_OPTIONS: dict[str, Prop] = {
    "acpi": opt("boolean"),
    "affinity": opt(),
    "agent": opt(fmt="pve-qm-agent"),
    "allow-ksm": opt("boolean"),
    "arch": opt(enum=("x86_64", "aarch64")),
    "args": opt(),
    "audio0": opt(),
    "autostart": opt("boolean"),
    "balloon": opt("integer", minimum=0),
    "bios": opt(enum=("seabios", "ovmf")),
    "boot": opt(),
    "bootdisk": opt(),
    "cdrom": opt(),
    "cicustom": opt(),
    "cipassword": opt(),
    "citype": opt(enum=("configdrive2", "nocloud", "opennebula")),
    "ciupgrade": opt("boolean"),
    "ciuser": opt(),
    "cores": opt("integer", minimum=1),
    "cpu": opt(),
    "cpulimit": opt("number", minimum=0),
    "cpuunits": opt("integer", minimum=1, maximum=262144),
    "description": opt(max_length=8192),
    "efidisk0": DISK,
    "freeze": opt("boolean"),
    "hookscript": opt(),
    "hotplug": opt(),
    "hugepages": opt(enum=("any", "2", "1024")),
    "ivshmem": opt(),
    "keephugepages": opt("boolean"),
    "keyboard": opt(),
    "kvm": opt("boolean"),
    "localtime": opt("boolean"),
    "lock": opt(enum=("backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete", "suspending", "suspended")),
    "machine": opt(),
    "memory": opt(fmt="pve-qm-memory"),
    "meta": opt(),
    "migrate_downtime": opt("number", minimum=0),
    "migrate_speed": opt("integer", minimum=0),
    "name": opt(fmt="dns-name"),
    "nameserver": opt(fmt="address-list"),
    "numa": opt("boolean"),
    "onboot": opt("boolean"),
    "ostype": opt(enum=("other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris")),
    "protection": opt("boolean"),
    "reboot": opt("boolean"),
    "rng0": opt(),
    "scsihw": opt(enum=("lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi")),
    "searchdomain": opt(),
    "shares": opt("integer", minimum=0, maximum=50000),
    "smbios1": opt(),
    "smp": opt("integer", minimum=1),
    "sockets": opt("integer", minimum=1),
    "spice_enhancements": opt(),
    "sshkeys": opt(fmt="urlencoded"),
    "startdate": opt(),
    "startup": opt(),
    "tablet": opt("boolean"),
    "tags": opt(fmt="pve-tag-list", is_list=True),
    "tdf": opt("boolean"),
    "template": opt("boolean"),
    "tpmstate0": DISK,
    "vcpus": opt("integer", minimum=1),
    "vga": opt(),
    "vmgenid": opt(),
    "vmstatestorage": opt(),
    "watchdog": opt(),
    **_indexed("hostpci", 16, opt()),
    **_indexed("ide", 4, DISK),
    **_indexed("ipconfig", 32, opt(fmt="pve-qm-ipconfig")),
    **_indexed("net", 32, opt(fmt="pve-qm-net")),
    **_indexed("numa", 8, opt()),
    **_indexed("parallel", 3, opt()),
    **_indexed("sata", 6, DISK),
    **_indexed("scsi", 31, DISK),
    **_indexed("serial", 4, opt()),
    **_indexed("unused", 256, opt()),
    **_indexed("usb", 14, opt()),
    **_indexed("virtio", 16, DISK),
    **_indexed("virtiofs", 10, opt()),
}

# JSON types of config values when read back: booleans and integers are numbers, everything else strings.
NUMERIC_OPTIONS = {k for k, p in VM_OPTIONS.items() if p.type in ("boolean", "integer", "number")}

CLOUDINIT_KEYS = ("ciuser", "cipassword", "sshkeys", "nameserver", "searchdomain", "citype", "ciupgrade", "cicustom")
DISK_RE = re.compile(r"^(ide|sata|scsi|virtio)\d+$|^(efidisk0|tpmstate0)$")


def is_disk_key(key: str) -> bool:
    return bool(DISK_RE.match(key))


def config_privilege(key: str) -> str:
    """The privilege PVE requires to change ``key`` (VM.Config.*)."""
    if key in CLOUDINIT_KEYS or key.startswith("ipconfig"):
        return "VM.Config.Cloudinit"
    if key in ("memory", "balloon", "shares"):
        return "VM.Config.Memory"
    if key in ("cores", "sockets", "cpu", "vcpus", "cpulimit", "cpuunits", "numa", "affinity"):
        return "VM.Config.CPU"
    if is_disk_key(key) or key.startswith("unused"):
        return "VM.Config.Disk"
    if key.startswith("net"):
        return "VM.Config.Network"
    if key in ("hostpci", "usb", "serial", "parallel") or key.startswith(("hostpci", "usb", "serial", "parallel")):
        return "VM.Config.HWType"
    return "VM.Config.Options"
