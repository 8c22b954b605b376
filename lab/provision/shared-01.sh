#!/usr/bin/env bash
# shared-01 (bookworm, shared hosting): apache2 + php8.2-fpm with one pool (own system user) per client; each
# client's site keeps its database on db-01. Sites of different kinds: plain PHP, a Laravel-like app with
# composer.json/composer.lock, an app with package.json/package-lock.json and front-end libraries.
source /root/s4lab-provision/lib.sh
a2enmod -q proxy_fcgi setenvif rewrite >/dev/null
a2dissite -q 000-default
rm -f /etc/php/8.2/fpm/pool.d/www.conf
n=$(param sites | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
for i in $(seq 0 $((n - 1))); do
  name=$(param "sites.$i.name"); client=$(param "sites.$i.client"); domain=$(param "sites.$i.domain")
  docroot=$(param "sites.$i.docroot"); app=$(param "sites.$i.app")
  db=$(param "sites.$i.db.name"); dbuser=$(param "sites.$i.db.user"); dbpass=$(param "sites.$i.db.password")
  dbhost=$(param "hosts.$(param "sites.$i.db.server")")
  base=$(dirname "$docroot")
  say "site $name ($client, $app) db $db@$dbhost"
  id "$client" >/dev/null 2>&1 || useradd --create-home --home-dir "/home/$client" --shell /usr/sbin/nologin "$client"
  mkdir -p "$docroot"
  cat > "/etc/php/8.2/fpm/pool.d/$client.conf" <<POOL
[$client]
user = $client
group = $client
listen = /run/php/php8.2-fpm-$client.sock
listen.owner = www-data
listen.group = www-data
pm = ondemand
pm.max_children = 5
php_admin_value[open_basedir] = $base:/tmp
POOL
  case "$(param "sites.$i.db.engine")" in postgresql) conn=pgsql ;; *) conn=mysql ;; esac
  cat > "$base/.env" <<ENV
APP_NAME=$name
DB_CONNECTION=$conn
DB_HOST=$dbhost
DB_DATABASE=$db
DB_USERNAME=$dbuser
DB_PASSWORD=$dbpass
ENV
  cat > "$docroot/index.php" <<'PHP'
<?php
$env = parse_ini_file(dirname(__DIR__) . '/.env');
try {
    $db = new PDO("{$env['DB_CONNECTION']}:host={$env['DB_HOST']};dbname={$env['DB_DATABASE']}",
                  $env['DB_USERNAME'], $env['DB_PASSWORD'], [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
                  PDO::ATTR_TIMEOUT => 5]);
    $pages = $db->query('SELECT COUNT(*) FROM pages')->fetchColumn();
    $version = $db->getAttribute(PDO::ATTR_SERVER_VERSION);
    $status = "db ok: $pages pages on {$env['DB_CONNECTION']} $version";
} catch (PDOException $e) {
    http_response_code(503);
    $status = 'db error: ' . $e->getMessage();
}
?><!DOCTYPE html><html><head><title><?= htmlspecialchars($env['APP_NAME']) ?></title>
<script src="/js/jquery.min.js"></script></head>
<body><h1><?= htmlspecialchars($env['APP_NAME']) ?></h1><p id="status"><?= htmlspecialchars($status) ?></p></body></html>
PHP
  case "$app" in
    laravel)
      cat > "$base/composer.json" <<'JSON'
{
    "name": "umbrella/shop",
    "type": "project",
    "require": {"php": "^8.0.2", "laravel/framework": "^9.19", "guzzlehttp/guzzle": "^7.2", "monolog/monolog": "^2.0"}
}
JSON
      python3 - "$base/composer.lock" <<'PY'
import json, sys
pkgs = [("laravel/framework", "v9.52.16", "library"), ("guzzlehttp/guzzle", "7.5.0", "library"),
        ("monolog/monolog", "2.9.1", "library"), ("symfony/http-foundation", "v6.0.20", "library"),
        ("nesbot/carbon", "2.66.0", "library"), ("league/flysystem", "3.12.3", "library")]
