"""`s4 lifecycle` command."""

from __future__ import annotations

import json

import pytest

from s4.cli import main


def test_human_output(capsys):
    assert main(["lifecycle", "php", "7.4.33-1+deb11u5", "--distro", "debian-11", "--as-of", "2026-11-27"]) == 0
    out = capsys.readouterr().out
    assert "status:          EOL" in out and "support source:  distro (debian-11)" in out
    assert "2026-08-31" in out and "recommended:     php 8.4" in out and "days left:       -88" in out


def test_json_output(capsys):
    assert main(["lifecycle", "apache2", "2.4.62-1~deb11u1", "--distro", "bullseye", "--as-of", "2026-11-27",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["product"] == "apache-http-server" and d["status"] == "supported" and d["releases_behind"] == 6


def test_eol_is_still_exit_0_and_unknown_too(capsys):
    assert main(["lifecycle", "centos", "7.9.2009", "--as-of", "2026-11-27"]) == 0
    assert "alternative:     almalinux" in capsys.readouterr().out
    assert main(["lifecycle", "nosuchproduct", "1.0"]) == 0
    assert "UNKNOWN" in capsys.readouterr().out


def test_options(capsys):
    assert main(["lifecycle", "magento", "2.4.7-p5", "--as-of", "2026-11-27", "--eol-soon-days", "200", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "eol-soon"
    assert main(["lifecycle", "php", "7.4.33-1+deb11u5", "--distro", "debian-11", "--target-distro", "debian-13",
                 "--constraint", "php=>=7.4,<8.5", "--as-of", "2026-11-27", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)["recommended"]
    assert (rec["cycle"], rec["source"]) == ("8.4", "distro")
    assert main(["lifecycle", "php", "8.2.29-1~deb12u1", "--distro", "debian-12", "--min-months", "0",
                 "--as-of", "2026-11-27", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recommended"]["cycle"] == "8.2"


@pytest.mark.parametrize("argv", [
    ["lifecycle", "php", "7.4", "--as-of", "2026-13-01"],
    ["lifecycle", "php", "7.4", "--eol-soon-days", "-1"],
    ["lifecycle", "php", "7.4", "--min-months", "x"],
    ["lifecycle", "php"],
])
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


@pytest.mark.parametrize("extra", [["--distro", "debian-99"], ["--target-distro", "nope"],
                                   ["--constraint", "nosuch=>=1"], ["--constraint", "php=>=banana"],
                                   ["--catalog", "/nonexistent/catalog"]])
def test_bad_values_exit_2(extra, capsys):
    assert main(["lifecycle", "php", "7.4.33", *extra]) == 2
    assert capsys.readouterr().err.startswith("s4 lifecycle:")
