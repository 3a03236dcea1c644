#!/bin/sh
# kiosk-ready-gate.service: this boot is on trial (systemd-boot counts it). Wait until
# kiosk.service is active (Type=notify: the app said READY=1); then boot-complete.target is
# reached and systemd-bless-boot marks the loader entry good. Not in time: exit 1, and the
# unit's FailureAction=reboot reboots: one try used; with none left systemd-boot falls back
# to the other slot (docs/image.md "Update").
timeout=${KIOSK_READY_TIMEOUT:-300}
entry=$(dd if=/sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f bs=4096 2>/dev/null | tail -c +5 | tr -d '\000')
echo "kiosk-ready-gate: boot on trial (${entry:-unknown entry}): kiosk.service must be ready within ${timeout} s"
start=$(cut -d. -f1 /proc/uptime)
while :; do
  if [ "$(systemctl is-active kiosk.service)" = active ]; then
    echo "kiosk-ready-gate: kiosk ready after $(( $(cut -d. -f1 /proc/uptime) - start )) s: this boot is good"
    exit 0
  fi
  if [ $(( $(cut -d. -f1 /proc/uptime) - start )) -ge "$timeout" ]; then
    echo "kiosk-ready-gate: kiosk.service not ready after ${timeout} s ($(systemctl show -P StatusText kiosk.service)): rebooting; this slot has one try less"
    exit 1
  fi
  sleep 2
done
