#!/bin/sh
# Runs inside the image when the kernel command line has kiosk.screentest
# (kiosk-screentest.service): the REAL app runs on the virtual screen and
# hardware/image/screen-test.py on the host looks at it (QMP screendump) and taps it
# (usb-tablet). This side only reports on the serial console, as "SCREENTEST ..." lines:
# when the app is ready, the app's journal as it is written, the DRM state, and every
# ticket the stand-in printer renders (PNG, base64 on one line).
say() { echo "SCREENTEST $*"; }
prop() { systemctl show -P "$2" "$1"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

journalctl -b -f -n all -o short-monotonic -u kiosk.service | sed -u 's/^/SCREENTEST-LOG /' &

i=0
while [ "$(prop kiosk.service ActiveState)" != active ] && [ $i -lt 900 ]; do
  sleep 1; i=$((i+1))
done
pid=$(prop kiosk.service MainPID)
say "ready $(prop kiosk.service ActiveState) after $(uptime_s) s of uptime; status: $(prop kiosk.service StatusText); app: $(tr '\0' ' ' < /proc/"$pid"/cmdline 2>/dev/null)"
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
for f in /sys/kernel/debug/dri/0/clients /sys/kernel/debug/dri/0/state /sys/kernel/debug/dri/0/framebuffer; do
  [ -r "$f" ] && sed "s|^|SCREENTEST-DRM $(basename "$f"): |" "$f"
done
for fd in /proc/"$pid"/fd/*; do
  case $(readlink "$fd") in */dri/*|*/input/*) say "fd $fd -> $(readlink "$fd")" ;; esac
done

out=/var/lib/ward-kiosk/var/printer
seen=""
while :; do
  for png in "$out"/*.png; do
    [ -e "$png" ] || continue
    case " $seen " in *" $png "*) continue ;; esac
    sleep 1  # the stand-in writes the PNG in one go; let it finish
    say "printed $(basename "$png") $(base64 -w0 "$png")"
    seen="$seen $png"
  done
  sleep 2
done
