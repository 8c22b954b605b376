#!/usr/bin/env bash
# mvps-acme-01 (bullseye, client Acme): nginx + php7.4-fpm + MariaDB 10.5 serving the Debian `wordpress` package,
# with deterministic client data: uploads in the package's WP_CONTENT_DIR and >= 100,000 rows over several tables.
source /root/s4lab-provision/lib.sh
domain=$(param sites.0.domain); alias=$(param sites.0.aliases.0)
db=$(param sites.0.db.name); dbuser=$(param sites.0.db.user); dbpass=$(param sites.0.db.password)
uploads=/var/lib/wordpress/wp-content/uploads

wait_unit mariadb
say "database $db"
mysql <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$dbuser'@'localhost' IDENTIFIED BY '$dbpass';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$dbuser'@'localhost';
FLUSH PRIVILEGES;
SQL

say "wordpress config for $domain"
cat > "/etc/wordpress/config-$domain.php" <<PHP
<?php
define('DB_NAME', '$db');
define('DB_USER', '$dbuser');
define('DB_PASSWORD', '$dbpass');
define('DB_HOST', 'localhost');
define('DB_CHARSET', 'utf8mb4');
define('WP_HOME', 'http://$domain');
define('WP_SITEURL', 'http://$domain');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('FS_METHOD', 'direct');
define('AUTH_KEY', '$(echo "$dbpass-auth" | sha256sum | cut -c1-48)');
define('SECURE_AUTH_KEY', '$(echo "$dbpass-sauth" | sha256sum | cut -c1-48)');
define('LOGGED_IN_KEY', '$(echo "$dbpass-login" | sha256sum | cut -c1-48)');
define('NONCE_KEY', '$(echo "$dbpass-nonce" | sha256sum | cut -c1-48)');
\$table_prefix = 'wp_';
PHP
ln -sf "config-$domain.php" "/etc/wordpress/config-$alias.php"
chown root:www-data /etc/wordpress/config-*.php && chmod 640 "/etc/wordpress/config-$domain.php"

say "installing the WordPress schema"
cd /usr/share/wordpress
php -d error_reporting=E_ERROR -r '
$_SERVER["HTTP_HOST"] = $argv[1]; $_SERVER["REQUEST_URI"] = "/"; define("WP_INSTALLING", true);
require "/usr/share/wordpress/wp-load.php";
require_once ABSPATH . "wp-admin/includes/upgrade.php";
if (!is_blog_installed()) {
  $r = wp_install("Acme Blog", "acmeadmin", "ops@acme.example", true, "", $argv[2]);
  if (empty($r["user_id"])) { fwrite(STDERR, "wp_install failed\n"); exit(1); }
}
update_option("blogdescription", "News from Acme Ltd");
update_option("permalink_structure", "");
switch_theme("twentytwentyone");
echo "wordpress ", get_bloginfo("version"), " installed\n";
' "$domain" "$(echo "$dbpass-admin" | sha256sum | cut -c1-20)"

say "client data (rows + uploads)"
mkdir -p "$uploads"
python3 "$P/gen_wordpress.py" "$P/params.json" "$uploads" > /tmp/rows.sql
mysql "$db" < /tmp/rows.sql && rm -f /tmp/rows.sql
chown -R www-data:www-data "$uploads"

say "nginx vhost"
rm -f /etc/nginx/sites-enabled/default
cat > /etc/nginx/sites-available/acme-blog <<NGX
server {
    listen 80;
    server_name $domain $alias;
    root /usr/share/wordpress;
    index index.php;
    client_max_body_size 64m;
    access_log /var/log/nginx/acme-blog.access.log;
    error_log /var/log/nginx/acme-blog.error.log;
    location /wp-content/ { alias /var/lib/wordpress/wp-content/; }
    location / { try_files \$uri \$uri/ /index.php?\$args; }
    location ~ \.php\$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/php7.4-fpm.sock;
    }
}
NGX
ln -sf ../sites-available/acme-blog /etc/nginx/sites-enabled/acme-blog
nginx -t -q
systemctl restart php7.4-fpm nginx
out=$(curl -fsS -H "Host: $domain" http://127.0.0.1/)
grep -q "Acme Blog" <<<"$out" || { echo "front page does not render"; echo "$out" | head -20; exit 1; }
say "done: $(find "$uploads" -type f | wc -l) uploads, $(du -sm "$uploads" | cut -f1) MB"
