#!/bin/sh
# Runs inside a TEST image at every boot when the kernel command line has kiosk.fleettest
# (kiosk-fleettest.service; hardware/image/boot-test.sh --fleet drives it). The bundles come
# on a second disk labelled KIOSK-FLEET (expect.env names their versions). One step per boot,
# the step kept on the data partition (it survives reboots and slot changes):
#   start        slot A, v1: a bundle signed by another CA is refused; install v2 (as the
#                kiosk user, through RAUC's D-Bus API), ask for a reboot (/run/kiosk/reboot-request)
#   installed-v2 slot B, v2, blessed (booted, marked good); install v3 (whose app never gets
#                ready), reboot
#   (v3 boots)   slot A, v3 on trial: report only; kiosk-ready-gate reboots it until its tries
#                are used up and systemd-boot falls back to slot B
#   installed-v3 slot B, v2 again: A (v3) is bad. "FLEETTEST RESULT PASS|FAIL", power off.
failed=0
check() { name=$1; shift; if "$@"; then say "$name PASS $detail"; else say "$name FAIL $detail"; failed=1; fi; }
as_kiosk() { runuser -u kiosk -- "$@"; }
STATE=/var/lib/ward-kiosk/fleettest
BUNDLES=/run/fleettest
mkdir -p "$BUNDLES"
# shellcheck source=fleet-common.sh
. /usr/local/lib/kiosk/fleet-common.sh
i=0; while [ ! -b /dev/disk/by-label/KIOSK-FLEET ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done
mountpoint -q "$BUNDLES" || mount -o ro /dev/disk/by-label/KIOSK-FLEET "$BUNDLES" || say "cannot mount the bundle disk"
# shellcheck source=/dev/null
. "$BUNDLES/expect.env"
i=0; while [ "$(systemctl is-active kiosk.service)" != active ] && [ $i -lt 600 ]; do sleep 2; i=$((i+2)); done
if [ "$(systemctl is-active kiosk.service)" != active ]; then
  say "boot $boot: kiosk not ready after $(up) s ($(systemctl show -P StatusText kiosk.service))"
  exit 0
fi
say "boot $boot: kiosk ready at $(up) s ($version)"
# A counted boot is blessed once boot-complete.target is reached (systemd-bless-boot).
if systemctl list-units --all --plain --no-legend systemd-bless-boot.service | grep -q .; then
  i=0; while [ "$(systemctl is-active systemd-bless-boot.service)" != active ] && [ $i -lt 120 ]; do sleep 1; i=$((i+1)); done
  say "boot $boot: systemd-bless-boot $(systemctl is-active systemd-bless-boot.service) at $(up) s; $(systemctl status --no-pager -n 3 systemd-bless-boot.service 2>&1 | grep -a -o 'Marked boot as.*' | head -1)"
fi
say "boot $boot: loader entries: $(find /boot/efi/loader/entries -name '*.conf' -printf '%f ')"
out=$(rauc_summary)
say "boot $boot: rauc status (as kiosk): $(printf '%s\n' "$out" | head -1)"
# "<booted> <primary> <A's boot_status> <B's boot_status>"
summary=$(printf '%s\n' "$out" | tail -1)
say "boot $boot: booted primary A-status B-status: $summary"
install() { # bundle; prints the time taken
  t0=$(up)
  as_kiosk rauc install "$BUNDLES/$1" > "/run/install-$1.log" 2>&1
  rc=$?
  detail=$(tail -3 "/run/install-$1.log" | tr '\n' ' ')
  detail="$1 in $(python3 -c "print(round($(up) - $t0, 1))") s: $detail"
  return $rc
}
reboot_now() { say "boot $boot: asking for a reboot (as kiosk: /run/kiosk/reboot-request) at $(up) s"; sync; as_kiosk touch /run/kiosk/reboot-request; sleep 600; }
step=$(cat "$STATE/step" 2>/dev/null || echo start)
case $step in
  start)
    detail="slot $slot version $version (want A $V1)"
    check v1-on-slot-A [ "$slot" = A ] && [ "$version" = "$V1" ]
    detail=""; as_kiosk rauc install "$BUNDLES/foreign.raucb" > /run/foreign.log 2>&1; rc=$?
    detail="exit $rc: $(grep -a -i -o 'signature.*' /run/foreign.log | head -1)"
    check foreign-bundle-refused [ $rc != 0 ] && grep -a -q -i 'signature' /run/foreign.log
    check install-v2 install v2.raucb
    echo installed-v2 > "$STATE/step"; sync
    [ $failed = 0 ] && reboot_now ;;
  installed-v2)
    detail="slot $slot version $version; rauc: $summary"
    check v2-on-slot-B [ "$slot" = B ] && [ "$version" = "$V2" ]
    check v2-marked-good [ "$summary" = "B B good good" ]
    check install-v3-broken install v3.raucb
    echo installed-v3 > "$STATE/step"; sync
    [ $failed = 0 ] && reboot_now ;;
  installed-v3)
    detail="slot $slot version $version after $boot boots; rauc: $summary; journal of earlier boots: $(journalctl -q -b -1 -u kiosk-ready-gate.service -o cat 2>/dev/null | tail -1)"
    check rolled-back-to-v2-on-B [ "$slot" = B ] && [ "$version" = "$V2" ]
    check v3-slot-A-bad [ "$summary" = "B B bad good" ] ;;
esac
if [ $failed = 0 ]; then say "RESULT PASS"; else say "RESULT FAIL"; fi
sync
systemctl poweroff --no-block
