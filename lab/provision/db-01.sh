#!/usr/bin/env bash
# db-01 (bookworm): MariaDB 10.11 listening on the lab network; one database and user per site of other hosts
# (the user may connect only from the lab subnet), each with deterministic rows.
source /root/s4lab-provision/lib.sh
rows=$(param seed.rows_per_db)
net=$(param subnet | sed 's#\.0/24$#.%#')
cat > /etc/mysql/mariadb.conf.d/60-s4lab.cnf <<CNF
[mysqld]
bind-address = 0.0.0.0
skip-name-resolve
max_connections = 200
CNF
systemctl restart mariadb
wait_unit mariadb
n=$(param hosted_dbs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
for i in $(seq 0 $((n - 1))); do
  db=$(param "hosted_dbs.$i.name"); user=$(param "hosted_dbs.$i.user"); pass=$(param "hosted_dbs.$i.password")
  site=$(param "hosted_dbs.$i.site"); client=$(param "hosted_dbs.$i.client")
  say "database $db for $site ($client)"
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
done
mysql -e "FLUSH PRIVILEGES"
say done
