#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ answer on 127.0.0.1. Starts them with the machine's own
# commands when they are installed but stopped; fails with a clear message when missing.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

wait_for() { # name, check, seconds
  local name=$1 check=$2 seconds=$3
  for _ in $(seq 1 "$seconds"); do
    if $check; then return 0; fi
    sleep 1
  done
  echo "error: $name did not come up within ${seconds}s" >&2
  return 1
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is stopped; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_for PostgreSQL pg_up 30
  else
    echo "error: PostgreSQL is not installed (need a server on 127.0.0.1:5432, trust auth," \
         "user root). On Debian: apt-get install postgresql" >&2
    exit 1
  fi
fi

if ! amqp_up; then
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "RabbitMQ is stopped; starting it"
    rabbitmq-server -detached || true
    wait_for RabbitMQ amqp_up 60
  else
    echo "error: RabbitMQ is not installed (need a broker on 127.0.0.1:5672, guest/guest)." \
         "On Debian: apt-get install rabbitmq-server" >&2
    exit 1
  fi
fi
if command -v rabbitmqctl >/dev/null 2>&1; then
  rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
echo "PostgreSQL and RabbitMQ are up"
