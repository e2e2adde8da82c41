#!/usr/bin/env bash
# Install Request Tracker 5 from Debian's packages and serve it on a loopback port, for the
# `rt` test suite (tests/test_rt_live.py) and for trying `supportctl --backend rt` by hand.
#
#   tests/rt/setup_rt.sh            install if needed, configure, start, wait for REST2
#   tests/rt/setup_rt.sh --stop     stop the server this script started
#
# Idempotent (each step is skipped when already done), non-interactive (debconf is
# preseeded), bounded in time (every wait has a limit), and it prints how long each step
# took. Needs root (apt-get, /etc/request-tracker5). Environment:
#   SUPPORTCTL_RT_PORT      loopback port (default 8097)
#   SUPPORTCTL_RT_STATE     where the pid file and server log go (default /tmp/supportctl-rt)
# The login is root/password (RT's documented initial one, set through debconf).
set -euo pipefail

PORT="${SUPPORTCTL_RT_PORT:-8097}"
STATE="${SUPPORTCTL_RT_STATE:-/tmp/supportctl-rt}"
URL="http://127.0.0.1:${PORT}"
PASSWORD="password"
PACKAGES=(request-tracker5 rt5-db-sqlite rt5-standalone)
SITE_CONFIG=/etc/request-tracker5/RT_SiteConfig.d/90-supportctl-test.pm
SERVER=/usr/share/request-tracker5/libexec/rt-server
mkdir -p "$STATE"
PIDFILE="$STATE/rt-server.pid"
LOG="$STATE/rt-server.log"

step_started=0
step() { step_started=$(date +%s.%N); printf 'setup_rt: %s … ' "$1" >&2; }
done_step() {
    local now; now=$(date +%s.%N)
    awk -v a="$step_started" -v b="$now" -v m="${1:-done}" 'BEGIN { printf "%s (%.1f s)\n", m, b - a }' >&2
}
fail() { echo "setup_rt: error: $*" >&2; exit 1; }

stop_server() {
    if [[ -f "$PIDFILE" ]]; then
        local pid; pid=$(cat "$PIDFILE")
        if kill -0 "$pid" 2>/dev/null; then
            kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$PIDFILE"
    fi
}

# HTTP status of an authenticated REST2 call (000 when nothing answers).
rest_status() {
    python3 - "$URL/REST/2.0/queues/all" "$PASSWORD" <<'PY'
import base64, sys, urllib.error, urllib.request
url, password = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url, headers={
    "Authorization": "Basic " + base64.b64encode(f"root:{password}".encode()).decode()})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
}

if [[ "${1:-}" == "--stop" ]]; then
    step "stopping rt-server"; stop_server; done_step; exit 0
fi

total_started=$(date +%s.%N)

# 1. Packages -----------------------------------------------------------------------------------
step "installing ${PACKAGES[*]}"
if dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | grep -vq '^install ok installed$' \
   || [[ $(dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | wc -l) -ne ${#PACKAGES[@]} ]]; then
    [[ $(id -u) -eq 0 ]] || fail "installing the RT packages needs root"
    if ! apt-cache policy request-tracker5 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        timeout 300 apt-get update -qq
    fi
    debconf-set-selections <<'DEBCONF'
request-tracker5 request-tracker5/initial-root-password password password
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean true
DEBCONF
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${PACKAGES[@]}" > "$STATE/apt.log" 2>&1 || { tail -30 "$STATE/apt.log" >&2; fail "apt-get install failed (log: $STATE/apt.log)"; }
    done_step "installed"
else
    done_step "already installed"
fi
[[ -x "$SERVER" ]] || fail "$SERVER is missing after the install"

# 2. Site config: loopback URL, no web path, UTC, body search --------------------------------------
step "writing $SITE_CONFIG"
wanted=$(cat <<PERL
# Written by supportctl's tests/rt/setup_rt.sh: a loopback RT for the rt test suite.
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, ${PORT});
Set(\$WebPath, '');
Set(\$WebBaseURL, '${URL}');
Set(\$Timezone, 'UTC');
Set(%FullTextSearch, Enable => 1, Indexed => 0);
Set(\$LogToSTDERR, 'warning');
1;
PERL
)
if [[ -f "$SITE_CONFIG" && "$(cat "$SITE_CONFIG")" == "$wanted" ]]; then
    done_step "unchanged"
    config_changed=0
else
    printf '%s\n' "$wanted" > "$SITE_CONFIG"
    done_step "written"
    config_changed=1
fi

# 3. Server -------------------------------------------------------------------------------------
step "starting rt-server on $URL"
status=$(rest_status)
if [[ "$status" != "000" && $config_changed -eq 0 ]]; then
    done_step "already answering ($status)"
else
    stop_server
    [[ $(rest_status) == "000" ]] || fail "port $PORT is taken by a process this script did not start"
    setsid "$SERVER" --port "$PORT" > "$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    done_step "pid $(cat "$PIDFILE"), log $LOG"
fi

# 4. REST2 with root/password -------------------------------------------------------------------
step "waiting for REST2 at $URL/REST/2.0"
deadline=$(( $(date +%s) + 120 ))
reset_done=0
while :; do
    status=$(rest_status)
    if [[ "$status" == "200" ]]; then break; fi
    if [[ "$status" == "401" && $reset_done -eq 0 ]]; then
        # The debconf password was not applied (e.g. an older install): set it directly.
        echo "$PASSWORD" | rt-passwd root > /dev/null
        reset_done=1
        continue
    fi
    if [[ -f "$PIDFILE" ]] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        tail -20 "$LOG" >&2; fail "rt-server exited (log: $LOG)"
    fi
    (( $(date +%s) < deadline )) || { tail -20 "$LOG" >&2 || true; fail "REST2 did not answer 200 within 120 s (last: $status)"; }
    sleep 0.5
done
done_step "ready"

awk -v a="$total_started" -v b="$(date +%s.%N)" -v u="$URL" \
    'BEGIN { printf "setup_rt: RT is up at %s (REST2 under /REST/2.0, root/password) in %.1f s\n", u, b - a }' >&2
