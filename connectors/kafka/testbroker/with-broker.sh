#!/usr/bin/env bash
# with-broker.sh CMD [ARG...] runs CMD next to a real Apache Kafka broker that
# broker.sh starts in a new temporary directory, with PROMOGUARD_TEST_BROKERS
# (its address) and PROMOGUARD_TEST_BROKER_DIR (its directory: the fault
# tests restart it and find its proxied and SASL_SSL listeners there) in the
# environment. The broker is always stopped, on failure and Ctrl-C too; its
# log is kept when CMD fails. With PROMOGUARD_TEST_BROKERS already set, CMD
# runs against that broker instead. `make integration`, `make reliability`
# and `make bench-kafka` use it.
set -euo pipefail
broker=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/broker.sh
[[ $# -gt 0 ]] || { echo "usage: $0 CMD [ARG...]" >&2; exit 2; }
if [[ -n ${PROMOGUARD_TEST_BROKERS:-} ]]; then
  echo "with-broker.sh: using the broker at $PROMOGUARD_TEST_BROKERS" >&2
  exec "$@"
fi
"$broker" fetch
dir=$(mktemp -d "${TMPDIR:-/tmp}/promoguard-kafka.XXXXXX")
cleanup() {
  local rc=$?
  "$broker" stop "$dir" || true
  if [[ $rc -eq 0 ]]; then
    rm -rf "$dir"
  else
    echo "with-broker.sh: broker log kept in $dir/broker.log" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
PROMOGUARD_TEST_BROKERS=$("$broker" start "$dir")
PROMOGUARD_TEST_BROKER_DIR=$dir
export PROMOGUARD_TEST_BROKERS PROMOGUARD_TEST_BROKER_DIR
"$@"
