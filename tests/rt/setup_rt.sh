#!/usr/bin/env bash
# Install Request Tracker 5 from Debian's packages and serve a throwaway instance on a loopback
# port, for the `rt` test suite (tests/test_rt_live.py) and for trying `supportctl --backend rt`
# by hand.
#
#   tests/rt/setup_rt.sh            install if needed, configure, start, wait for REST2, mark it
#   tests/rt/setup_rt.sh --stop     stop the server this script started on that port
#
# Idempotent (each step is skipped when already done), non-interactive (debconf is
# preseeded), bounded in time (every wait has a limit), and it prints how long each step
# took. Needs root for the install and to read Debian's database settings. Environment:
#   SUPPORTCTL_RT_PORT      loopback port (default 8097)
#   SUPPORTCTL_RT_STATE     state root (default /tmp/supportctl-rt); everything of one port is
#                           in <state root>/<port>/: pid file, server log, the site config
#                           directory the server reads, the marker, a lock
# The login is root/password (RT's documented initial one, set through debconf).
#
# Per port, nothing shared: the server is started with RT_SITE_CONFIG_DIR=<state>/<port>/
# RT_SiteConfig.d, so RT reads that directory *instead of* /etc/request-tracker5/
# RT_SiteConfig.d (RT::Config::LoadConfig). It holds links to Debian's snippets there
# (database, timezone, logging) and 90-supportctl-test.pm with this port's settings; nothing
# under /etc is written. The database is Debian's one SQLite file, shared by every port.
#
# The marker: a random secret in <state>/<port>/marker, also written into the Description of
# the queue `supportctl-test-<port>` of the RT this script started (never into one it did not
# start). The live tests act only when both agree, so a real RT answering on the port is never
# touched; they create their tickets in queues of their own.
set -euo pipefail

PORT="${SUPPORTCTL_RT_PORT:-8097}"
STATE_ROOT="${SUPPORTCTL_RT_STATE:-/tmp/supportctl-rt}"
STATE="$STATE_ROOT/$PORT"
URL="http://127.0.0.1:${PORT}"
PASSWORD="password"
PACKAGES=(request-tracker5 rt5-db-sqlite rt5-standalone)
DEBIAN_CONFIG_DIR=/etc/request-tracker5/RT_SiteConfig.d
CONFIG_DIR="$STATE/RT_SiteConfig.d"
SITE_CONFIG_NAME=90-supportctl-test.pm
# Earlier versions of this script wrote this one file for every port (and every RT on the machine).
LEGACY_SITE_CONFIG="$DEBIAN_CONFIG_DIR/$SITE_CONFIG_NAME"
LEGACY_PIDFILE="$STATE_ROOT/rt-server.pid"
SERVER=/usr/share/request-tracker5/libexec/rt-server
PIDFILE="$STATE/rt-server.pid"
LOG="$STATE/rt-server.log"
MARKER="$STATE/marker"
QUEUE="supportctl-test-${PORT}"
HEADER="# Written by supportctl's tests/rt/setup_rt.sh"

step_started=0
step() { step_started=$(date +%s.%N); printf 'setup_rt: %s … ' "$1" >&2; }
done_step() {
    local now; now=$(date +%s.%N)
    awk -v a="$step_started" -v b="$now" -v m="${1:-done}" 'BEGIN { printf "%s (%.1f s)\n", m, b - a }' >&2
}
fail() { echo "setup_rt: error: $*" >&2; exit 1; }

[[ "$PORT" =~ ^[0-9]+$ ]] && (( PORT > 0 && PORT < 65536 )) || fail "SUPPORTCTL_RT_PORT=$PORT is not a port"

# The state holds the config a root server loads: it must be ours, not planted in /tmp.
for dir in "$STATE_ROOT" "$STATE"; do
    mkdir -p -m 755 "$dir"
    [[ -O "$dir" && ! -L "$dir" ]] || fail "$dir is not a directory owned by $(id -un)"
    chmod go-w "$dir"
done

# One setup (or stop) per port at a time; two test runs starting at once wait for each other.
exec 9> "$STATE/setup.lock"
flock -w 1300 9 || fail "another setup_rt.sh for port $PORT holds $STATE/setup.lock"

# The pid of a live rt-server started for this port by the given pid file, else nothing.
server_pid() {
    local file=$1 pid
    [[ -f "$file" ]] || return 0
    pid=$(cat "$file")
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 0
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "rt-server .*--port $PORT\b" && echo "$pid"
    return 0
}

stop_pidfile() {
    local file=$1 pid
    pid=$(server_pid "$file")
    if [[ -n "$pid" ]]; then
        kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$file"
}

# Whether what listens on the port is the server of our pid file (its process group).
listener_is_ours() {
    local pid; pid=$(server_pid "$PIDFILE")
    [[ -n "$pid" ]] || return 1
    local listeners
    listeners=$(ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u) || true
    [[ -n "$listeners" ]] || return 1
    local l
    for l in $listeners; do
        [[ "$(ps -o pgid= -p "$l" 2>/dev/null | tr -d ' ')" == "$pid" ]] || return 1
    done
}

