#!/usr/bin/env bash
# A local RabbitMQ cluster for Warren's cluster tests, chaos and bench: N nodes on one machine
# (default 3), each with its own node name, AMQP and distribution ports, data and log directories,
# and an Erlang cookie of its own, so the machine's broker on 5672 is never touched.
#
#   scripts/rabbitmq-cluster.sh start     start the nodes and join them into one cluster (idempotent)
#   scripts/rabbitmq-cluster.sh stop      stop every node (data kept)
#   scripts/rabbitmq-cluster.sh reset     stop and delete the data directory
#   scripts/rabbitmq-cluster.sh status    which nodes answer, and the cluster status
#   scripts/rabbitmq-cluster.sh urls      the AMQP URLs, comma-separated (for --amqp / AMQP_URL)
#   scripts/rabbitmq-cluster.sh ctl N ... rabbitmqctl against node N (1-based)
#   scripts/rabbitmq-cluster.sh kill N    SIGKILL node N's Erlang VM (a crashed node)
#   scripts/rabbitmq-cluster.sh start-node N   start node N again (it rejoins its cluster)
#
# Environment: WARREN_CLUSTER_NODES (3), WARREN_CLUSTER_PORT (5701: node i listens on PORT+i-1),
# WARREN_CLUSTER_DIR (/tmp/warren-rabbitmq-cluster).
set -euo pipefail

NODES=${WARREN_CLUSTER_NODES:-3}
BASE_PORT=${WARREN_CLUSTER_PORT:-5701}
DIR=${WARREN_CLUSTER_DIR:-/tmp/warren-rabbitmq-cluster}
SBIN=$(dirname "$(readlink -f "$(command -v rabbitmq-server)")")
# The package's wrapper would switch to the rabbitmq user (and its cookie); the real scripts do not.
if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then SBIN=/usr/lib/rabbitmq/bin; fi

node_name() { echo "warren-c$1@localhost"; }
node_port() { echo $((BASE_PORT + $1 - 1)); }

# The environment one node runs (and is controlled) in.
node_env() {
  local i=$1 home="$DIR/home"
  mkdir -p "$home" "$DIR/node$i"
  if [ ! -f "$home/.erlang.cookie" ]; then
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$home/.erlang.cookie"
    chmod 400 "$home/.erlang.cookie"
  fi
  cat >"$DIR/node$i/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$(node_port "$i")
loopback_users = none
EOF
  : >"$DIR/node$i/enabled_plugins.empty"
  echo "[]." >"$DIR/node$i/enabled_plugins"
  : >"$DIR/node$i/rabbitmq-env.conf"
  export HOME="$home"
  export RABBITMQ_NODENAME
  RABBITMQ_NODENAME=$(node_name "$i")
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT
  RABBITMQ_NODE_PORT=$(node_port "$i")
  export RABBITMQ_DIST_PORT=$((RABBITMQ_NODE_PORT + 20000))
  export RABBITMQ_CONF_ENV_FILE="$DIR/node$i/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$DIR/node$i/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/node$i/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$DIR/node$i/mnesia"
  export RABBITMQ_LOG_BASE="$DIR/node$i/log"
  export RABBITMQ_PID_FILE="$DIR/node$i/pid"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

ctl() {
  local i=$1
  shift
  (node_env "$i" && "$SBIN/rabbitmqctl" -n "$(node_name "$i")" "$@")
}

answers() { ctl "$1" -q ping >/dev/null 2>&1; }

start_node() {
  local i=$1
  if answers "$i"; then return; fi
  (node_env "$i" && "$SBIN/rabbitmq-server" -detached >/dev/null 2>&1)
  for _ in $(seq 1 60); do
    if ctl "$i" -q await_startup >/dev/null 2>&1; then return; fi
    sleep 1
  done
  echo "rabbitmq-cluster: node $i ($(node_name "$i")) did not start; see $DIR/node$i/log" >&2
  exit 1
}

joined() { ctl 1 -q cluster_status 2>/dev/null | grep -q "$(node_name "$1")"; }

case "${1:-}" in
  start)
    for i in $(seq 1 "$NODES"); do start_node "$i"; done
    for i in $(seq 2 "$NODES"); do
      if ctl "$i" -q cluster_status 2>/dev/null | grep -q "$(node_name 1)"; then continue; fi
      ctl "$i" -q stop_app
      ctl "$i" -q join_cluster "$(node_name 1)"
      ctl "$i" -q start_app
    done
    echo "rabbitmq-cluster: $NODES nodes up: $("$0" urls)"
    ;;
  start-node)
    start_node "${2:?node number}"
    ;;
  stop)
    for i in $(seq "$NODES" -1 1); do
      if answers "$i"; then ctl "$i" -q stop >/dev/null 2>&1 || true; fi
    done
    ;;
  reset)
    "$0" stop
    rm -rf "$DIR"
    ;;
  kill)
    i=${2:?node number}
    pid=$(cat "$DIR/node$i/pid" 2>/dev/null || true)
    if [ -z "$pid" ]; then pid=$(pgrep -f -- "-sname $(node_name "$i")|-name $(node_name "$i")|$(node_name "$i")" | head -n 1 || true); fi
    if [ -n "$pid" ]; then kill -9 "$pid"; fi
    ;;
  status)
    for i in $(seq 1 "$NODES"); do
      if answers "$i"; then state=up; else state=down; fi
      echo "node $i $(node_name "$i") amqp://127.0.0.1:$(node_port "$i") $state"
    done
    ctl 1 -q cluster_status 2>/dev/null || true
    ;;
  urls)
    urls=()
    for i in $(seq 1 "$NODES"); do urls+=("amqp://guest:guest@127.0.0.1:$(node_port "$i")"); done
    (IFS=,; echo "${urls[*]}")
    ;;
  ctl)
    i=${2:?node number}
    shift 2
    ctl "$i" "$@"
    ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
