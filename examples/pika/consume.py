#!/usr/bin/python3
"""Watch Warren's log stream with pika: a queue of your own, bound to the keys you want.

Like the tutorial's receive_logs_topic.py, with two Warren rules:
  * the exchange `logs` is declared PASSIVELY (never with other arguments: 406 PRECONDITION_FAILED);
  * the queue is yours: server-named, exclusive and auto-deleted, so it vanishes when you stop and
    never steals messages from the collector's durable queue `logs.archive`.
Binding keys are plain AMQP topic patterns (`*` one word, `#` any words). Warren's severity
ranges (`auth.warning+`) are a Warren extension: `logtail --explain 'auth.warning+'` prints the
plain keys they become.

Usage:
  /usr/bin/python3 examples/pika/consume.py 'auth.*' '*.critical'
  /usr/bin/python3 examples/pika/consume.py --json --count 1 '#'   # one JSON line per message
The --json form prints every property and header, which is how the facts in
examples/README.md about other clients (syslog-ng, amqp-publish, rsyslog) were recorded.
"""

import argparse
import json
import sys

import pika
import pika.exceptions

PROPERTIES = ("content_type", "content_encoding", "delivery_mode", "priority", "correlation_id", "reply_to",
              "expiration", "message_id", "timestamp", "type", "user_id", "app_id", "headers")


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Print messages routed by Warren's exchange.")
    parser.add_argument("patterns", nargs="+", help="binding keys, e.g. 'auth.*' '#'")
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/%2F", help="AMQP URL (default: %(default)s)")
    parser.add_argument("--exchange", default="logs", help="Warren's exchange (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="one JSON object a message, with all properties")
    parser.add_argument("--count", type=int, default=0, help="stop after this many messages (default: never)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many idle seconds (default: never)")
    return parser.parse_args(argv)


def plain(value):
    """AMQP header values may be bytes (e.g. from C clients); show them as text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def describe(method, properties, body, as_json):
    if as_json:
        props = {name: plain(getattr(properties, name)) for name in PROPERTIES if getattr(properties, name) is not None}
        return json.dumps({"exchange": method.exchange, "routing_key": method.routing_key, "properties": props,
                           "body": body.decode("utf-8", "replace")}, sort_keys=True)
    return f"{method.routing_key}: {body.decode('utf-8', 'replace')}"


def main(argv):
    args = parse_args(argv)
    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    try:
        channel = connection.channel()
        channel.exchange_declare(exchange=args.exchange, passive=True)
        queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
        for pattern in args.patterns:
            channel.queue_bind(queue=queue, exchange=args.exchange, routing_key=pattern)
        print(f"listening on {args.exchange} for {' '.join(args.patterns)}", file=sys.stderr, flush=True)
        seen = 0
        # auto_ack: a watcher's queue is throw-away; the collector's queue is where delivery is guaranteed.
        for method, properties, body in channel.consume(queue, auto_ack=True,
                                                       inactivity_timeout=args.timeout or None):
            if method is None:
                break  # idle for --timeout seconds
            print(describe(method, properties, body, args.json), flush=True)
            seen += 1
            if args.count and seen >= args.count:
                break
        channel.cancel()
    except pika.exceptions.ChannelClosedByBroker as err:
        raise SystemExit(f"consume.py: the broker refused: {err.reply_code} {err.reply_text}")
    except KeyboardInterrupt:
        pass
    finally:
        if connection.is_open:
            connection.close()


if __name__ == "__main__":
    main(sys.argv[1:])
