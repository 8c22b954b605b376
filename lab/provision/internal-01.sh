#!/usr/bin/env bash
# internal-01 (trixie, internal asset): tomcat10 with a small status webapp, redis with some keys, and nginx
# (it will serve the provider's release-notice website; a placeholder page until then).
source /root/s4lab-provision/lib.sh
wait_unit redis-server
for i in $(seq 1 200); do redis-cli -n 0 SET "s4lab:asset:$i" "internal-asset-$i" >/dev/null; done
redis-cli SAVE >/dev/null
mkdir -p /var/lib/tomcat10/webapps/status
cat > /var/lib/tomcat10/webapps/status/index.html <<'HTML'
<!DOCTYPE html><html><head><title>Smartt internal status</title></head><body><p>Smartt internal status: ok</p></body></html>
HTML
chown -R tomcat:tomcat /var/lib/tomcat10/webapps/status
mkdir -p /srv/www/notices
cat > /srv/www/notices/index.html <<'HTML'
<!DOCTYPE html><html><head><title>Smartt release notices</title></head>
<body><h1>Smartt release notices</h1><p>No notice published yet.</p></body></html>
HTML
cat > /etc/nginx/sites-available/notices <<'NGX'
server {
    listen 80 default_server;
    server_name notices.smartt.example;
    root /srv/www/notices;
    index index.html;
}
NGX
rm -f /etc/nginx/sites-enabled/default
ln -sf ../sites-available/notices /etc/nginx/sites-enabled/notices
nginx -t -q && systemctl restart nginx
systemctl restart tomcat10
wait_unit tomcat10 90
for _ in $(seq 60); do curl -fsS http://127.0.0.1:8080/status/ 2>/dev/null | grep -q "internal status" && break; sleep 2; done
curl -fsS http://127.0.0.1:8080/status/ | grep -q "internal status" || { echo "tomcat app does not answer" >&2; exit 1; }
say done
