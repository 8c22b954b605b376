"""Services, ports and binaries outside the package manager."""

from __future__ import annotations

import os
import shutil
import sys

from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_components as comp


def _unit_tree(root):
    """Unit files of ssh, dbus, console-getty and e2scrub_reap laid out as on a Debian 12 host."""
    lib = root / "lib" / "systemd" / "system"
    etc = root / "etc" / "systemd" / "system"
    (etc / "multi-user.target.wants").mkdir(parents=True)
    lib.mkdir(parents=True)
    (lib / "ssh.service").write_text("[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\n"
                                     "ExecStart=/usr/sbin/sshd -D\n[Install]\nWantedBy=multi-user.target\n"
                                     "Alias=sshd.service\n")
    (etc / "multi-user.target.wants" / "ssh.service").symlink_to("/lib/systemd/system/ssh.service")
    (etc / "sshd.service").symlink_to("/lib/systemd/system/ssh.service")
    (lib / "dbus.service").write_text("[Unit]\nDescription=D-Bus System Message Bus\n[Service]\nExecStart=x\n")
    (lib / "e2scrub_reap.service").write_text("[Service]\nExecStart=x\n[Install]\nWantedBy=default.target\n")
    (etc / "default.target.wants").mkdir()
    (etc / "default.target.wants" / "e2scrub_reap.service").symlink_to("/lib/systemd/system/e2scrub_reap.service")
    (etc / "console-getty.service").symlink_to("/dev/null")


def test_systemctl_outputs_captured_from_a_bookworm_lab_container(fixtures, tmp_path):
    units = comp.parse_systemctl_units((fixtures / "systemd" / "list-units-bookworm.txt").read_text())
    captured = {}
    for line in (fixtures / "systemd" / "list-unit-files-bookworm.txt").read_text().splitlines():
        parts = line.split()
        captured[parts[0]] = parts[1]
    assert units["ssh.service"][1:] == ("active", "running")
    assert units["auditd.service"][0] == "not-found"
    _unit_tree(tmp_path)
    names = ["ssh.service", "sshd.service", "dbus.service", "console-getty.service", "e2scrub_reap.service"]
    states = comp.unit_file_states(names, str(tmp_path))
    # the unit directories give the same answer systemctl list-unit-files gave on the real container
    assert states == {n: captured[n] for n in names}
    assert comp.unit_file_states(["nowhere.service"], str(tmp_path)) == {"nowhere.service": "generated"}
    svcs = {s["name"]: s for s in comp.services(units, states, set())}
    assert "auditd.service" not in svcs  # not-found units are dropped
    assert svcs["ssh.service"] == {"name": "ssh.service", "active": "active", "sub": "running",
                                   "enabled": "enabled", "product": "openssh"}
    assert svcs["dbus.service"]["active"] == "active" and svcs["dbus.service"]["enabled"] == "static"
    assert svcs["apt-daily.service"]["enabled"] == "unknown"


def test_template_instances_are_enabled_through_their_template(tmp_path):
    wants = tmp_path / "etc" / "systemd" / "system" / "multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "postgresql@15-main.service").symlink_to("/lib/systemd/system/postgresql@.service")
    states = comp.unit_file_states(["postgresql@15-main.service", "postgresql@16-main.service"], str(tmp_path))
    assert states["postgresql@15-main.service"] == "enabled"
    assert states["postgresql@16-main.service"] == "generated"


def test_service_products():
    installed = {"mariadb", "php"}
    assert comp.service_product("php7.4-fpm.service", installed) == "php"
    assert comp.service_product("mysql.service", installed) == "mariadb"
    assert comp.service_product("mysql.service", {"mysql"}) == "mysql"
    assert comp.service_product("postgresql@15-main.service", installed) == "postgresql"
    assert comp.service_product("apache2.service", installed) == "apache-http-server"
    assert comp.service_product("cron.service", installed) is None


def test_proc_net_listening_sockets(fixtures):
    tcp = (fixtures / "proc" / "tcp").read_text()
    tcp6 = (fixtures / "proc" / "tcp6").read_text()
    inode4 = comp.parse_proc_net(tcp, "tcp")[0][2]
    inode6 = comp.parse_proc_net(tcp6, "tcp6")[0][2]
    assert comp.parse_proc_net(tcp, "tcp")[0][3] == 0  # uid
    owners = {inode4: (44, "sshd"), inode6: (44, "sshd")}
    ports = comp.listening_ports([("tcp", tcp), ("tcp6", tcp6)], owners, set())
    assert ports == [
        {"proto": "tcp", "address": "0.0.0.0", "port": 22, "process": "sshd", "pid": 44, "product": "openssh",
         "owner": "fd"},
        {"proto": "tcp", "address": "::", "port": 22, "process": "sshd", "pid": 44, "product": "openssh",
         "owner": "fd"},
    ]