lock = {"_readme": ["This file locks the dependencies of your project to a known state"],
        "content-hash": "5c6ad1d8f4b6d2f0c4b0a7d9d0b6c1e3", "packages": [
            {"name": n, "version": v, "type": t, "license": ["MIT"]} for n, v, t in pkgs],
        "packages-dev": [{"name": "phpunit/phpunit", "version": "9.6.7", "type": "library", "license": ["BSD-3-Clause"]}],
        "minimum-stability": "stable", "platform": {"php": "^8.0.2"}, "plugin-api-version": "2.3.0"}
json.dump(lock, open(sys.argv[1], "w"), indent=4)
PY
      mkdir -p "$base/vendor/laravel/framework/src/Illuminate/Foundation" "$base/artisan.d"
      printf "<?php\nnamespace Illuminate\\\\Foundation;\nclass Application { const VERSION = '9.52.16'; }\n" \
        > "$base/vendor/laravel/framework/src/Illuminate/Foundation/Application.php"
      printf '#!/usr/bin/env php\n<?php\n// Laravel artisan entry point\n' > "$base/artisan"
      ;;
    *)
      if [ "$name" = hooli-app ]; then
        mkdir -p "$base/node_modules/jquery" "$base/node_modules/lodash" "$docroot/js"
        npm_extract jquery-3.4.1 "$base/node_modules/jquery"
        npm_extract lodash-4.17.15 "$base/node_modules/lodash"
        cp "$base/node_modules/jquery/dist/jquery.min.js" "$docroot/js/jquery.min.js"
        cp "$base/node_modules/lodash/lodash.min.js" "$docroot/js/lodash.min.js"
        cat > "$base/package.json" <<'JSON'
{"name": "hooli-app", "version": "2.3.0", "private": true, "dependencies": {"jquery": "3.4.1", "lodash": "4.17.15"}}
JSON
        cat > "$base/package-lock.json" <<'JSON'
{
  "name": "hooli-app",
  "version": "2.3.0",
  "lockfileVersion": 2,
  "requires": true,
  "packages": {
    "": {"name": "hooli-app", "version": "2.3.0", "dependencies": {"jquery": "3.4.1", "lodash": "4.17.15"}},
    "node_modules/jquery": {"version": "3.4.1", "license": "MIT"},
    "node_modules/lodash": {"version": "4.17.15", "license": "MIT"}
  },
  "dependencies": {"jquery": {"version": "3.4.1"}, "lodash": {"version": "4.17.15"}}
}
JSON
      fi
      ;;
  esac
  chown -R "$client:$client" "$base"
  chmod 750 "$base"; chgrp www-data "$base"; chmod 640 "$base/.env"
  cat > "/etc/apache2/sites-available/$name.conf" <<CONF
<VirtualHost *:80>
    ServerName $domain
    DocumentRoot $docroot
    <Directory $docroot>
        Require all granted
        AllowOverride All
    </Directory>
    <FilesMatch "\.php\$">
        SetHandler "proxy:unix:/run/php/php8.2-fpm-$client.sock|fcgi://localhost"
    </FilesMatch>
    ErrorLog \${APACHE_LOG_DIR}/$name.error.log
    CustomLog \${APACHE_LOG_DIR}/$name.access.log combined
</VirtualHost>
CONF
  a2ensite -q "$name"
done
php-fpm8.2 -t 2>&1 | tail -1
apache2ctl configtest 2>&1 | tail -1
systemctl restart php8.2-fpm apache2
wait_unit php8.2-fpm; wait_unit apache2
for i in $(seq 0 $((n - 1))); do
  domain=$(param "sites.$i.domain")
  # db-01 is not running during the build: the page must render and report the database error cleanly
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $domain" http://127.0.0.1/)
  case "$code" in 200|503) ;; *) echo "$domain answered $code" >&2; exit 1;; esac
done
say done
