#!/usr/bin/env bash
# colo-01 (bookworm, colocation): a customer's own box racked with the provider; out of scope for the toolkit.
# Only a marker of who owns it; the toolkit must never touch this host.
source /root/s4lab-provision/lib.sh
cat > /etc/motd <<'TXT'
Colocated server owned by its customer. Not managed by Smartt: do not change anything here.
TXT
say done
