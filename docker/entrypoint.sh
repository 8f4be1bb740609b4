#!/bin/sh
# `docker run <image> logship ...` (or logcollect, logtail): the command replaces this shell
# (exec), so it runs as PID 1 and docker's SIGTERM reaches it: logship flushes and spools, the
# collector commits and acks what it holds. Anything else runs as given.
set -e
case "$1" in
  logship | logcollect | logtail)
    command=$1
    shift
    exec node "/app/bin/$command.js" "$@"
    ;;
esac
exec "$@"
