#!/bin/sh
# Entrypoint of the Culex image, as eclipse-mosquitto's: fix ownership of /mosquitto when started as root, then run
# the command. Culex-only additions, for a first run on an empty mounted config directory: the default
# mosquitto.conf is copied in and an empty password file created (the broker starts and refuses everyone until a
# user is added); and a first argument starting with "-" goes to culex, so `docker run culex-mqtt -v` works.
set -e

root="${MOSQUITTO_ROOT:-/mosquitto}"
default_conf="${CULEX_DEFAULT_CONF:-/opt/culex/packaging/docker/mosquitto.conf}"

for dir in "$root/config" "$root/data" "$root/log"; do
	[ -d "$dir" ] || mkdir -p "$dir"
done
if [ ! -e "$root/config/mosquitto.conf" ] && [ -w "$root/config" ] && [ -r "$default_conf" ]; then
	cp "$default_conf" "$root/config/mosquitto.conf"
fi
if [ ! -e "$root/config/pwfile" ] && [ -w "$root/config" ]; then
	(umask 077 && : > "$root/config/pwfile")
fi

if [ "$(id -u)" = '0' ]; then
	chown -R mosquitto:mosquitto "$root" 2>/dev/null || true
fi

if [ "${1#-}" != "$1" ]; then
	set -- culex "$@"
fi

exec "$@"
