# Shared helpers of the lab's provisioning scripts (sourced by host.sh inside the build container).
set -euo pipefail
P=/root/s4lab-provision
export DEBIAN_FRONTEND=noninteractive
# param DOTTED.PATH -> value from params.json (lists/dicts printed as JSON)
param() { python3 "$P/param.py" "$P/params.json" "$1"; }
say() { printf '[provision %s] %s\n' "$(hostname)" "$*"; }
wait_unit() {  # wait_unit UNIT [seconds]
  local unit=$1 n=${2:-60}
  for _ in $(seq "$n"); do systemctl is-active --quiet "$unit" && return 0; sleep 1; done
  systemctl status --no-pager "$unit" || true; journalctl -u "$unit" -n 30 --no-pager || true
  echo "unit $unit did not become active" >&2; return 1
}
# npm_extract NAME-VERSION DEST: unpack a cached npm tarball's package/ into DEST
npm_extract() {
  local tgz="$P/assets/$1.tgz" dest=$2
  [ -f "$tgz" ] || { echo "missing asset $tgz" >&2; return 1; }
  mkdir -p "$dest"; tar -xzf "$tgz" -C "$dest" --strip-components=1
}
