<?php
// Stand-in for a WordPress front controller: routes every request (pretty permalinks through try_files),
// reports the PHP version serving it and reads its options table through the site's database user.
header('Content-Type: text/plain');
echo 'php_version=' . phpversion() . "\n";
echo 'request_uri=' . $_SERVER['REQUEST_URI'] . "\n";
echo 'pool_user=' . posix_getpwuid(posix_geteuid())['name'] . "\n";
mysqli_report(MYSQLI_REPORT_OFF);
$db = @new mysqli('localhost', 'acme_wp', 'Acme-Molecule-Pw1', 'acme_wp');
if ($db->connect_errno) {
    http_response_code(500);
    echo 'db=error ' . $db->connect_error . "\n";
    exit;
}
$res = $db->query("SELECT option_value FROM wp_options WHERE option_name = 'blogname'");
$row = $res ? $res->fetch_row() : null;
echo 'db=ok server=' . $db->server_info . "\n";
echo 'blogname=' . ($row ? $row[0] : '(missing)') . "\n";
