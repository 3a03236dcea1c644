#!/bin/sh
# Runs inside a TEST image at every boot when the kernel command line has kiosk.fleetapp
# (kiosk-fleetapp.service; hardware/image/boot-test.sh --fleet-app drives it). Unlike
# fleettest.sh it does nothing itself: the REAL kiosk app (kiosk.service, its [fleet]
# updater = "rauc" from provision.toml) downloads, installs and asks for the reboot. This
# only reports, as "FLEETTEST ..." lines: the slot, version and loader entry of this boot,
# whether the clock is synchronised and the network up, when the app got ready, the
# blessing of a boot on trial, RAUC's status, and the app's own "update:" log lines.
STATE=/var/lib/ward-kiosk/fleetapp
# shellcheck source=fleet-common.sh
. /usr/local/lib/kiosk/fleet-common.sh
journalctl -b -f -n all -o cat -u kiosk.service | grep --line-buffered -a -e 'update' -e 'back-office' -e 'Traceback' -e 'Error' \
  | sed -u -e "s/^/FLEETTEST-APP boot $boot: /" -e 's/^\(.\{400\}\).*/\1/' &
i=0; while [ "$(systemctl is-active kiosk.service)" != active ] && [ $i -lt 900 ]; do sleep 2; i=$((i+2)); done
say "boot $boot: kiosk $(systemctl is-active kiosk.service) at $(up) s ($version; $(systemctl show -P StatusText kiosk.service)); clock synchronised: $(timedatectl show -P NTPSynchronized 2>/dev/null); time-wait-sync: $(systemctl show -P Result systemd-time-wait-sync.service); $(journalctl -b -q -o cat -u systemd-time-wait-sync.service | grep -a 'kiosk-clock' | tail -1)"
if systemctl list-units --all --plain --no-legend systemd-bless-boot.service | grep -q .; then
  i=0; while [ "$(systemctl is-active systemd-bless-boot.service)" != active ] && [ $i -lt 400 ]; do sleep 1; i=$((i+1)); done
  say "boot $boot: systemd-bless-boot $(systemctl is-active systemd-bless-boot.service) at $(up) s; $(systemctl status --no-pager -n 3 systemd-bless-boot.service 2>&1 | grep -a -o 'Marked boot as.*' | head -1)"
fi
say "boot $boot: loader entries: $(find /boot/efi/loader/entries -name '*.conf' -printf '%f ')"
summary=$(rauc_summary | tail -1)
say "boot $boot: booted primary A-status B-status: $summary"
say "boot $boot: reported at $(up) s"
wait
