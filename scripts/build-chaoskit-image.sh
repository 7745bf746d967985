#!/usr/bin/env bash
# Builds a local chaoskit image for the tests, equivalent to the Dockerfile's (Node 20, production
# dependencies, non-root user, `chaos` as entrypoint), from this machine's files only: no image
# registry is reachable here, so the root filesystem is assembled and `docker import`ed.
#
#   chaoskit-test/chaoskit:1   ENTRYPOINT node /app/bin/chaos.mjs, USER 10001
#
# The root filesystem: this machine's node binary and the shared libraries it links, and the
# project (bin, src, faults, reporters, scenarios, schemas, package.json) with the production
# dependencies from node_modules (`npm ls --omit=dev`). Idempotent: the image carries a hash of
# its inputs; when an image with that hash exists, nothing is done. Needs: docker, node, npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${CHAOSKIT_IMAGE:-chaoskit-test/chaoskit:1}
NODE=$(command -v node)
UID_=10001

if ! command -v docker >/dev/null 2>&1; then
  echo "build-chaoskit-image: docker is not installed (apt-get install -y docker.io)" >&2
  exit 1
fi
if [[ ! -d node_modules/tsx ]]; then
  echo "build-chaoskit-image: node_modules is missing: run npm ci first" >&2
  exit 1
fi

project=(package.json bin src faults reporters scenarios schemas)
# dist/ (built by `npm ci`) when it is fresh, so that containers start without compiling
# TypeScript; copied with its times kept, so bin/chaos.mjs still finds it fresh inside.
[[ -f dist/build-info.json ]] && project+=(dist)
# The hash covers node, the lock file, this script and every project file.
hash=$( (sha256sum "$NODE" package-lock.json "$0" && find "${project[@]}" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
if [[ $(docker image inspect --format '{{ index .Config.Labels "chaoskit.test.hash" }}' "$IMAGE" 2>/dev/null) == "$hash" ]]; then
  echo "build-chaoskit-image: $IMAGE is up to date ($hash)"
  exit 0
fi

# Production dependencies (their own nested node_modules travel inside them).
mapfile -t deps < <(npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$PWD/||" | grep '^node_modules/' | awk -F/node_modules/ 'NF == 1' | sort -u)
if ((${#deps[@]} == 0)); then
  echo "build-chaoskit-image: npm ls found no production dependencies" >&2
  exit 1
fi

root=$(mktemp -d /tmp/chaoskit-rootfs-XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/local/bin,app,tmp,etc,proc,sys,dev,home/chaos}
chmod 1777 "$root/tmp"
cp "$NODE" "$root/usr/local/bin/node"
# The dynamic loader and every library node links (copied with their paths, links resolved).
while read -r lib; do
  [[ -n $lib && -e $lib ]] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done < <(ldd "$NODE" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
cp -rp "${project[@]}" "$root/app/"
for d in "${deps[@]}"; do
  mkdir -p "$root/app/$(dirname "$d")"
  cp -r "$d" "$root/app/$d"
done
printf 'root:x:0:0:root:/root:/bin/false\nchaos:x:%s:%s:chaos:/home/chaos:/bin/false\n' "$UID_" "$UID_" >"$root/etc/passwd"
printf 'root:x:0:\nchaos:x:%s:\n' "$UID_" >"$root/etc/group"
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"

tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV PATH=/usr/local/bin NODE_ENV=production HOME=/home/chaos' \
  --change 'WORKDIR /app' \
  --change "USER $UID_" \
  --change 'EXPOSE 7070' \
  --change 'ENTRYPOINT ["/usr/local/bin/node", "/app/bin/chaos.mjs"]' \
  --change 'CMD ["--help"]' \
  --change "LABEL chaoskit.test.hash=$hash" \
  - "$IMAGE" >/dev/null
echo "build-chaoskit-image: built $IMAGE ($hash)"
