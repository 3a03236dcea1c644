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
DATA_DEV=/dev/disk/by-partlabel/kiosk-data
MARKER=/var/lib/ward-kiosk/store/boottest-marker.txt
mode=first
case " $(cat /proc/cmdline) " in
  *" kiosk.boottest=second "*) mode=second ;;
  *" kiosk.boottest=notpm "*) mode=notpm ;;
  *" kiosk.boottest=notpm-allowed "*) mode=notpm-allowed ;;
esac
finish() {
  /usr/local/sbin/kiosk-health | sed 's/^/BOOTTEST-HEALTH /'
  if [ $failed = 0 ]; then say "RESULT PASS"; else say "RESULT FAIL"; fi
  sync
  systemctl poweroff --no-block
  exit 0
}
# The data partition: LUKS2 with one key slot (the TPM2's) and the systemd-tpm2 token,
# open as /dev/mapper/kiosk-data and mounted from there.
check_data_encrypted() {
  cryptsetup luksDump "$DATA_DEV" | grep -E '^(Version|Keyslots|Tokens)|^ +[0-9]+: (luks2|systemd-tpm2)|tpm2-pcrs|Cipher:' \
    | sed 's/^/BOOTTEST-LUKS /'
  slots=$(cryptsetup luksDump "$DATA_DEV" | sed -n '/^Keyslots:/,/^Tokens:/p' | grep -c '^ *[0-9]*: luks2')
  detail="$(cryptsetup luksDump "$DATA_DEV" | grep -m1 '^Version:' | tr -s '\t ' ' '); key slots: $slots; tokens: $(cryptsetup luksDump "$DATA_DEV" | sed -n '/^Tokens:/,/^Digests:/p' | grep -o 'systemd-tpm2' | tr '\n' ' ')"
  ok=false
  cryptsetup luksDump "$DATA_DEV" | grep -q '^Version:[[:space:]]*2$' && [ "$slots" = 1 ] \
    && cryptsetup luksDump "$DATA_DEV" | grep -q 'systemd-tpm2' && ok=true
  check data-luks2 $ok
  detail="$(findmnt -n -o SOURCE,FSTYPE /var/lib/ward-kiosk); $(cryptsetup status kiosk-data | grep -E '^ *(type|cipher|device):' | tr -s ' \n' ' '); kiosk-data.service: $(cat /run/kiosk/data.txt)"
  ok=false
  [ "$(findmnt -n -o SOURCE /var/lib/ward-kiosk)" = /dev/mapper/kiosk-data ] \
    && cryptsetup status kiosk-data | grep -q 'type: *LUKS2' && ok=true
  check data-unlocked $ok
}

if [ $mode = notpm ]; then
  # No TPM and no allow_no_tpm: the data partition is refused, nothing mounted, no app.
  i=0
  while [ "$(prop kiosk-data.service ActiveState)" != failed ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done
  detail="kiosk-data.service: $(prop kiosk-data.service ActiveState); says: $(cat /run/kiosk/data.txt 2>&1)"
  ok=false; [ "$(prop kiosk-data.service ActiveState)" = failed ] && grep -q '^REFUSED: this kiosk has no TPM2' /run/kiosk/data.txt && ok=true
  check data-refused-without-tpm $ok
  detail="/var/lib/ward-kiosk: $(findmnt -n -o SOURCE /var/lib/ward-kiosk || echo 'not mounted'); partition: $(blkid -o value -s TYPE "$DATA_DEV")"
  check data-not-mounted sh -c '! findmnt -n /var/lib/ward-kiosk >/dev/null'
  sleep 20
  detail="kiosk.service: $(prop kiosk.service ActiveState); kiosk-provision.service: $(prop kiosk-provision.service ActiveState)"
  ok=false; [ "$(prop kiosk.service ActiveState)" != active ] && [ "$(prop kiosk-provision.service ActiveState)" != active ] && ok=true
  check app-not-started $ok
  finish
fi

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

if [ $mode = notpm-allowed ]; then
  # No TPM, and provision.toml says allow_no_tpm: plain ext4 behind the linear mapping.
  detail="$(findmnt -n -o SOURCE,FSTYPE /var/lib/ward-kiosk); dm table: $(dmsetup table kiosk-data | cut -d' ' -f3); kiosk-data.service: $(cat /run/kiosk/data.txt)"
  ok=false
  [ "$(findmnt -n -o SOURCE /var/lib/ward-kiosk)" = /dev/mapper/kiosk-data ] && ! cryptsetup isLuks "$DATA_DEV" \
    && grep -q '^UNENCRYPTED: no TPM2; allowed' /run/kiosk/data.txt && ok=true
  check data-unencrypted-as-allowed $ok
  finish
fi
# The data partition is LUKS2 and was opened by the TPM2 without anyone typing anything.
check_data_encrypted
if [ $mode = second ]; then
  # Second boot of the same disk: the store written at the first boot is there.
  detail="$MARKER: $(head -c 60 "$MARKER" 2>&1); store holds $(find /var/lib/ward-kiosk/store -type f | wc -l) files"
  check data-kept-across-boots grep -q KIOSK-PLAINTEXT-MARKER "$MARKER"
  finish
fi
# A marker in the store (10,000 lines): readable through /dev/mapper/kiosk-data here, and the
# host then must not find it on the raw disk.
i=0; while [ $i -lt 10000 ]; do echo "KIOSK-PLAINTEXT-MARKER line $i"; i=$((i+1)); done > "$MARKER"
sync
seen=$(grep -a -c KIOSK-PLAINTEXT-MARKER /dev/mapper/kiosk-data)
detail="$seen marker lines seen through /dev/mapper/kiosk-data"
check data-marker-written [ "$seen" -gt 0 ]

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

finish
