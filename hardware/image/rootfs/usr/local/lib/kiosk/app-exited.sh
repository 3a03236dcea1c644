#!/bin/sh
# ExecStopPost of kiosk.service (as root): when the app ended on its own, put on the console
# (the serial port) how it ended and its last critical/error lines from this run, e.g.
#   kiosk: the app exited (status 3: cannot draw on the screen); restart 4; it said:
#   kiosk:   display: the kiosk app cannot draw on this machine's screen: no window ...
# A stop asked for (shutdown, systemctl stop) says nothing. systemd sets SERVICE_RESULT,
# EXIT_CODE and EXIT_STATUS for ExecStopPost.
[ "${SERVICE_RESULT:-success}" = success ] && [ "${EXIT_CODE:-exited}" = exited ] \
  && [ "${EXIT_STATUS:-0}" = 0 ] && exit 0
case "${EXIT_CODE:-}:${EXIT_STATUS:-}" in
  exited:3) why="status 3: cannot draw on the screen" ;;
  exited:*) why="status ${EXIT_STATUS:-?}" ;;
  *) why="${EXIT_CODE:-?} ${EXIT_STATUS:-?}" ;;
esac
restarts=$(systemctl show -P NRestarts kiosk.service 2>/dev/null)
console=${KIOSK_CONSOLE:-/dev/console}
{
  echo "kiosk: the app exited (${why}; ${SERVICE_RESULT:-?}); restarts so far: ${restarts:-?}; it said:"
  journalctl -b -q -o cat -p err -u kiosk.service -n 3 --no-pager 2>/dev/null \
    | cut -c1-300 | sed 's/^/kiosk:   /'
} > "$console" 2>/dev/null
exit 0
