#!/bin/sh
# (sourced, not run)
# Sourced by the fleet tests' in-image scripts (fleettest.sh, fleetapp.sh) with STATE set (a
# folder on the data partition: it survives reboots and slot changes). Counts this boot and
# says which slot, version and loader entry it is: "FLEETTEST boot N: slot …".
say() { echo "FLEETTEST $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
mkdir -p "$STATE"
echo x >> "$STATE/boots"
boot=$(wc -l < "$STATE/boots")
slot=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^rauc\.slot=//p')
version=$(cut -d' ' -f1 /opt/kiosk/VERSION)
entry=$(dd if=/sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f bs=4096 2>/dev/null | tail -c +5 | tr -d '\000')
say "boot $boot: slot $slot, version $version, loader entry ${entry:-?}, at $(up) s"
export boot slot version entry

# RAUC's status as the kiosk user sees it (D-Bus, as the app's adapter asks): the JSON on
# one line, then "<booted> <primary> <A's boot_status> <B's boot_status>" ("B B good good").
rauc_summary() {
  status=$(runuser -u kiosk -- rauc status --output-format=json 2>&1)
  printf '%s\n' "$status"
  printf '%s' "$status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
states = {}
for item in s["slots"]:
    for name, slot in item.items():
        states[slot["bootname"]] = slot.get("boot_status", "?")
prim = s.get("boot_primary") or "?"
prim = {"rootfs.0": "A", "rootfs.1": "B"}.get(prim, prim)
print(s.get("booted"), prim, states.get("A"), states.get("B"))' 2>&1
}
