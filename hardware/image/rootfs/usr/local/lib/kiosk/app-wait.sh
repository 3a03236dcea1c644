#!/bin/sh
# ExecStartPre of kiosk.service (as root): the app needs the data partition (store, config,
# token). kiosk.service has no hard dependency on it, so a slow or late device does not make
# the unit fail "by dependency" and stay dead (Restart=always never retries that). Instead:
# wait for the mount up to KIOSK_DATA_WAIT s (default 60), asking systemd again for the mount
# (and so kiosk-data.service) and for provisioning when they did not run; if it is still not
# there, fail this try: Restart=always tries again after RestartSec.
data=/var/lib/ward-kiosk
wait=${KIOSK_DATA_WAIT:-60}
mount_unit=$(systemd-escape -p --suffix=mount "$data")
i=0
while ! mountpoint -q "$data"; do
  if [ $i = 0 ]; then
    echo "kiosk: waiting for the data partition ($data, $(systemctl show -P ActiveState kiosk-data.service) unlock)"
    systemctl start --no-block "$mount_unit"
  fi
  if [ $i -ge "$wait" ]; then
    echo "kiosk: the data partition is not mounted after ${wait} s: not starting the app; trying again" > "${KIOSK_CONSOLE:-/dev/console}" 2>/dev/null
    echo "kiosk: the data partition is not mounted after ${wait} s; trying again"
    exit 1
  fi
  sleep 2; i=$((i + 2))
done
# Provisioning (Wants= only) did not run when the data partition came late, and failed when
# it could not reach the back-office (an enrolment code is traded for the token over the
# network, but provisioning runs early, before the network is up): run it again now, at
# every try of the app until it succeeds (a bad file is refused again, changing nothing).
state=$(systemctl show -P ActiveState kiosk-provision.service)
if [ "$state" != active ]; then
  echo "kiosk: provisioning is $state (data partition late, or the back-office not reached at boot): running it again"
  systemctl start kiosk-provision.service || echo "kiosk: provisioning failed again; the app starts with the last good configuration"
fi
exit 0
