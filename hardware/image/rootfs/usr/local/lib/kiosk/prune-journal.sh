#!/bin/sh
# The root is read-only, so every boot gets a new machine-id and journald opens a new
# folder in the persistent journal (data partition) and vacuums only that one. Drop the
# oldest boots' folders while the journal is over 48 MiB.
dir=${1:-/var/lib/ward-kiosk/journal}
limit_kib=${2:-49152}
current=${3:-$(cat /etc/machine-id 2>/dev/null)}
[ -d "$dir" ] || exit 0
while [ "$(du -sk "$dir" | cut -f1)" -gt "$limit_kib" ]; do
  oldest=$(find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name "${current:-none}" -printf '%T@ %f\n' \
           | sort -n | head -1 | cut -d' ' -f2)
  [ -n "$oldest" ] || break
  echo "prune-journal: removing the journal of an old boot ($oldest)"
  rm -rf "${dir:?}/$oldest"
done
