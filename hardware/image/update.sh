#!/usr/bin/env bash
# Updates a kiosk's disk on a workstation, offline (a kiosk updates itself with RAUC bundles:
# docs/image.md "Update"; this is the repair path): writes the new ESP (kernel, initramfs,
# boot loader, slot A's loader entry) and root slot A, and keeps the config partition
# (provision.toml) and the data partition (store, logs, journal) as they are. The kiosk then
# boots slot A; slot B's old contents stay but have no loader entry until the next update.
#
#   hardware/image/update.sh [--image DIR] [--yes] TARGET
#
#   TARGET   the kiosk's disk on the workstation (e.g. /dev/sdb, never a partition), or a
#            disk image file (how the tests and boot-test use it)
#   --image  the build output (default hardware/image/build/amd64)
# Refuses a target whose partition table is not the image's (another layout would need a
# full flash, which also erases the data partition: see docs/image.md).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
IMAGE=$HERE/build/amd64
YES=0
TARGET=""
while (($#)); do
  case "$1" in
    --image) IMAGE=$2; shift 2 ;;
    --yes) YES=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "update.sh: unknown option $1" >&2; exit 2 ;;
    *) TARGET=$1; shift ;;
  esac
done
[ -n "$TARGET" ] || { echo "update.sh: name the kiosk's disk (e.g. /dev/sdb)" >&2; exit 2; }
for f in disk.img esp.img root.img; do
  [ -e "$IMAGE/$f" ] || { echo "update.sh: $IMAGE/$f missing: run hardware/image/build.sh" >&2; exit 1; }
done
if [ -b "$TARGET" ] && lsblk -n -o MOUNTPOINT "$TARGET" | grep -q .; then
  echo "update.sh: $TARGET has mounted partitions; unmount them first" >&2; exit 1
fi

layout() { # "start size name" per partition
  sfdisk -J "$1" | python3 -c 'import json,sys
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    print(p["start"], p["size"], p.get("name", ""))'
}
want=$(layout "$IMAGE/disk.img")
have=$(layout "$TARGET" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "update.sh: $TARGET does not have the kiosk image's partition layout:" >&2
  diff <(echo "$want") <(echo "$have") >&2 || true
  exit 1
fi
if [ "$YES" != 1 ]; then
  read -r -p "Overwrite the ESP and root slot A (partitions 1-2) of $TARGET, keeping config and data? [y/N] " answer
  [ "$answer" = y ] || exit 1
fi
read -r esp_start _ <<<"$(sed -n 1p <<<"$want")"
read -r root_start _ <<<"$(sed -n 2p <<<"$want")"
dd if="$IMAGE/esp.img" of="$TARGET" bs=512 seek="$esp_start" conv=notrunc,fsync status=none
dd if="$IMAGE/root.img" of="$TARGET" bs=512 seek="$root_start" conv=notrunc,fsync status=none
sync
echo "update.sh: $TARGET now boots $(sed -n 's/^title //p' <(MTOOLS_SKIP_CHECK=1 mtype -i "$IMAGE/esp.img" ::/loader/entries/kiosk-1-a.conf)); config and data kept" >&2
