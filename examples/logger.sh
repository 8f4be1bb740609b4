#!/bin/sh
# util-linux `logger` → logship's syslog input → Warren.
#
# Start logship first (it publishes to the exchange `logs`; see examples/README.md):
#   logship --syslog udp://127.0.0.1:5514 --syslog tcp://127.0.0.1:5514
# then run:  sh examples/logger.sh [HOST] [PORT]
#
# Facility and severity go in the syslog PRI (-p facility.level); logship turns them into the
# routing key: -p auth.warning → auth.warning, -p local3.err → local3.error.
set -eu
host=${1:-127.0.0.1}
port=${2:-5514}

# With --server, logger (util-linux 2.38) defaults to UDP and RFC 5424:
#   <36>1 2026-12-03T08:50:19.829501+00:00 myhost sshd - - [timeQuality ...] message
logger --server "$host" --port "$port" -p auth.warning -t sshd 'Failed password for root from 10.0.0.7'

# UDP, RFC 3164 (the BSD format: no year, no time zone):  <36>Dec  3 08:50:19 myhost sshd[4242]: ...
logger --server "$host" --port "$port" --udp --rfc3164 -p auth.warning -t sshd --id=4242 'Failed password for root'

# TCP, RFC 5424 with a message id and structured data; one message per line (LF-terminated frame).
logger --server "$host" --port "$port" --tcp --rfc5424 -p local3.err -t myapp --msgid DISK \
  --sd-id 'disk@32473' --sd-param 'mount="/var"' --sd-param 'free="2%"' 'disk almost full'

# TCP with RFC 6587 octet counting (`LEN <PRI>1 ...`, no LF), what syslog-ng's syslog() source
# and rsyslog's TCP_Framing="octet-counted" expect; logship reads both framings.
logger --server "$host" --port "$port" --tcp --octet-count --rfc5424 -p kern.crit -t kernel 'kernel oops'

# Each line of stdin becomes one message.
printf 'first line\nsecond line\n' | logger --server "$host" --port "$port" --tcp -p cron.notice -t backup
