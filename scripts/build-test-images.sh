#!/usr/bin/env bash
# Builds the tiny images the Docker tests use, from local files only (no registry is reachable):
# Debian's static busybox with its applets, `httpd` serving /www on port 80, `nc` for TCP.
#
#   chaoskit-test/busybox:1   CMD busybox httpd -f -p 80 -h /www
#
# Idempotent and fast: the image carries a label with a hash of its inputs; when an image with
# that hash exists, nothing is done. Needs: docker, and /bin/busybox from busybox-static
# (apt-get install -y busybox-static).
set -euo pipefail

IMAGE=chaoskit-test/busybox:1
BUSYBOX=${BUSYBOX:-/bin/busybox}

if ! command -v docker >/dev/null 2>&1; then
  echo "build-test-images: docker is not installed (apt-get install -y docker.io)" >&2
  exit 1
fi
# The list is read whole first: `busybox --list | grep -q` under pipefail fails at random when grep
# exits early and busybox gets SIGPIPE.
applets=$("$BUSYBOX" --list 2>/dev/null || true)
if [[ ! -x $BUSYBOX ]] || ! grep -qx httpd <<<"$applets"; then
  echo "build-test-images: $BUSYBOX is not a busybox with httpd (apt-get install -y busybox-static)" >&2
  exit 1
fi
linkage=$(LC_ALL=C ldd "$BUSYBOX" 2>&1 || true)
if [[ $linkage != *"not a dynamic executable"* && $linkage != *"statically linked"* ]]; then
  echo "build-test-images: $BUSYBOX is dynamically linked; install busybox-static" >&2
  exit 1
fi

# The hash covers the binary and this script, so a change to either rebuilds.
hash=$( (sha256sum "$BUSYBOX" "$0" | cut -d' ' -f1) | sha256sum | cut -c1-16)
if [[ $(docker image inspect --format '{{ index .Config.Labels "chaoskit.test.hash" }}' "$IMAGE" 2>/dev/null) == "$hash" ]]; then
  echo "build-test-images: $IMAGE is up to date ($hash)"
  exit 0
fi

root=$(mktemp -d /tmp/chaoskit-image-XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,www,tmp,etc,proc,sys,dev}
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
done
echo ok >"$root/www/index.html"
echo ok >"$root/www/health"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/bin' \
  --change 'CMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]' \
  --change "LABEL chaoskit.test.hash=$hash" \
  - "$IMAGE" >/dev/null
echo "build-test-images: built $IMAGE ($hash)"
