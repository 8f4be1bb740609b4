#!/bin/sh
# amqp-tools' `amqp-publish` (Debian package amqp-tools) straight to Warren's exchange.
#
# amqp-publish declares nothing: the exchange `logs` must exist (the collector or logship
# declares it); if it does not, amqp-publish exits 1 with "404, NOT_FOUND - no exchange 'logs'".
# It has no publisher confirms: exit 0 means the message was written to the socket.
#   sh examples/amqp-publish.sh [AMQP_URL] [EXCHANGE]
set -eu
url=${1:-amqp://guest:guest@127.0.0.1:5672}
exchange=${2:-logs}

# The routing key is facility.severity; -p makes the message persistent (delivery_mode 2).
# Without -C there is no content_type: the body is a plain text line.
amqp-publish -u "$url" -e "$exchange" -r auth.warning -p -b 'sshd: Failed password for root'

# A JSON record: say so with -C; -H adds an AMQP header (string value), repeatable.
amqp-publish -u "$url" -e "$exchange" -r app.info -p -C application/json -H 'host: web-01' \
  -b '{"msg":"user signed in","user":"ada"}'

# -l: one message per stdin line. Careful: each body keeps its trailing newline ("line one\n").
printf 'line one\nline two\n' | amqp-publish -u "$url" -e "$exchange" -r cron.notice -p -l
