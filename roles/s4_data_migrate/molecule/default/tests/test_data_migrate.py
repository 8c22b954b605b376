"""The target holds an exact copy of the source's tree (owners, modes, times, hard links, link targets)."""


def test_files_are_copied_with_owner_mode_and_time(host):
    f = host.file("/srv/www/site/index.php")
    assert f.content_string == "hello\n"
    assert f.mode == 0o640
    assert f.mtime.year == 2020


def test_names_with_spaces_and_uids_survive(host):
    f = host.file("/srv/www/site/uploads/2026/a file with spaces.txt")
    assert f.content_string == "data\n"
    assert f.uid == 33 and f.gid == 33


def test_hard_links_are_kept(host):
    assert host.file("/srv/www/site/hardlink.php").inode == host.file("/srv/www/site/index.php").inode


def test_dangling_link_targets_are_copied(host):
    assert host.file("/srv/www/site/theme").is_symlink
    assert host.file("/usr/share/s4demo/theme/style.css").content_string == "theme\n"


def test_big_file_is_complete_and_no_partial_dir_is_left(host):
    assert host.file("/srv/www/site/uploads/2026/big.bin").size == 3000000
    assert not host.file("/srv/www/site/.s4-rsync-partial").exists


def test_source_host_key_is_pinned_and_no_private_key_is_stored(host):
    kh = host.file("/var/lib/s4-data-migrate/known_hosts")
    assert kh.mode == 0o600 and "ssh-ed25519" in kh.content_string
    assert not host.file("/root/.ssh/migrate").exists


def test_protected_files_are_left_alone(host):
    # protected paths (configs the POC rewrote) are neither copied over nor deleted
    assert not host.file("/srv/www/site/config.php").exists
