#!/usr/bin/env bash
# Build the local test image swarmlet/demo:latest with `docker import` (there is no registry).
# A root filesystem of Debian's busybox-static: sh, cat, sleep, nc, nslookup, httpd, ...
# and /bin/demo-server, an HTTP server on port 80 whose page is the container's hostname.
# Rebuilt only when its inputs change (a content hash kept as an image label).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${DEMO_IMAGE:-swarmlet/demo:latest}
busybox=$(command -v busybox)

hash=$(cat "$busybox" "$here/build.sh" "$here/demo-server" | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{ index .Config.Labels "swarmlet.image.hash" }}' "$image" 2>/dev/null || true)
if [ "$have" = "$hash" ]; then
  exit 0
fi

echo "==> building $image"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,www,tmp,root,run,var/run}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/demo-server" "$root/bin/demo-server"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

tar -C "$root" -c . | docker import \
  --change 'CMD ["/bin/demo-server"]' \
  --change 'ENV PATH=/bin' \
  --change 'EXPOSE 80/tcp' \
  --change "LABEL swarmlet.image.hash=$hash" \
  - "$image" >/dev/null
