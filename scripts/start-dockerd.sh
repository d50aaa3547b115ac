#!/usr/bin/env bash
# Start dockerd when it is not answering. Uses the service manager when there is one
# (systemd), and otherwise runs dockerd as a background process logging to /var/log/dockerd.log.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ -d /run/systemd/system ]; then
  systemctl start docker
else
  if [ -S /var/run/docker.sock ] && ! pgrep -x dockerd >/dev/null; then
    rm -f /var/run/docker.sock   # stale socket from a dockerd that died
  fi
  if ! pgrep -x dockerd >/dev/null; then
    echo "==> starting dockerd (log: /var/log/dockerd.log)"
    setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
  fi
fi

for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "start-dockerd: dockerd did not answer within 30 s; see /var/log/dockerd.log" >&2
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
