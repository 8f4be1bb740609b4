#!/usr/bin/python3
"""Publish log lines to Warren with pika, the way the RabbitMQ tutorials do, but safely.

Differences from the tutorial's emit_log_topic.py, and why:
  * the exchange is declared PASSIVELY: Warren owns `logs` (a durable topic exchange with
    `alternate-exchange: logs.unrouted`); the tutorial's plain exchange_declare(type='topic')
    asks for other arguments and the broker answers 406 PRECONDITION_FAILED;
  * publisher confirms (confirm_delivery): basic_publish returns only once the broker has taken
    the message, and raises if it refused it;
  * delivery_mode=2 (persistent), so the message survives a broker restart in a durable queue.

Usage (Debian's python3-pika lives under /usr/bin/python3, not necessarily the `python3` on PATH):
  /usr/bin/python3 examples/pika/publish.py auth.warning 'sshd: Failed password for root'
  echo '{"msg":"disk full"}' | /usr/bin/python3 examples/pika/publish.py \
      --content-type application/json --header host=web-01 kern.critical
Each line of stdin is one message when no body is given on the command line.
"""

import argparse
import sys

import pika
import pika.exceptions


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Publish log lines to Warren's exchange with pika.")
    parser.add_argument("routing_key", help="facility.severity, e.g. auth.warning")
    parser.add_argument("body", nargs="*", help="message text (joined by spaces); default: one message per stdin line")
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/%2F", help="AMQP URL (default: %(default)s)")
    parser.add_argument("--exchange", default="logs", help="Warren's exchange (default: %(default)s)")
    parser.add_argument("--content-type", default="text/plain", help="content_type property (default: %(default)s)")
    parser.add_argument("--message-id", help="message_id property (only with a single message)")
    parser.add_argument("--app-id", default="pika-example", help="app_id property (default: %(default)s)")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE", help="an AMQP header (repeatable)")
    return parser.parse_args(argv)


def headers_of(pairs):
    headers = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"publish.py: --header wants NAME=VALUE, got {pair!r}")
        headers[name] = value
    return headers


def main(argv):
    args = parse_args(argv)
    bodies = [" ".join(args.body)] if args.body else [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if args.message_id and len(bodies) != 1:
        raise SystemExit("publish.py: --message-id names exactly one message")

    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    try:
        channel = connection.channel()
        # Passive: only checks that Warren's exchange exists (404 NOT_FOUND if the collector never ran).
        channel.exchange_declare(exchange=args.exchange, passive=True)
        channel.confirm_delivery()
        properties = pika.BasicProperties(
            content_type=args.content_type,
            delivery_mode=2,  # persistent (pika.DeliveryMode.Persistent needs pika >= 1.3; Debian 12 has 1.2)
            message_id=args.message_id,
            app_id=args.app_id,
            headers=headers_of(args.header) or None,
        )
        for body in bodies:
            # With confirms on, this blocks until the broker acks, and raises NackError if it nacks.
            channel.basic_publish(args.exchange, args.routing_key, body.encode("utf-8"), properties)
        print(f"published {len(bodies)} message(s) to {args.exchange} with key {args.routing_key}", file=sys.stderr)
    except pika.exceptions.ChannelClosedByBroker as err:
        raise SystemExit(f"publish.py: the broker refused: {err.reply_code} {err.reply_text}")
    finally:
        if connection.is_open:
            connection.close()


if __name__ == "__main__":
    main(sys.argv[1:])
