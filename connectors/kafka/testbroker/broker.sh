#!/usr/bin/env bash
# A real, single-node Apache Kafka broker (KRaft: broker and controller in one
# JVM) on 127.0.0.1, for promoguard's integration tests. `make integration`
# drives it; README "Development" says how to use it by hand.
#
#   broker.sh fetch       download the jars named by pom.xml into a cache
#                         outside the repository (once) and check each against
#                         jars.sha256; downloads nothing when the cache holds
#                         exactly the listed jars
#   broker.sh start DIR   start a broker whose files all live in DIR, on free
#                         ports; waits until a metadata request succeeds, writes
#                         DIR/pid and DIR/brokers and prints host:port on stdout.
#                         DIR/proxied holds "PROXY TARGET": a second listener
#                         on TARGET advertises PROXY, where the reliability
#                         tests run a TCP proxy that injects network faults.
#                         DIR/sasl holds the host:port of a SASL_SSL listener
#                         (see "TLS and SASL" below), DIR/ca.pem the CA that
#                         signed its certificate and DIR/sasl-users its users
#   broker.sh stop DIR    SIGTERM, then SIGKILL after a timeout; deletes DIR/data
#                         and the TLS files
#   broker.sh halt DIR [--kill]
#                         stop the broker (SIGTERM, or SIGKILL at once with
#                         --kill) and keep its data, for a restart with resume
#   broker.sh resume DIR  start the halted broker again on the same ports and
#                         data; waits until it is ready
#   broker.sh lib         print the cache's jar directory (after fetch)
#   broker.sh sums        print a fresh jars.sha256 for pom.xml (maintainers,
#                         after changing a version: review the diff)
#
# Environment:
#   PROMOGUARD_KAFKA_CACHE   cache directory; default
#                            ${XDG_CACHE_HOME:-$HOME/.cache}/promoguard/kafka-<version>
#   MVN, MVN_ARGS            Maven command and extra arguments (MVN_ARGS=-o for
#                            offline, from the local Maven repository)
#   JAVA                     java command (default: java)
#   KAFKA_HEAP_OPTS          default -Xms512m -Xmx1g
#   PROMOGUARD_BROKER_START_TIMEOUT  seconds to wait for the broker (default 90)
#   PROMOGUARD_BROKER_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL (default 30)
#
# TLS and SASL: the SASL_SSL listener (DIR/sasl) serves TLS with a server
# certificate for IP 127.0.0.1 signed by a throwaway CA, both made by openssl
# at start (DIR/ca.pem; the server's key and certificate in DIR/tls; resume
# reuses them), and accepts SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. Its
# users, fixed test credentials, one per mechanism (DIR/sasl-users lists them
# as "MECHANISM USER PASSWORD"):
#
#   PLAIN           plain-user     plain-secret      (the listener's JAAS config)
#   SCRAM-SHA-256   scram256-user  scram256-secret   (StorageTool --add-scram)
#   SCRAM-SHA-512   scram512-user  scram512-secret   (StorageTool --add-scram)
#
# A user exists for its mechanism only. By hand:
#   kcat -b "$(cat DIR/sasl)" -X security.protocol=SASL_SSL \
#     -X sasl.mechanisms=PLAIN -X sasl.username=plain-user \
#     -X sasl.password=plain-secret -X ssl.ca.location=DIR/ca.pem -L
# (SCRAM with kcat needs librdkafka 2.6.1 or newer, confluentinc/librdkafka
# #4895: Kafka 4 refuses the SCRAM proof of older ones, such as Debian 12's
# 2.0.2, as "invalid credentials". kafka-go's SCRAM works.)
# The broker's own traffic (inter-broker, controller) stays PLAINTEXT.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
sums_file=$here/jars.sha256
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
[[ -n $version ]] || { echo "broker.sh: no <kafka.version> in $here/pom.xml" >&2; exit 1; }
cache=${PROMOGUARD_KAFKA_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/promoguard/kafka-$version}
[[ $cache == /* ]] || cache=$PWD/$cache
lib=$cache/lib
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
java=${JAVA:-java}

log() { echo "broker.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# listed_jars prints the jar names of jars.sha256, sorted.
listed_jars() { awk '{print $2}' "$sums_file" | sort; }

# verify DIR succeeds when DIR holds exactly the jars of jars.sha256, each
# with its listed sha256. With "loud" as $2 it says what is wrong.
verify() {
  local dir=$1 loud=${2:-}
  [[ -d $dir ]] || return 1
  local have want
  have=$(cd "$dir" && find . -maxdepth 1 -name '*.jar' -printf '%f\n' | sort)
  want=$(listed_jars)
  if [[ $have != "$want" ]]; then
    if [[ -n $loud ]]; then
      log "the jars in $dir are not the ones in $sums_file (< listed, > downloaded):"
      diff <(echo "$want") <(echo "$have") | grep '^[<>]' >&2 || true
      log "after an intended change to pom.xml, run '$0 sums > $sums_file' and review the diff"
    fi
    return 1
  fi
  if [[ -n $loud ]]; then
    (cd "$dir" && sha256sum --quiet --strict -c "$sums_file") >&2 || {
      log "SHA-256 MISMATCH: a jar from Maven differs from the one listed in $sums_file; not using it"
      return 1
    }
  else
    (cd "$dir" && sha256sum --quiet --strict --status -c "$sums_file")
  fi
}

# download DEST copies the runtime dependencies of pom.xml into DEST with Maven.
download() {
  local dest=$1 work
  command -v "${MVN:-mvn}" >/dev/null || die "Maven (mvn) is required: 'make integration' installs it on Debian"
  work=$(mktemp -d)
  cp "$here/pom.xml" "$work/pom.xml"
  local -a args
  read -r -a args <<<"${MVN_ARGS:-}"
  log "downloading Kafka $version and its dependencies with Maven"
  # Maven's output goes to a file: Debian's Maven 3.8 prints stray ANSI
  # resets even with -B, and a quiet run says nothing useful anyway.
  if ! (cd "$work" && "${MVN:-mvn}" -q -B -Dstyle.color=never "${args[@]}" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dest" >"$work/mvn.log" 2>&1); then
    sed 's/\x1b\[[0-9;]*m//g' "$work/mvn.log" >&2
    rm -rf "$work"
    die "Maven could not fetch the jars (offline? MVN_ARGS=-o uses only the local Maven repository)"
  fi
  rm -rf "$work"
}

cmd_fetch() {
  if verify "$lib"; then
    log "jars cached and verified: $lib"
    return 0
  fi
  if [[ -d $lib ]]; then
    log "cache $lib does not match $sums_file: fetching again"
  fi
  mkdir -p "$cache"
  local tmp
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  download "$tmp/lib"
  verify "$tmp/lib" loud || die "fetch failed: the cache was left as it was"
  rm -rf "$cache/lib.old"
  if [[ -d $lib ]]; then
    mv "$lib" "$cache/lib.old"
  fi
  mv "$tmp/lib" "$lib"
  rm -rf "$cache/lib.old" "$tmp"
  trap - EXIT
  log "jars verified: $lib ($(listed_jars | wc -l) jars)"
}

cmd_sums() {
  local tmp
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  download "$tmp/lib"
  (cd "$tmp/lib" && sha256sum -- *.jar | sort -k2)
}

cmd_lib() {
  verify "$lib" || die "no verified jars in $lib: run '$0 fetch'"
  echo "$lib"
}

# The SASL_SSL listener's users, one per mechanism, as "MECHANISM USER
# PASSWORD" (the header's table; DIR/sasl-users is a copy). PLAIN users are
# in the listener's JAAS config, SCRAM users in the metadata, made by
# StorageTool format --add-scram. No spaces, commas or brackets in a value.
sasl_users=(
  "PLAIN          plain-user     plain-secret"
  "SCRAM-SHA-256  scram256-user  scram256-secret"
  "SCRAM-SHA-512  scram512-user  scram512-secret"
)

# make_certs DIR makes a throwaway CA (DIR/ca.pem; its key is deleted once
# it has signed) and the SASL_SSL listener's certificate for IP 127.0.0.1,
# whose key and certificate make its PEM key store, DIR/tls/server.pem.
make_certs() {
  local dir=$1 tls=$1/tls
  command -v openssl >/dev/null || die "openssl is required for the SASL_SSL listener"
  rm -rf "$tls" "$dir/ca.pem"
  mkdir -m 700 "$tls"
  local -a key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc)
  if ! {
    openssl req -x509 "${key[@]}" -keyout "$tls/ca.key" -out "$dir/ca.pem" -days 365 \
      -subj "/CN=promoguard test CA $(date -u +%Y%m%dT%H%M%SZ)" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" &&
      openssl req "${key[@]}" -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=127.0.0.1" &&
      openssl x509 -req -in "$tls/server.csr" -CA "$dir/ca.pem" -CAkey "$tls/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 365 -out "$tls/server.crt" \
        -extfile <(printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
          "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth")
  } >"$tls/openssl.log" 2>&1; then
    cat "$tls/openssl.log" >&2
    die "openssl could not make the test certificates"
  fi
  # Kafka's PEM key store: the PKCS#8 key (unencrypted: no
  # ssl.key.password) followed by the certificate chain.
  (umask 077 && cat "$tls/server.key" "$tls/server.crt" >"$tls/server.pem")
  rm -f "$tls/ca.key" "$tls/server.csr" "$tls/openssl.log"
}

# write_server_properties DIR PORT CONTROLLER_PORT PROXIED_PORT PROXY_PORT SASL_PORT
#
# Listeners are built from one table, each with its settings below; the
# first row is the one written to DIR/brokers. A row's fourth column is the
# port it advertises when that is not its own (PROXIED advertises the fault
# proxy).
write_server_properties() {
  local dir=$1 port=$2 cport=$3 pport=$4 xport=$5 sport=$6
  local -a rows=(
    # name        protocol    port     advertised
    "PLAINTEXT    PLAINTEXT   $port    $port"
    "CONTROLLER   PLAINTEXT   $cport   -"
    "PROXIED      PLAINTEXT   $pport   $xport"
    "SASL_SSL     SASL_SSL    $sport   $sport"
  )
  local plain_jaas="org.apache.kafka.common.security.plain.PlainLoginModule required" row mech user pass
  for row in "${sasl_users[@]}"; do
    read -r mech user pass <<<"$row"
    if [[ $mech == PLAIN ]]; then
      plain_jaas+=" user_$user=\"$pass\""
    fi
  done
  local listeners="" advertised="" protomap="" name proto p adv
  for row in "${rows[@]}"; do
    read -r name proto p adv <<<"$row"
    listeners+="${listeners:+,}$name://127.0.0.1:$p"
    protomap+="${protomap:+,}$name:$proto"
    [[ $adv == - ]] || advertised+="${advertised:+,}$name://127.0.0.1:$adv"
  done
  cat >"$dir/server.properties" <<EOF
# Written by broker.sh for one test run; see connectors/kafka/testbroker.
process.roles=broker,controller
node.id=1
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protomap
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=127.0.0.1:$cport
log.dirs=$dir/data

# Tests create their topics; a typo must fail as it would in production.
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=1

# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Consumer groups in tests use 6 s sessions and should not wait to rebalance.
group.min.session.timeout.ms=1000
group.initial.rebalance.delay.ms=0

# Compacted topics (the state changelog) are cleaned soon after a segment
# rolls; give a test topic segment.ms / min.cleanable.dirty.ratio to see it.
log.cleaner.enable=true
log.cleaner.threads=1
log.cleaner.backoff.ms=500
log.cleaner.dedupe.buffer.size=16777216

# Two cores are shared with the tests.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1

# The SASL_SSL listener: TLS with a PEM key store (no client certificates),
# then SASL. PLAIN checks the users of its JAAS config; SCRAM the
# credentials that StorageTool format --add-scram put in the metadata.
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$dir/tls/server.pem
listener.name.sasl_ssl.ssl.client.auth=none
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=$plain_jaas;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
}

write_log4j() {
  local dir=$1
  cat >"$dir/log4j2.properties" <<EOF
# Written by broker.sh: the broker's log goes to $dir/broker.log.
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d{ISO8601}] %-5p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = INFO
EOF
}

# ours PID DIR succeeds when PID is the broker started in DIR (not a reused pid).
ours() {
  local pid=$1 dir=$2 cmdline
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *kafka.Kafka* && $cmdline == *"$dir/server.properties"* ]]
}

alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

show_logs() {
  local dir=$1 f
  for f in "$dir/format.log" "$dir/broker.out" "$dir/broker.log"; do
    [[ -s $f ]] || continue
    log "---- last lines of $f"
    tail -n 40 "$f" >&2
  done
}

kill_broker() {
  local dir=$1 pid timeout=${PROMOGUARD_BROKER_STOP_TIMEOUT:-30} i
  [[ -f $dir/pid ]] || return 0
  pid=$(<"$dir/pid")
  if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" "$dir"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "broker $pid still running ${timeout}s after SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        alive "$pid" || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$dir/pid" "$dir/brokers"
}

# launch DIR PORT starts the broker of DIR/server.properties and waits until
# it answers on 127.0.0.1:PORT; 1 when it did not come up (logs shown unless
# the ports were taken, which returns 2).
launch() {
  local dir=$1 port=$2 pid
  local -a heap
  read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}"
  local launched=$SECONDS
  "$java" "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -cp "$lib/*" kafka.Kafka "$dir/server.properties" >>"$dir/broker.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  if "$dir/waitbroker" -brokers "127.0.0.1:$port" -pid "$pid" \
    -timeout "${PROMOGUARD_BROKER_START_TIMEOUT:-90}s"; then
    echo "127.0.0.1:$port" >"$dir/brokers"
    log "broker ready: 127.0.0.1:$port (pid $pid, log $dir/broker.log) in $((SECONDS - launched))s"
    return 0
  fi
  if ! alive "$pid" && grep -qs 'Address already in use' "$dir/broker.log" "$dir/broker.out"; then
    kill_broker "$dir"
    return 2
  fi
  show_logs "$dir"
  kill_broker "$dir"
  return 1
}

# check_runtime builds waitbroker into DIR and checks the jars and Java.
check_runtime() {
  local dir=$1
  verify "$lib" || cmd_fetch
  command -v "$java" >/dev/null || die "Java 17 or newer is required: 'make integration' installs it on Debian"
  local jv
  jv=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [[ ${jv%%.*} =~ ^[0-9]+$ && ${jv%%.*} -ge 17 ]] || die "Kafka $version needs Java 17 or newer; $java is ${jv:-unknown}"
  if [[ ! -x $dir/waitbroker ]]; then
    log "building waitbroker"
    (cd "$root" && go build -o "$dir/waitbroker" ./connectors/kafka/testbroker/waitbroker)
  fi
}

cmd_start() {
  [[ $# -eq 1 ]] || die "usage: $0 start DIR"
  mkdir -p "$1"
  local dir
  dir=$(cd "$1" && pwd)
  if [[ -f $dir/pid ]] && ours "$(<"$dir/pid")" "$dir"; then
    die "a broker is already running in $dir (pid $(<"$dir/pid")): '$0 stop $dir' first"
  fi
  local started=$SECONDS
  rm -f "$dir/waitbroker"
  check_runtime "$dir"
  write_log4j "$dir"
  rm -f "$dir/sasl" "$dir/sasl-users"
  make_certs "$dir"
  local -a scram=()
  local row mech user pass
  for row in "${sasl_users[@]}"; do
    read -r mech user pass <<<"$row"
    if [[ $mech == SCRAM-* ]]; then
      scram+=(--add-scram "$mech=[name=$user,password=$pass]")
    fi
  done
  local attempt port cport pport xport sport cluster rc
  for attempt in 1 2 3; do
    read -r port cport pport xport sport < <("$dir/waitbroker" -free 5)
    write_server_properties "$dir" "$port" "$cport" "$pport" "$xport" "$sport"
    rm -rf "$dir/data" "$dir/broker.log" "$dir/broker.out"
    # A cluster id is 16 random bytes in URL-safe base64 without padding.
    cluster=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    if [[ $cluster == -* ]]; then
      cluster=A${cluster:1}
    fi
    "$java" -Xmx256m -cp "$lib/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
      kafka.tools.StorageTool format -t "$cluster" -c "$dir/server.properties" --standalone "${scram[@]}" \
      >"$dir/format.log" 2>&1 || { show_logs "$dir"; die "formatting the storage failed"; }
    log "starting Kafka $version on 127.0.0.1:$port (controller $cport, proxied $pport via $xport, SASL_SSL $sport), files in $dir"
    rc=0
    launch "$dir" "$port" || rc=$?
    if [[ $rc -eq 0 ]]; then
      echo "127.0.0.1:$xport 127.0.0.1:$pport" >"$dir/proxied"
      printf '%s\n' "${sasl_users[@]}" | tr -s ' ' >"$dir/sasl-users"
      echo "127.0.0.1:$sport" >"$dir/sasl"
      log "$((SECONDS - started))s with the build and format"
      echo "127.0.0.1:$port"
      return 0
    fi
    [[ $rc -eq 2 ]] || die "the broker did not become ready"
    log "port taken before the broker bound it (attempt $attempt): trying other ports"
  done
  show_logs "$dir"
  die "no free ports after 3 attempts"
}

# cmd_halt stops the broker but keeps its data and configuration.
cmd_halt() {
  [[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 halt DIR [--kill]"
  local dir pid
  dir=$(cd "$1" && pwd)
  [[ -f $dir/pid ]] || die "no broker running in $dir"
  pid=$(<"$dir/pid")
  if [[ ${2:-} == --kill ]]; then
    ours "$pid" "$dir" || die "pid $pid is not the broker of $dir"
    log "SIGKILL to broker $pid"
    kill -KILL "$pid"
    local i
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    rm -f "$dir/pid" "$dir/brokers"
  elif [[ -n ${2:-} ]]; then
    die "usage: $0 halt DIR [--kill]"
  else
    log "stopping broker $pid (data kept)"
    kill_broker "$dir"
  fi
}

# cmd_resume starts a halted broker again on its ports, with its data.
cmd_resume() {
  [[ $# -eq 1 ]] || die "usage: $0 resume DIR"
  local dir port
  dir=$(cd "$1" && pwd)
  [[ -f $dir/server.properties && -d $dir/data ]] || die "no halted broker in $dir"
  if [[ -f $dir/pid ]] && ours "$(<"$dir/pid")" "$dir"; then
    die "the broker of $dir is running (pid $(<"$dir/pid"))"
  fi
  check_runtime "$dir"
  port=$(sed -n 's/^listeners=PLAINTEXT:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/server.properties")
  [[ -n $port ]] || die "no PLAINTEXT listener in $dir/server.properties"
  log "resuming the broker of $dir on 127.0.0.1:$port"
  launch "$dir" "$port" || die "the broker did not come back"
}

cmd_stop() {
  [[ $# -eq 1 ]] || die "usage: $0 stop DIR"
  [[ -d $1 ]] || { log "no directory $1: nothing to stop"; return 0; }
  local dir
  dir=$(cd "$1" && pwd)
  if [[ -f $dir/pid ]]; then
    log "stopping broker $(<"$dir/pid")"
    kill_broker "$dir"
  else
    log "no broker running in $dir"
  fi
  rm -rf "$dir/data" "$dir/waitbroker" "$dir/proxied" "$dir/sasl" "$dir/sasl-users" "$dir/ca.pem" "$dir/tls"
}

case ${1:-} in
fetch) shift; cmd_fetch "$@" ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
halt) shift; cmd_halt "$@" ;;
resume) shift; cmd_resume "$@" ;;
lib) shift; cmd_lib "$@" ;;
sums) shift; cmd_sums "$@" ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
