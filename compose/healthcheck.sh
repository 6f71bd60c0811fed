#!/bin/bash
# Container health checks for the upmesh images (installed as
# /usr/local/bin/upmesh-healthcheck). The runtime image has neither curl nor
# python, so the checks use bash's /dev/tcp. Exit 0 = healthy.
#
#   upmesh-healthcheck listening PORT...      something accepts TCP on 127.0.0.1:PORT (each PORT)
#   upmesh-healthcheck http PORT [STATUS]     GET / on 127.0.0.1:PORT answers with an HTTP
#                                             status line (with STATUS if given, e.g. 200)
#   upmesh-healthcheck connected PORT         this container holds an established TCP
#                                             connection to remote port PORT (a worker's
#                                             link to the router)
set -u

usage() {
  echo "usage: upmesh-healthcheck listening PORT... | http PORT [STATUS] | connected PORT" >&2
  exit 2
}

listening() {
  local port
  for port in "$@"; do
    # A subshell, so the descriptor closes at once.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "nothing listens on 127.0.0.1:$port"
      return 1
    fi
  done
}

http_status_line() {
  local port=$1 expected=${2:-} line
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: upmesh-healthcheck\r\nConnection: close\r\n\r\n' >&3
  # Bounded: a frontend that accepts but never answers must not hang the check.
  if ! IFS= read -r -t 5 line <&3; then
    echo "no HTTP answer from 127.0.0.1:$port within 5 s"
    return 1
  fi
  exec 3<&-
  line=${line%$'\r'}
  if [[ ! "$line" =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]]; then
    echo "not an HTTP status line from 127.0.0.1:$port: $line"
    return 1
  fi
  if [[ -n "$expected" && "${BASH_REMATCH[1]}" != "$expected" ]]; then
    echo "127.0.0.1:$port answered $line, expected $expected"
    return 1
  fi
}

connected() {
  # /proc/net/tcp{,6}: "sl local_address rem_address st ..."; addresses are
  # HEX_IP:HEX_PORT, state 01 is ESTABLISHED.
  local hex_port
  hex_port=$(printf '%04X' "$1")
  if ! grep -qE "^ *[0-9]+: [0-9A-F]+:[0-9A-F]{4} [0-9A-F]+:$hex_port 01 " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
    echo "no established connection to remote port $1"
    return 1
  fi
}

[[ $# -ge 2 ]] || usage
check=$1
shift
for port in "$@"; do
  [[ "$port" =~ ^[0-9]+$ ]] || usage
done
case "$check" in
  listening) listening "$@" ;;
  http) [[ $# -le 2 ]] || usage; http_status_line "$@" ;;
  connected) [[ $# -eq 1 ]] || usage; connected "$1" ;;
  *) usage ;;
esac
