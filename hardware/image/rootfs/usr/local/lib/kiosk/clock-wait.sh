#!/bin/sh
# systemd-time-wait-sync.service (drop-in kiosk.conf): wait until timesyncd has synchronised
# the clock, at most KIOSK_CLOCK_WAIT s (/etc/kiosk/update.env, default 60; 0 = for ever).
# Either way exit 0: time-sync.target is reached and the kiosk app starts.
wait=${KIOSK_CLOCK_WAIT:-60}
if [ "$wait" = 0 ]; then exec "${KIOSK_TIME_WAIT_SYNC:-/lib/systemd/systemd-time-wait-sync}"; fi
timeout "$wait" "${KIOSK_TIME_WAIT_SYNC:-/lib/systemd/systemd-time-wait-sync}"
rc=$?
if [ $rc = 0 ]; then echo "kiosk-clock: the clock is synchronised"; exit 0; fi
echo "kiosk-clock: the clock is NOT synchronised after ${wait} s (no NTP server reached; status $rc): the kiosk starts on its real-time clock's time, timesyncd keeps trying"
exit 0
