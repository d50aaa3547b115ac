#!/bin/sh
# Restart swarmletd under a supervisor that restarts what exits: SIGTERM the running agent
# (its pid file is in its data dir), then wait until a new one answers on its socket.
# Usage: restart-supervised.sh PIDFILE SOCKET
set -eu
pidfile=$1 socket=$2
# A socket file can outlive its server: only a successful connect says the agent is up.
answers() {
  python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
    "$socket" 2>/dev/null
}
old=$(cat "$pidfile" 2>/dev/null || true)
if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
  kill -TERM "$old"
  i=0
  while kill -0 "$old" 2>/dev/null; do
    i=$((i + 1)); [ $i -le 300 ] || { echo "swarmletd (pid $old) did not stop" >&2; exit 1; }
    sleep 0.1
  done
fi
i=0
while :; do
  new=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$new" ] && [ "$new" != "$old" ] && kill -0 "$new" 2>/dev/null && answers; then
    echo "swarmletd restarted (pid $new)"
    exit 0
  fi
  i=$((i + 1)); [ $i -le 600 ] || { echo "swarmletd did not come back within 60 s" >&2; exit 1; }
  sleep 0.1
done
