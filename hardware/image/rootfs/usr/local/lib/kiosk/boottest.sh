#!/bin/sh
# Runs inside the image when the kernel command line has kiosk.boottest (kiosk-boottest.service).
# Every finding is one "BOOTTEST <check> PASS|FAIL <evidence>" line on the serial console;
# hardware/image/boot-test.sh on the host reads them. Ends with "BOOTTEST RESULT ..." and
# powers the machine off.
failed=0
say() { echo "BOOTTEST $*"; }
check() { name=$1; shift; if "$@"; then say "$name PASS $detail"; else say "$name FAIL $detail"; failed=1; fi; }
prop() { systemctl show -P "$2" "$1"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# 1. The kiosk service reached ready (Type=notify: active means READY=1 was sent).
i=0
while [ "$(prop kiosk.service ActiveState)" != active ] && [ $i -lt 600 ]; do
  [ "$(prop kiosk.service ActiveState)" = failed ] && break
  sleep 1; i=$((i+1))
done
detail="after $(uptime_s) s of uptime; status: $(prop kiosk.service StatusText)"
check kiosk-ready [ "$(prop kiosk.service ActiveState)" = active ]
app_cmd=$(tr '\0' ' ' < /proc/"$(prop kiosk.service MainPID)"/cmdline 2>/dev/null)
detail="app: $app_cmd"
ok=false; case "$app_cmd" in *"-m kiosk.service --standin"*) ok=true ;; esac
check kiosk-standin $ok

# 2. The app started only after the clock was synchronised.
sync_at=$(prop time-sync.target ActiveEnterTimestampMonotonic)
app_at=$(prop kiosk.service ExecMainStartTimestampMonotonic)
detail="time-sync.target at ${sync_at} us, kiosk started at ${app_at} us (monotonic); synchronized flag: $(ls /run/systemd/timesync/synchronized 2>&1)"
ok=false; [ -e /run/systemd/timesync/synchronized ] && [ "$sync_at" -gt 0 ] && [ "$app_at" -ge "$sync_at" ] && ok=true
check clock-before-app $ok

# 3. The root is read-only: an overlay on tmpfs over the ext4 root mounted ro.
root_fs=$(findmnt -n -o FSTYPE /)
lower=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS /media/root-ro)
detail="/ is $root_fs; lower: $lower"
check root-overlay [ "$root_fs" = overlay ]
detail="lower root options: $(findmnt -n -o OPTIONS /media/root-ro)"
check root-lower-ro sh -c 'findmnt -n -o OPTIONS /media/root-ro | grep -q "^ro,"'
detail="touch on the lower root: $(touch /media/root-ro/boottest 2>&1 || true)"
check root-write-refused [ ! -e /media/root-ro/boottest ]

# 4. Data partition writable and persistent journal on it.
detail="$(findmnt -n -o SOURCE,FSTYPE,OPTIONS /var/lib/ward-kiosk); journal: $(findmnt -n -o SOURCE /var/log/journal)"
check data-rw sh -c 'findmnt -n -o OPTIONS /var/lib/ward-kiosk | grep -q "^rw," && touch /var/lib/ward-kiosk/.boottest'

# 5. Provisioning applied at first boot.
detail="hostname $(hostname); $(tr -d '\n' < /var/lib/ward-kiosk/provisioned/applied.json 2>/dev/null | cut -c1-200)"
ok=false; [ -e /var/lib/ward-kiosk/provisioned/applied.json ] && [ -e /var/lib/ward-kiosk/config/kiosk.toml ] && [ ! -e /var/lib/ward-kiosk/provisioned/last-error.txt ] && ok=true
check provisioned $ok

# 6. Screen and devices: no getty, no blanking, pcscd, memory limit, watchdog set.
detail="getty@tty1: $(systemctl is-active getty@tty1.service); autovt@tty1: $(systemctl is-active autovt@tty1.service)"
check no-getty sh -c '! systemctl is-active -q getty@tty1.service && ! systemctl is-active -q autovt@tty1.service'
detail="consoleblank=$(cat /sys/module/kernel/parameters/consoleblank)"
check no-blanking [ "$(cat /sys/module/kernel/parameters/consoleblank)" = 0 ]
detail="pcscd.socket enabled=$(systemctl is-enabled pcscd.socket) active=$(systemctl is-active pcscd.socket); readers via health: $(grep -A2 card_reader /var/lib/ward-kiosk/health.json | tr -d '\n ' | cut -c1-80)"
check pcscd [ "$(systemctl is-enabled pcscd.socket)" = enabled ]
detail="MemoryMax=$(prop kiosk.service MemoryMax) WatchdogUSec=$(prop kiosk.service WatchdogUSec) Restart=$(prop kiosk.service Restart)"
ok=false; [ "$(prop kiosk.service MemoryMax)" != infinity ] && [ "$(prop kiosk.service Restart)" = always ] && ok=true
check unit-limits $ok

# 7. The watchdog restarts a hung app: freeze it (SIGSTOP; it stops pinging, as a hung UI
#    loop would) and wait for systemd to kill and restart it.
pid=$(prop kiosk.service MainPID); before=$(prop kiosk.service NRestarts)
kill -STOP "$pid"; hung_at=$(uptime_s)
say "watchdog: froze the app (pid $pid, NRestarts=$before) at $hung_at s"
i=0
while [ $i -lt 120 ]; do
  sleep 1; i=$((i+1))
  now_pid=$(prop kiosk.service MainPID)
  if [ "$(prop kiosk.service NRestarts)" -gt "$before" ] && [ "$now_pid" != "$pid" ] && [ "$now_pid" != 0 ] \
     && [ "$(prop kiosk.service ActiveState)" = active ]; then break; fi
done
detail="new pid $(prop kiosk.service MainPID), NRestarts=$(prop kiosk.service NRestarts), ready again $(echo "$(uptime_s) $hung_at" | awk '{printf "%.0f", $1-$2}') s after the freeze; journal: $(journalctl -u kiosk.service -b --no-pager -o cat | grep -m1 -i 'watchdog timeout')"
ok=false; [ "$(prop kiosk.service NRestarts)" -gt "$before" ] && [ "$(prop kiosk.service MainPID)" != "$pid" ] && [ "$(prop kiosk.service ActiveState)" = active ] && ok=true
check watchdog-restart $ok

/usr/local/sbin/kiosk-health | sed 's/^/BOOTTEST-HEALTH /'
if [ $failed = 0 ]; then say "RESULT PASS"; else say "RESULT FAIL"; fi
sync
systemctl poweroff --no-block
