#!/bin/sh
# RAUC's custom bootloader backend (/etc/rauc/system.conf): systemd-boot with boot counting.
#   rauc-bootloader.sh get-primary | set-primary SLOT | get-state SLOT | set-state SLOT good|bad
# One loader entry per slot on the ESP, /loader/entries/kiosk-<generation>-<slot>[+T[-D]].conf,
# with the slot's own kernel and initramfs in /<slot>/ (copied from the slot's /boot when it
# becomes primary). systemd-boot sorts entries with tries left before those without, then by
# name, newest generation first, and boots the first (loader.conf: default kiosk-*):
#   set-primary X   copies X's kernel, writes kiosk-<newest+1>-x+T.conf (T = KIOSK_BOOT_TRIES):
#                   X boots next, on trial; systemd-boot counts tries down (+2-1, +1-2, +0-3)
#                   and systemd-bless-boot renames it kiosk-<g>-x.conf when boot-complete.target
#                   is reached (kiosk-ready-gate.service); +0 = bad, sorted last: the other slot
#   get-primary     the slot of the first entry in systemd-boot's order
#   get-state X     good if X has an entry with tries left (or blessed), else bad
#   set-state X bad    renames X's entry to +0 (RAUC does this before writing a slot)
#   set-state X good   drops X's counter (blessed)
set -eu
# shellcheck source=/dev/null
[ -r /etc/kiosk/update.env ] && . /etc/kiosk/update.env
TRIES=${KIOSK_BOOT_TRIES:-3}
ESP=${KIOSK_ESP:-/boot/efi}   # KIOSK_ESP, KIOSK_SLOT_TREES: for the tests only
ENTRIES=$ESP/loader/entries
die() { echo "rauc-bootloader: $*" >&2; exit 1; }
lower() { echo "$1" | tr 'AB' 'ab'; }
slotdev() { echo "/dev/disk/by-partlabel/kiosk-root-$(lower "$1")"; }
# "<bad 0|1> <generation> <slot> <file>" per entry, in systemd-boot's order.
entries() {
  for f in "$ENTRIES"/kiosk-*.conf; do
    [ -e "$f" ] || continue
    name=${f##*/}; name=${name%.conf}
    counter=""; case $name in *+*) counter=${name#*+}; name=${name%%+*} ;; esac
    gen=${name#kiosk-}; gen=${gen%-*}; slot=${name##*-}
    bad=0; case $counter in 0|0-*) bad=1 ;; esac
    echo "$bad $gen $slot ${f##*/}"
  done | sort -k1,1n -k2,2nr
}
entry_of() { entries | awk -v s="$(lower "$1")" '$3 == s { print $4; exit }'; }
ls "$ENTRIES" >/dev/null 2>&1 || die "no loader entries under $ENTRIES (is the ESP mounted?)"
cmd=${1:-}; slot=${2:-}
case $cmd in
  get-primary)
    first=$(entries | head -1)
    [ -n "$first" ] || die "no kiosk loader entry"
    echo "$first" | awk '{ print toupper($3) }' ;;
  get-state)
    line=$(entries | awk -v s="$(lower "$slot")" '$3 == s' | head -1)
    if [ -n "$line" ] && [ "${line%% *}" = 0 ]; then echo good; else echo bad; fi ;;
  set-state)
    f=$(entry_of "$slot")
    [ -n "$f" ] || { [ "$3" = bad ] && exit 0; die "slot $slot has no loader entry"; }
    base=${f%%+*}; base=${base%.conf}
    case $3 in
      good) new=$base.conf ;;
      bad) new=$base+0.conf ;;
      *) die "set-state: good or bad, not $3" ;;
    esac
    [ "$f" = "$new" ] || mv "$ENTRIES/$f" "$ENTRIES/$new"
    sync ;;
  set-primary)
    s=$(lower "$slot")
    case $s in a|b) ;; *) die "unknown slot $slot" ;; esac
    top=$(entries | sort -k2,2nr | awk 'NR == 1 { print $2 }')
    gen=$(( ${top:-0} + 1 ))
    if [ -n "${KIOSK_SLOT_TREES:-}" ]; then
      mnt=$KIOSK_SLOT_TREES/$s   # tests: the slot's tree as a folder
    else
      mnt=$(mktemp -d /run/rauc-bootloader.XXXXXX)
      mount -o ro "$(slotdev "$slot")" "$mnt"
      trap 'umount "$mnt"; rmdir "$mnt"' EXIT
    fi
    kver=$(find "$mnt/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)
    if [ ! -f "$mnt/boot/vmlinuz-$kver" ] || [ ! -f "$mnt/boot/initrd.img-$kver" ]; then
      die "slot $slot has no kernel/initramfs $kver in /boot"
    fi
    mkdir -p "$ESP/$s"
    cp "$mnt/boot/vmlinuz-$kver" "$ESP/$s/vmlinuz.new"
    cp "$mnt/boot/initrd.img-$kver" "$ESP/$s/initrd.img.new"
    mv "$ESP/$s/vmlinuz.new" "$ESP/$s/vmlinuz"
    mv "$ESP/$s/initrd.img.new" "$ESP/$s/initrd.img"
    # The slot's own command line, with its root and slot name; test flags of the running
    # boot (kiosk.fleettest, kiosk.fleetapp, kiosk.boottest) carry over.
    opts=$(sed -e 's/#.*//' "$mnt/etc/kiosk/cmdline.txt" | tr -s ' \n' ' ' \
      | sed -e "s/root=[^ ]*/root=PARTLABEL=kiosk-root-$s/" -e "s/rauc\.slot=[^ ]*/rauc.slot=$(echo "$s" | tr ab AB)/" -e 's/ $//')
    for w in $(tr -s ' \n' '  ' < /proc/cmdline); do
      case $w in kiosk.fleettest*|kiosk.fleetapp*|kiosk.boottest*) opts="$opts $w" ;; esac
    done
    version=$(cut -d' ' -f1 "$mnt/opt/kiosk/VERSION")
    for old in $(entries | awk -v s="$s" '$3 == s { print $4 }'); do rm -f "$ENTRIES/$old"; done
    printf 'title Ward kiosk %s (slot %s)\nversion %s\nlinux /%s/vmlinuz\ninitrd /%s/initrd.img\noptions %s\n' \
      "$version" "$(echo "$s" | tr ab AB)" "$version" "$s" "$s" "$opts" > "$ENTRIES/kiosk-$gen-$s+$TRIES.conf.new"
    mv "$ENTRIES/kiosk-$gen-$s+$TRIES.conf.new" "$ENTRIES/kiosk-$gen-$s+$TRIES.conf"
    sync
    echo "rauc-bootloader: slot $slot ($version) boots next, on trial: kiosk-$gen-$s+$TRIES.conf" >&2 ;;
  *) die "usage: get-primary | set-primary SLOT | get-state SLOT | set-state SLOT good|bad" ;;
esac