# REST2 as root/password: `rest METHOD PATH [JSON]` prints "STATUS BODY" (000 when nothing answers).
rest() {
    python3 - "$URL/REST/2.0" "$PASSWORD" "$@" <<'PY'
import base64, sys, urllib.error, urllib.request
base, password, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
req = urllib.request.Request(base + path, data=body, method=method, headers={
    "Authorization": "Basic " + base64.b64encode(f"root:{password}".encode()).decode(),
    "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode(errors="replace"))
except Exception:
    print("000")
PY
}
rest_status() { rest GET /queues/all | head -1 | cut -d" " -f1; }

if [[ "${1:-}" == "--stop" ]]; then
    step "stopping rt-server on port $PORT"
    stop_pidfile "$PIDFILE"
    stop_pidfile "$LEGACY_PIDFILE"  # one an earlier version of this script started
    done_step
    exit 0
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

# 2. Site config of this port: Debian's snippets, then loopback URL, no web path, UTC, body search
step "writing $CONFIG_DIR"
if [[ -f "$LEGACY_SITE_CONFIG" ]] && head -1 "$LEGACY_SITE_CONFIG" | grep -qF "$HEADER"; then
    rm -f "$LEGACY_SITE_CONFIG"  # no longer read by our servers; it changed every RT on the machine
fi
next="$STATE/RT_SiteConfig.d.next"
rm -rf "$next"
mkdir -m 755 "$next"
for snippet in "$DEBIAN_CONFIG_DIR"/*.pm; do
    [[ -e "$snippet" ]] || continue
    [[ "$(basename "$snippet")" == 90-supportctl-test* ]] && continue
    ln -s "$snippet" "$next/$(basename "$snippet")"
done
cat > "$next/$SITE_CONFIG_NAME" <<PERL
$HEADER for port ${PORT}: a loopback RT for the rt test suite.
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, ${PORT});
Set(\$WebPath, '');
Set(\$WebBaseURL, '${URL}');
Set(\$Timezone, 'UTC');
Set(%FullTextSearch, Enable => 1, Indexed => 0);
Set(\$LogToSTDERR, 'warning');
1;
PERL
if [[ -d "$CONFIG_DIR" ]] && diff -r --no-dereference "$CONFIG_DIR" "$next" > /dev/null 2>&1; then
    rm -rf "$next"
    done_step "unchanged"
    config_changed=0
else
    rm -rf "$CONFIG_DIR"
    mv "$next" "$CONFIG_DIR"
    done_step "written"
    config_changed=1
fi

# 3. Server -------------------------------------------------------------------------------------
step "starting rt-server on $URL"
status=$(rest_status)
if [[ "$status" != "000" ]] && ! listener_is_ours; then
    hint="choose another SUPPORTCTL_RT_PORT"
    [[ -n "$(server_pid "$LEGACY_PIDFILE")" ]] \
        && hint="an earlier version of this script started it: stop it with this script's --stop"
    fail "port $PORT is answered by a server this script did not start ($hint)"
elif [[ "$status" != "000" && $config_changed -eq 0 ]]; then
    done_step "already answering ($status)"
else
    stop_pidfile "$PIDFILE"
    [[ $(rest_status) == "000" ]] || fail "port $PORT is taken by a process this script did not start"
    # Its own session and process group; fd 9 (the setup lock) is not passed on.
    RT_SITE_CONFIG_DIR="$CONFIG_DIR" setsid "$SERVER" --host 127.0.0.1 --port "$PORT" \
        > "$LOG" 2>&1 < /dev/null 9>&- &
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
        echo "$PASSWORD" | RT_SITE_CONFIG_DIR="$CONFIG_DIR" rt-passwd root > /dev/null
        reset_done=1
        continue
    fi
    if [[ -z "$(server_pid "$PIDFILE")" ]]; then
        tail -20 "$LOG" >&2; fail "rt-server exited (log: $LOG)"
    fi
    (( $(date +%s) < deadline )) || { tail -20 "$LOG" >&2 || true; fail "REST2 did not answer 200 within 120 s (last: $status)"; }
    sleep 0.5
done
listener_is_ours || fail "what answers on port $PORT is not the server this script started"
done_step "ready"

# 5. The test queue and the marker --------------------------------------------------------------
step "marking this RT (queue $QUEUE, $MARKER)"
if [[ ! -s "$MARKER" ]]; then
    python3 -c 'import secrets; print(secrets.token_hex(16))' > "$MARKER.next"
    chmod 644 "$MARKER.next"
    mv "$MARKER.next" "$MARKER"
fi
python3 - "$URL/REST/2.0" "$PASSWORD" "$QUEUE" "$(cat "$MARKER")" "$PORT" <<'PY' \
    || fail "could not write the marker into queue $QUEUE"
import base64, json, sys, urllib.error, urllib.parse, urllib.request
base, password, queue, secret, port = sys.argv[1:6]
description = f"supportctl tests (tests/rt/setup_rt.sh, port {port}); marker {secret}"
auth = "Basic " + base64.b64encode(f"root:{password}".encode()).decode()

def rest(method, path, doc=None):
    req = urllib.request.Request(
        base + path, method=method, data=None if doc is None else json.dumps(doc).encode(),
        headers={"Authorization": auth, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None

status, doc = rest("GET", "/queue/" + urllib.parse.quote(queue, safe=""))
if status == 404:
    status, doc = rest("POST", "/queue", {"Name": queue, "Description": description})
    if status != 201:
        sys.exit(f"POST /queue answered {status}")
    print("created", file=sys.stderr, end=" ")
elif status != 200:
    sys.exit(f"GET /queue/{queue} answered {status}")
elif doc.get("Description") != description or str(doc.get("Disabled")) != "0":
    status, _ = rest("PUT", f"/queue/{doc['id']}", {"Description": description, "Disabled": 0})
    if status != 200:
        sys.exit(f"PUT /queue/{doc['id']} answered {status}")
    print("updated", file=sys.stderr, end=" ")
PY
done_step "marked"

awk -v a="$total_started" -v b="$(date +%s.%N)" -v u="$URL" -v q="$QUEUE" \
    'BEGIN { printf "setup_rt: RT is up at %s (REST2 under /REST/2.0, root/password, test queue %s) in %.1f s\n", u, q, b - a }' >&2
