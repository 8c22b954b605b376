#!/usr/bin/env bash
# db-01 (bookworm): the shared database server. MariaDB 10.11 and PostgreSQL 15 listen on the lab network; one
# database and user per site of other hosts (the user may connect only from the lab subnet), each with
# deterministic rows.
source /root/s4lab-provision/lib.sh
rows=$(param seed.rows_per_db)
subnet=$(param subnet)
net=${subnet%.0/24}.%
cat > /etc/mysql/mariadb.conf.d/60-s4lab.cnf <<CNF
[mysqld]
bind-address = 0.0.0.0
skip-name-resolve
max_connections = 200
CNF
pgconf=/etc/postgresql/15/main
sed -i "s/^#\?listen_addresses.*/listen_addresses = '*'/" "$pgconf/postgresql.conf"
grep -q "s4lab" "$pgconf/pg_hba.conf" || printf '# s4lab: sites on other lab hosts\nhost all all %s scram-sha-256\n' \
  "$subnet" >> "$pgconf/pg_hba.conf"
systemctl restart mariadb postgresql@15-main
wait_unit mariadb; wait_unit postgresql@15-main
pg() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q "$@"; }

n=$(param hosted_dbs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
for i in $(seq 0 $((n - 1))); do
  engine=$(param "hosted_dbs.$i.engine")
  db=$(param "hosted_dbs.$i.name"); user=$(param "hosted_dbs.$i.user"); pass=$(param "hosted_dbs.$i.password")
  site=$(param "hosted_dbs.$i.site"); client=$(param "hosted_dbs.$i.client")
  say "$engine database $db for $site ($client)"
  case "$engine" in
    mariadb|mysql)
      mysql <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'$net' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'$net';
USE \`$db\`;
CREATE TABLE IF NOT EXISTS users (id INT PRIMARY KEY, email VARCHAR(190) NOT NULL UNIQUE, created DATETIME NOT NULL);
CREATE TABLE IF NOT EXISTS pages (id INT PRIMARY KEY, slug VARCHAR(190) NOT NULL, title VARCHAR(255) NOT NULL,
  body TEXT NOT NULL, author_id INT NOT NULL, KEY (author_id));
DELETE FROM pages; DELETE FROM users;
INSERT INTO users SELECT seq, CONCAT('user', seq, '@$client.example'),
  TIMESTAMP('2018-01-01') + INTERVAL seq HOUR FROM seq_1_to_$rows;
INSERT INTO pages SELECT seq, CONCAT('$site-page-', seq), CONCAT('Page ', seq, ' of $site'),
  REPEAT(CONCAT('Content of page ', seq, '. '), 1 + seq % 20), 1 + (seq * 7) % $rows FROM seq_1_to_$rows;
SQL
      ;;
    postgresql)
      pg -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$user') THEN CREATE ROLE $user LOGIN PASSWORD '$pass'; END IF; END\$\$;"
      pg -tc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
        || pg -c "CREATE DATABASE $db OWNER $user ENCODING 'UTF8' TEMPLATE template0"
      PGPASSWORD=$pass psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$user" "$db" <<SQL
CREATE TABLE IF NOT EXISTS users (id integer PRIMARY KEY, email text NOT NULL UNIQUE, created timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS pages (id integer PRIMARY KEY, slug text NOT NULL, title text NOT NULL, body text NOT NULL,
  author_id integer NOT NULL);
TRUNCATE pages, users;
INSERT INTO users SELECT i, 'user' || i || '@$client.example', TIMESTAMP '2018-01-01' + i * INTERVAL '1 hour'
  FROM generate_series(1, $rows) i;
INSERT INTO pages SELECT i, '$site-page-' || i, 'Page ' || i || ' of $site', repeat('Content of page ' || i || '. ',
  1 + i % 20), 1 + (i * 7) % $rows FROM generate_series(1, $rows) i;
SQL
      ;;
    *) echo "unknown engine $engine" >&2; exit 1 ;;
  esac
done
mysql -e "FLUSH PRIVILEGES"
say done