def test_port_owner_by_uid_when_fds_are_unreadable():
    """In a container without CAP_SYS_PTRACE root cannot read other users' /proc/<pid>/fd: fall back to the uid."""
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 1111 1\n"
        "   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 2222 1\n"
        "   2: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000   33         0 3333 1\n"
    )
    by_uid = {104: [(300, "mariadbd")], 105: [(400, "postgres"), (401, "postgres"), (402, "bash")],
              33: [(500, "node"), (501, "php-fpm7.4")]}
    ports = comp.listening_ports([("tcp", text)], {}, {"mariadb"}, by_uid)
    got = {p["port"]: (p["pid"], p["product"], p["owner"]) for p in ports}
    assert got[3306] == (300, "mariadb", "uid")
    assert got[5432] == (400, "postgresql", "uid")
    assert got[3000] == (None, None, None)  # two different servers run as uid 33: no guess


def test_proc_net_addresses_and_states():
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 1111 1\n"
        "   1: 0100007F:0CEA 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000   106        0 2222 1\n"
    )
    assert comp.parse_proc_net(text, "tcp") == [("127.0.0.1", 3306, 1111, 106)]
    v6 = ("  sl  local_address remote_address st\n"
          "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0 0 0 0 0 3333 1\n"
          "   1: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0 4444 1\n")
    assert [x[:3] for x in comp.parse_proc_net(v6, "tcp6")] == [("::1", 8080, 3333), ("127.0.0.1", 80, 4444)]
    assert comp.comm_product("mariadbd", {"mariadb"}) == "mariadb"
    assert comp.comm_product("java", {"apache-tomcat"}) == "apache-tomcat"


def test_socket_owners_of_this_process():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        inode = os.fstat(s.fileno()).st_ino
        owners = comp.socket_owners()
        assert owners[inode][0] == os.getpid()
    finally:
        s.close()


def _python_binary():
    return os.path.realpath(sys.executable)


def test_binaries_outside_the_package_manager(tmp_path):
    """A real ELF (this Python) installed under /opt and /home, a script with a server's name, a dpkg-owned copy."""
    opt = tmp_path / "opt" / "py311" / "bin"
    opt.mkdir(parents=True)
    shutil.copy2(_python_binary(), opt / "python3")
    home_bin = tmp_path / "home" / "alice" / ".local" / "bin"
    home_bin.mkdir(parents=True)
    (home_bin / "nginx").write_text("#!/bin/sh\nrm -rf /\n")
    (home_bin / "nginx").chmod(0o755)
    pkg_bin = tmp_path / "opt" / "vendorapp" / "bin"
    pkg_bin.mkdir(parents=True)
    shutil.copy2(_python_binary(), pkg_bin / "python3")
    (tmp_path / "opt" / "big" / "node_modules" / "x").mkdir(parents=True)
    tomcat = tmp_path / "opt" / "tomcat9"
    (tomcat / "bin").mkdir(parents=True)
    (tomcat / "bin" / "catalina.sh").write_text("#!/bin/sh\n")
    (tomcat / "RELEASE-NOTES").write_text("                     Apache Tomcat Version 9.0.98\n")
    info = tmp_path / "dpkginfo"
    info.mkdir()
    (info / "vendor-python.list").write_text(f"/.\n{pkg_bin / 'python3'}\n")

    skipped = []
    found, tomcats = comp.find_candidate_binaries([str(tmp_path / "opt"), str(tmp_path / "home" / "alice")],
                                                  6, 10000, float("inf"), skipped)
    assert found == sorted([str(opt / "python3"), str(pkg_bin / "python3")])
    assert tomcats == [str(tomcat)]
    assert {"path": str(home_bin / "nginx"), "reason": "not an ELF binary (scripts are never run)"} in skipped
    owned = comp.dpkg_owned(found, str(info))
    assert owned == {str(pkg_bin / "python3")}
    c, warn = comp.probe_binary(str(opt / "python3"), 10, str(tmp_path))
    assert warn is None
    assert c["product"] == "python" and c["source"] == "binary" and c["path"] == str(opt / "python3")
    assert c["detected_by"] == "probe-root"
    assert c["version"] == ".".join(str(x) for x in sys.version_info[:3])
    tc = comp.tomcat_component(str(tomcat))
    assert (tc["product"], tc["version"], tc["kind"]) == ("apache-tomcat", "9.0.98", "appserver")


def test_hanging_binary_is_killed_and_reported(tmp_path, monkeypatch):
    """A binary with a known name that never answers: the probe times out and the caller gets a warning."""
    sleep = shutil.which("sleep")
    assert sleep
    fake = tmp_path / "redis-server"
    shutil.copy2(sleep, fake)
    probes = [(rx, p, k, (["30"] if p == "redis" else argv), vre) for rx, p, k, argv, vre in comp.BINARY_PROBES]
    monkeypatch.setattr(comp, "BINARY_PROBES", probes)
    c, warn = comp.probe_binary(str(fake), 0.3, str(tmp_path))
    assert c is None
    assert warn == f"version probe {fake} 30: timed out after 0.3s"


def test_probe_without_version_in_output(tmp_path):
    fake = tmp_path / "node"
    shutil.copy2(shutil.which("true"), fake)
    c, warn = comp.probe_binary(str(fake), 5, str(tmp_path))
    assert c is None and warn == f"version probe {fake} --version: no version in output"
