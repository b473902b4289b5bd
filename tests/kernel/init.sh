#!/bin/sh
# shellcheck disable=SC3043,SC2317  # busybox ash has local; the small functions run through wait_for
# /init of the real-kernel GPIO test VM (busybox sh, PID 1): run-gpio-sim.sh packs
# it with busybox, configfs.ko, gpio-sim.ko, the programs under test and their
# libraries. Every step prints "ANJU-KTEST: ..."; the host passes the run only on
# "ANJU-KTEST: PASS <nonce>". Every wait is bounded.
export PATH=/usr/local/bin:/bin
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=0755 run /run
mount -t tmpfs tmp /tmp
. /etc/ktest.env

say() { echo "ANJU-KTEST: $*"; }
T0=$(cut -d' ' -f1 /proc/uptime)
step() { echo "ANJU-KTEST: [$(awk -v t0="$T0" '{ printf "%6.2f", $1 - t0 }' /proc/uptime)] $*"; }

dump() {   # what a failure needs to be understood
  for f in /run/anjud.log /run/dsim.err /run/mosquitto.log /run/mon.out; do
    [ -s "$f" ] || continue
    echo "----- $f (last 60 lines)"
    tail -n 60 "$f"
  done
  if [ -s /run/dsim.out ]; then
    echo "----- calls received by the dispatch simulator (type, state, call)"
    jq -c '[.n, .status, .body.type, .body.state, .body.call]' /run/dsim.out 2>&1 | tail -n 20
  fi
  if [ -n "$SOCK" ] && [ -S "$SOCK" ]; then
    echo "----- anjuctl sensors / incidents"
    anjuctl -s "$SOCK" --json sensors 2>&1
    anjuctl -s "$SOCK" --json incidents 2>&1
  fi
  if [ -n "$GPIOBASE" ] && [ -r /sys/kernel/tracing/trace ]; then
    echo "----- gpio_value trace of the outputs (siren $((GPIOBASE + 3)), relay $((GPIOBASE + 4)))"
    grep -E "gpio_value: ($((GPIOBASE + 3))|$((GPIOBASE + 4))) set|tracing_mark" /sys/kernel/tracing/trace | tail -n 40
  fi
  [ -r /sys/kernel/debug/gpio ] && { echo "----- /sys/kernel/debug/gpio"; cat /sys/kernel/debug/gpio; }
  echo "----- /proc/interrupts (gpio-sim)"
  grep -i -E 'sim|anjud|gpiomon' /proc/interrupts
}
finish() {
  sync
  poweroff -f
  sleep 10
  exit 1   # poweroff failed: the kernel panics on init's exit and qemu (-no-reboot) stops
}
fail() {
  say "FAIL: $*"
  dump
  say "FAIL: $*"
  finish
}
# A last guard inside the VM (the host's timeout is the other one).
LIMIT=$(sed -n 's/.*ktest\.timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
( sleep $(( ${LIMIT:-420} - 15 )); echo "ANJU-KTEST: FAIL: the VM's own watchdog expired"; poweroff -f ) &

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s
wait_for() {
  local secs=$1 what=$2 n=0
  shift 2
  while ! "$@" >/dev/null 2>&1; do
    n=$((n + 1))
    [ $n -ge $((secs * 10)) ] && fail "timed out after ${secs} s waiting for $what"
    sleep 0.1
  done
}

step "kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s), $(awk '/MemTotal/ { print $2 / 1024 " MB" }' /proc/meminfo)"
ip link set lo up || fail "ip link set lo up"
insmod /lib/modules/configfs.ko || fail "insmod configfs.ko"
insmod /lib/modules/gpio-sim.ko || fail "insmod gpio-sim.ko"
mount -t configfs none /sys/kernel/config || fail "mount configfs"
mount -t debugfs none /sys/kernel/debug 2>/dev/null
mount -t tracefs none /sys/kernel/tracing 2>/dev/null
step "modules loaded: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"

# --- the simulated chip: one bank of 8 lines ------------------------------------------
CFS=/sys/kernel/config/gpio-sim/anju
mkdir $CFS || fail "mkdir $CFS (is gpio-sim loaded?)"
mkdir $CFS/bank0 || fail "mkdir $CFS/bank0"
echo 8 > $CFS/bank0/num_lines || fail "bank0/num_lines"
echo 1 > $CFS/live || fail "echo 1 > live"
CHIP=$(cat $CFS/bank0/chip_name)
DEV=$(cat $CFS/dev_name)
SIM=/sys/devices/platform/$DEV/$CHIP
[ -n "$CHIP" ] && [ -d "$SIM" ] || fail "no chip after live = 1 (chip '$CHIP', device '$DEV')"
GPIOBASE=$(sed -n "s/^$CHIP: GPIOs \([0-9]*\)-.*/\1/p" /sys/kernel/debug/gpio)
[ -n "$GPIOBASE" ] || fail "$CHIP not in /sys/kernel/debug/gpio (debugfs)"
[ -w /sys/kernel/tracing/events/gpio/gpio_value/enable ] || fail "no gpio_value trace event (tracefs)"
step "simulated chip $CHIP ($DEV, 8 lines, global numbers from $GPIOBASE)"

pull() { echo "pull-$2" > "$SIM/sim_gpio$1/pull" || fail "cannot set line $1's pull to $2"; }
level() { cat "$SIM/sim_gpio$1/value"; }
level_is() { [ "$(level "$1")" = "$2" ]; }
irq_armed() { grep -q "$1" /proc/interrupts; }

# --- stage 1: the VM itself, with the libgpiod tools --------------------------------
gpiodetect | grep -q "^$CHIP " || fail "gpiodetect does not list $CHIP"
pull 7 up
[ "$(gpioget "$CHIP" 7)" = 1 ] || fail "gpioget: line 7 pulled up does not read 1"
pull 7 down
[ "$(gpioget "$CHIP" 7)" = 0 ] || fail "gpioget: line 7 pulled down does not read 0"
gpiomon --num-events=1 --rising-edge "$CHIP" 6 > /run/mon.out 2>&1 &
MON=$!
wait_for 10 "gpiomon's interrupt in /proc/interrupts" irq_armed gpiomon
pull 6 up
wait_for 10 "gpiomon to report the rising edge of line 6" grep -q RISING /run/mon.out
pull 6 down
gpioset --mode=signal "$CHIP" 5=1 &
SET=$!
wait_for 10 "gpioset to drive line 5 high" level_is 5 1
kill $SET
wait $MON $SET 2>/dev/null
wait_for 10 "line 5 to return to its pull (0) once released" level_is 5 0
step "libgpiod tools: gpioget, gpiomon (edge), gpioset (output) work on $CHIP"
if [ "$ONLY" = smoke ]; then
  say "PASS $NONCE"
  finish
fi

# --- stage 2: anjud on the simulated lines ---------------------------------------------
# Inputs idle: door shut (contact closed = high), no smoke, button released.
pull 0 up
pull 1 down
pull 2 down
mkdir -p /run/anju
printf 'test-token-123\n' > /run/anju/token
printf 'test-hmac-key-0123456789\n' > /run/anju/key

cat > /run/mosquitto.conf <<EOF
listener 1883 127.0.0.1
allow_anonymous true
user root
persistence false
EOF
mosquitto -c /run/mosquitto.conf > /run/mosquitto.log 2>&1 &
MOSQ=$!
wait_for 20 "mosquitto to accept connections" mosquitto_pub -h 127.0.0.1 -p 1883 -t ktest/ping -m x
step "mosquitto on 127.0.0.1:1883 (pid $MOSQ)"

# A normal center: 201 with a case id, which acks the fire incident for the center
# ("dispatch" took charge); the siren must keep sounding until a person acks.
anju-dispatch-sim --port 0 --port-file /run/dsim.port --json \
  --expect-token /run/anju/token --verify-hmac-key /run/anju/key > /run/dsim.out 2>/run/dsim.err &
DSIM=$!
wait_for 20 "the dispatch simulator's port file" test -s /run/dsim.port
DPORT=$(cat /run/dsim.port)
step "dispatch simulator on 127.0.0.1:$DPORT (pid $DSIM)"

SOCK=/run/anju/ctl.sock
cat > /run/anju/anju.conf <<EOF
[hub]
id = ktest
language = en
timezone = Asia/Shanghai
database = /run/anju/anju.db
ctl_socket = $SOCK

[resident]
name = Ye Ayi
address = Doutan 3-2-301
risk = high
notes = lives alone

[mqtt]
host = 127.0.0.1
port = 1883
keepalive = 10s
reconnect_min = 50ms
reconnect_max = 400ms

[dispatch]
url = http://127.0.0.1:$DPORT/api/v1/alarms
token_file = /run/anju/token
hmac_key_file = /run/anju/key
retry_min = 100ms
retry_max = 400ms
timeout = 5s

[rule fall]
window = 2min

[sensor door]
kind = door
room = hall
gpio_chip = $CHIP
gpio_line = 0

[sensor kitchen_smoke]
kind = smoke
room = kitchen
gpio_chip = $CHIP
gpio_line = 1

[sensor cancel_button]
kind = button
role = cancel
room = bedroom
gpio_chip = $CHIP
gpio_line = 2

[sensor siren]
kind = siren
room = hall
gpio_chip = $CHIP
gpio_line = 3

[sensor charger_relay]
kind = relay
room = hall
gpio_chip = $CHIP
gpio_line = 4

[sensor band]
kind = wristband
topic = band/ye
EOF
anjud --check-config -c /run/anju/anju.conf > /run/check.out 2>&1 ||
  { cat -n /run/anju/anju.conf; cat /run/check.out; fail "anjud --check-config refuses the configuration"; }
step "anjud --check-config: $(tail -n1 /run/check.out)"

# A line another program holds: --check-config names it; anjud runs anyway,
# the sensor is offline with a device-health warning, the others work.
gpioset --mode=signal "$CHIP" 6=0 &
HOLD=$!
wait_for 10 "gpioset to hold line 6" sh -c "grep -q 'gpio-$((GPIOBASE + 6)) *(.*gpioset' /sys/kernel/debug/gpio"
sed -e "s#^database = .*#database = /run/anju/busy.db#" -e "s#^ctl_socket = .*#ctl_socket = /run/anju/busy.sock#" \
    -e '/^\[sensor kitchen_smoke\]/,$d' /run/anju/anju.conf > /run/anju/busy.conf
printf '[sensor bath_leak]\nkind = water\nroom = bathroom\ngpio_chip = %s\ngpio_line = 6\n' "$CHIP" >> /run/anju/busy.conf
if anjud --check-config -c /run/anju/busy.conf > /run/busy-check.out 2>&1; then
  cat /run/busy-check.out; fail "--check-config accepted a line held by gpioset"
fi
grep -q "\[sensor bath_leak\] gpio_chip: GPIO line 6 of \"$CHIP\" is used by another program (gpioset)" /run/busy-check.out ||
  { cat /run/busy-check.out; fail "--check-config did not name the busy line and its holder"; }
anjud -c /run/anju/busy.conf > /run/busy.log 2>&1 &
BUSY=$!
bctl() { anjuctl -s /run/anju/busy.sock --json "$@"; }
wait_for 60 "the second anjud's control socket" bctl status
wait_for 20 "bath_leak offline and the door online" sh -c "anjuctl -s /run/anju/busy.sock --json sensors |
  jq -e '(.sensors[] | select(.id == \"bath_leak\") | .online == false) and
         (.sensors[] | select(.id == \"door\") | .online == true)'"
wait_for 20 "a device-health warning for bath_leak" sh -c "anjuctl -s /run/anju/busy.sock --json incidents --open |
  jq -e '[.incidents[] | select(.type == \"device_health\" and .severity == \"warning\")] | length == 1'"
grep -q "gpio: sensor bath_leak ($CHIP:6) is not watched: GPIO line 6 of \"$CHIP\" is used by another program (gpioset)" /run/busy.log ||
  { cat /run/busy.log; fail "anjud did not log why bath_leak is not watched"; }
pull 0 down
wait_for 20 "the door (a good line) to be seen open beside the busy one" sh -c \
  "anjuctl -s /run/anju/busy.sock --json sensors | jq -e '.sensors[] | select(.id == \"door\") | .value == 1'"
pull 0 up
wait_for 20 "the door shut again" sh -c \
  "anjuctl -s /run/anju/busy.sock --json sensors | jq -e '.sensors[] | select(.id == \"door\") | .value == 0'"
kill -TERM $BUSY
wait $BUSY || fail "the second anjud did not exit cleanly"
kill $HOLD
wait $HOLD 2>/dev/null
step "a line held by gpioset: --check-config names it and its holder; anjud logs why, opens a device_health warning, shows the sensor offline; the door beside it still works"

echo 1 > /sys/kernel/tracing/events/gpio/gpio_value/enable || fail "cannot enable the gpio_value trace event"
anjud -v -c /run/anju/anju.conf > /run/anjud.log 2>&1 &
ANJUD=$!
ctl() { anjuctl -s "$SOCK" --json "$@"; }
wait_for 60 "anjud's control socket to answer" ctl status
wait_for 30 "anjud to connect to the broker" sh -c "anjuctl -s $SOCK --json status | jq -e '.broker.connected == true'"
for id in door kitchen_smoke cancel_button; do
  wait_for 30 "the edge interrupt of anjud:$id in /proc/interrupts" irq_armed "anjud:$id"
done
step "anjud running (pid $ANJUD), inputs armed: $(grep -o 'anjud:[a-z_]*' /proc/interrupts | tr '\n' ' ')"
ctl sensors | jq -e '[.sensors[] | select(.online != true)] | length == 0' >/dev/null ||
  fail "a sensor is offline at start: $(ctl sensors | jq -c '[.sensors[] | select(.online != true) | .id]')"
grep "anjud:" /sys/kernel/debug/gpio | sed 's/^/ANJU-KTEST:    /'
for id in door kitchen_smoke cancel_button siren charger_relay; do
  grep -q "|anjud:$id *)" /sys/kernel/debug/gpio || fail "no line of $CHIP is requested as anjud:$id"
done

# jq -e on one sensor: sensor_is ID 'EXPR' (EXPR about .value, .last_seen, ...)
sensor_is() { ctl sensors | jq -e --arg id "$1" ".sensors[] | select(.id == \$id) | $2"; }
sensor_value() { ctl sensors | jq -c --arg id "$1" '.sensors[] | select(.id == $id) | .value'; }
# every sample of a line over N tenths of a second is V
holds() {   # LINE V N
  local i=0
  while [ $i -lt "$3" ]; do
    [ "$(level "$1")" = "$2" ] || return 1
    i=$((i + 1))
    sleep 0.1
  done
}

# --- door: an edge each way, each after the daemon reported the previous one -------------
wait_for 20 "the door to read shut (value 0) at start" sensor_is door '.value == 0'
pull 0 down
wait_for 20 "the door to read open (value 1) after the contact opened" sensor_is door '.value == 1'
step "door: contact opened -> value $(sensor_value door), last seen $(ctl sensors | jq -r '.sensors[] | select(.id == "door") | .last_seen')"
pull 0 up
wait_for 20 "the door to read shut (value 0) after the contact closed" sensor_is door '.value == 0'
step "door: contact closed -> value $(sensor_value door)"

# --- smoke: fire incident, a call, siren continuous, relay cut until resolved ----------------
level_is 3 0 || fail "the siren (line 3) is on before any incident"
level_is 4 0 || fail "the relay (line 4) is energised before any incident"
pull 1 up
fire_open() { ctl incidents --open | jq -e '[.incidents[] | select(.type == "fire")] | length == 1'; }
wait_for 30 "a fire incident to open" fire_open
FIRE=$(ctl incidents --open | jq -r '.incidents[] | select(.type == "fire") | .id')
step "smoke line active -> fire incident $FIRE ($(ctl incidents --open | jq -r '.incidents[] | select(.type == "fire") | .severity + ", " + .state'))"
ctl show "$FIRE" | jq -e '.incident.severity == "critical" and .incident.sensor == "kitchen_smoke"' >/dev/null ||
  fail "the fire incident is not critical, or not from kitchen_smoke"
sensor_is kitchen_smoke '.value == 1' >/dev/null || fail "kitchen_smoke does not read 1 (smoke)"
wait_for 30 "the dispatch simulator to receive the fire call" \
  sh -c "jq -e -s '[.[] | select(.body.type == \"fire\" and .body.id == \"$FIRE\")] | length > 0' /run/dsim.out"
step "dispatch simulator received the call: $(jq -c -s '[.[] | select(.body.type == "fire")][0] | {status, case_id, type: .body.type, severity: .body.severity, sensor: .body.sensor.id, auth, signature}' /run/dsim.out)"
wait_for 10 "the siren (line 3) to turn on" level_is 3 1
wait_for 10 "the relay (line 4) to be energised (charger power cut)" level_is 4 1
center_acked() { ctl show "$FIRE" | jq -e '.incident.state == "acked"'; }
wait_for 30 "the center's case id to ack the fire incident" center_acked
holds 3 1 12 || fail "the siren is not continuous during a fire after the center took charge (it went 0 within 1.2 s)"
step "center took charge ($(ctl show "$FIRE" | jq -r '[.incident.timeline[] | select(.event == "ack")][0] | .actor + ": " + .note')); siren still on, continuous for 1.2 s; relay energised"
pull 1 down
wait_for 20 "the smoke detector to read clear (value 0)" sensor_is kitchen_smoke '.value == 0'
ctl ack "$FIRE" --note "kernel test" > /run/ack.out 2>&1 || { cat /run/ack.out; fail "anjuctl ack $FIRE"; }
wait_for 10 "the siren to stop after a person's ack" level_is 3 0
holds 4 1 6 || fail "the relay was released by the ack (it must stay energised until resolved)"
step "acked by a person: siren off, relay still energised (charger stays cut)"
ctl resolve "$FIRE" --note "kernel test" > /run/resolve.out 2>&1 || { cat /run/resolve.out; fail "anjuctl resolve $FIRE"; }
wait_for 10 "the relay to be released after the resolve" level_is 4 0
ctl show "$FIRE" | jq -e '.incident.state == "resolved"' >/dev/null || fail "incident $FIRE is not resolved"
level_is 3 0 || fail "the siren sounds after the resolve"
step "resolved: relay released, siren off"

# --- a fall: pre-alarm, siren pulsing, the cancel button closes it -----------------------------
mosquitto_pub -h 127.0.0.1 -p 1883 -q 1 -t band/ye -m '{"fall":true}' || fail "mosquitto_pub of the fall"
fall_prealarm() { ctl incidents --open | jq -e '[.incidents[] | select(.type == "fall" and .state == "prealarm")] | length == 1'; }
wait_for 30 "a fall pre-alarm" fall_prealarm
FALL=$(ctl incidents --open | jq -r '.incidents[] | select(.type == "fall") | .id')
step "wristband fall -> incident $FALL in prealarm"
wait_for 10 "the siren to sound (pulsed) during the pre-alarm" level_is 3 1
wait_for 10 "the siren's pulse to turn off (a pulse, not continuous)" level_is 3 0
wait_for 10 "the siren's next pulse" level_is 3 1
step "siren pulsing during the pre-alarm"
pull 2 up
cancel_seen() {
  ctl show "$FALL" | jq -e '.incident.state == "cancelled"' || sensor_is cancel_button '.value == 1'
}
wait_for 20 "anjud to see the cancel button pressed" cancel_seen
pull 2 down
fall_cancelled() { ctl incidents | jq -e --arg id "$FALL" '.incidents[] | select(.id == $id) | .state == "cancelled"'; }
wait_for 20 "the fall pre-alarm to be cancelled by the button" fall_cancelled
wait_for 10 "the siren to stop after the cancel" level_is 3 0
holds 3 0 8 || fail "the siren sounds again after the cancel"
step "cancel button -> incident $FALL cancelled, siren off; timeline:"
ctl show "$FALL" | jq -r '.incident.timeline[] | "ANJU-KTEST:     \(.at) \(.event) by \(.actor) via \(.channel): \(.note)"'
ctl show "$FALL" | jq -e '[.incident.timeline[] | select(.event == "cancelled")] | length == 1' >/dev/null ||
  fail "incident $FALL's timeline has no cancelled entry"
level_is 4 0 || fail "the relay was energised by a fall"
n=$(jq -s '[.[] | select(.body.type == "fall")] | length' /run/dsim.out)
[ "$n" = 0 ] || fail "the cancelled fall was called in ($n calls)"
step "no call for the cancelled fall (what the center got: $(jq -r -s '[.[] | .body.type // .body.schema] | join(", ")' /run/dsim.out))"

# --- SIGTERM: outputs back to the safe state before anjud exits ----------------------------------
# With no fire open, anjud must drive the siren and the relay to 0 before it exits.
# gpio-sim puts a released line back to its pull, so the value attribute alone
# cannot tell; the kernel's gpio_value trace records what anjud itself wrote.
# A second fall starts the pulsing siren; SIGTERM right after a pulse went on.
SIREN_GPIO=$((GPIOBASE + 3))
RELAY_GPIO=$((GPIOBASE + 4))
mosquitto_pub -h 127.0.0.1 -p 1883 -q 1 -t band/ye -m '{"fall":true}' || fail "mosquitto_pub of the second fall"
wait_for 30 "a second fall pre-alarm" fall_prealarm
wait_for 10 "a pause of the second pre-alarm's siren" level_is 3 0
wait_for 10 "the siren to sound for the second pre-alarm" level_is 3 1
echo "ANJU-KTEST SIGTERM" > /sys/kernel/tracing/trace_marker
kill -TERM $ANJUD
gone() { [ ! -d /proc/$ANJUD ] || grep -q '^[0-9]* ([^)]*) Z' /proc/$ANJUD/stat; }
wait_for 60 "anjud to exit after SIGTERM" gone
wait $ANJUD
rc=$?
[ $rc = 0 ] || fail "anjud exited with status $rc after SIGTERM"
after=$(sed -n '/ANJU-KTEST SIGTERM/,$p' /sys/kernel/tracing/trace)
last_siren=$(echo "$after" | sed -n "s/.*gpio_value: $SIREN_GPIO set \([01]\).*/\1/p" | tail -n1)
last_relay=$(sed -n "s/.*gpio_value: $RELAY_GPIO set \([01]\).*/\1/p" /sys/kernel/tracing/trace | tail -n1)
[ "$last_siren" = 0 ] || fail "after SIGTERM anjud did not drive the siren to 0 (last write after the signal: '${last_siren:-none}')"
[ "$last_relay" = 0 ] || fail "anjud's last write to the relay is '${last_relay:-none}', not 0"
step "SIGTERM: anjud exited 0; its last writes: siren 0 (after the signal), relay 0"

# --- a chip that goes away at run time, and comes back -----------------------------------------
# The v1 uAPI does not wake an event fd when its chip is removed: anjud notices
# by reading its held lines every [hub] gpio_supervision (2 s here), warns, and
# requests the line again once a chip with that label is back (with a new name).
CFS2=/sys/kernel/config/gpio-sim/anju2
mkdir $CFS2 && mkdir $CFS2/bank0 || fail "mkdir $CFS2"
echo 2 > $CFS2/bank0/num_lines || fail "anju2: num_lines"
echo anju-hotplug > $CFS2/bank0/label || fail "anju2: label"
echo 1 > $CFS2/live || fail "anju2: live = 1"
sim2() { echo "/sys/devices/platform/$(cat $CFS2/dev_name)/$(cat $CFS2/bank0/chip_name)"; }
echo pull-up > "$(sim2)/sim_gpio0/pull" || fail "anju2: pull-up"
sed -e "s#^database = .*#database = /run/anju/hot.db#" -e "s#^ctl_socket = .*#ctl_socket = /run/anju/hot.sock#" \
    -e "s#^\\[hub\\]#[hub]\\ngpio_supervision = 2s#" -e '/^\[rule fall\]/,$d' /run/anju/anju.conf > /run/anju/hot.conf
printf '[sensor back_door]\nkind = door\nroom = kitchen\ngpio_chip = anju-hotplug\ngpio_line = 0\n' >> /run/anju/hot.conf
grep -q '^gpio_supervision = 2s' /run/anju/hot.conf || { cat /run/anju/hot.conf; fail "hot.conf has no gpio_supervision"; }
anjud -c /run/anju/hot.conf > /run/hot.log 2>&1 &
HOT=$!
hctl() { anjuctl -s /run/anju/hot.sock --json "$@"; }
back_door() { hctl sensors | jq -e ".sensors[] | select(.id == \"back_door\") | $1"; }
wait_for 60 "the hot-plug anjud's control socket" hctl status
wait_for 20 "back_door online on $(cat $CFS2/bank0/chip_name)" back_door '.online == true'
wait_for 10 "back_door's interrupt armed" irq_armed anjud:back_door
echo 0 > $CFS2/live || fail "anju2: live = 0"
wait_for 20 "back_door offline after its chip went away" back_door '.online == false'
wait_for 20 "a device-health warning for the lost line" sh -c "anjuctl -s /run/anju/hot.sock --json incidents --open |
  jq -e '[.incidents[] | select(.type == \"device_health\")] | length == 1'"
[ -d /proc/$HOT ] || fail "anjud died when the chip went away"
echo 1 > $CFS2/live || fail "anju2: live = 1 again"
echo pull-up > "$(sim2)/sim_gpio0/pull" || fail "anju2: pull-up again"
wait_for 20 "back_door back online on $(cat $CFS2/bank0/chip_name)" back_door '.online == true'
wait_for 10 "back_door's interrupt armed again" irq_armed anjud:back_door
wait_for 10 "back_door shut" back_door '.value == 0'
echo pull-down > "$(sim2)/sim_gpio0/pull" || fail "anju2: pull-down"
wait_for 10 "back_door seen open on the chip that came back" back_door '.value == 1'
grep -q "gpio: sensor back_door .* (back)" /run/hot.log || { cat /run/hot.log; fail "anjud did not log the line back"; }
kill -TERM $HOT
wait $HOT || fail "the hot-plug anjud did not exit cleanly"
step "a chip removed at run time: anjud saw it within gpio_supervision, warned, took the line again when the chip came back as $(cat $CFS2/bank0/chip_name)"

kill $DSIM $MOSQ 2>/dev/null
say "PASS $NONCE"
finish
