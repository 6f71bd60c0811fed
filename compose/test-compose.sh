#!/usr/bin/env bash
# The container test (issue 4): runs the compose stack on a real Docker engine
# and checks what a user relies on. Every service uses host networking with
# 127.0.0.1 endpoints (docker-compose.hostnet.yml), so nothing leaves loopback.
#
#   1. installs what it needs (docker.io, docker-compose, debootstrap, curl,
#      python3) when missing, through scripts/install-deps.sh --containers,
#      which starts no service (Debian would start dockerd and containerd)
#      and leaves none enabled; starts its own Docker daemon when none
#      answers, and stops it at the end;
#   2. builds the images (compose/build-images.sh: Debian 12 base from the
#      apt mirror via debootstrap, cached, then the multi-stage upmesh image);
#   3. brings the stack up with 3 workers and sends 300 requests: all 200,
#      every worker container served some (X-Upmesh-Worker);
#   4. adds version 2 through the config API in SESSION mode: clients holding
#      a dynsoftup cookie for version 1 stay on v1, new clients get v2
#      (X-Backend-Version); deletes v2: everyone is back on v1;
#   5. restarts the router container: the API state survived (same clusters),
#      traffic resumes and is still routed by it;
#   6. runs the default configuration (config/mesh.json, service names as
#      host names) in one container without any network (only its own
#      loopback; the names map to 127.0.0.1) through the compose health checks
#      and a request;
#   7. tears down: no container, network or volume of the test remains, and a
#      daemon it started is stopped by PID.
#
# Exit status: 0 when every check passed; 1 on the first failed check; 77
# with "SKIPPED" when no Docker engine can run on this machine (said plainly;
# CTest reports it as skipped, not passed).
# Needs root (apt, dockerd, debootstrap) unless a daemon answers and the base
# image exists. Settings: UPMESH_COMPOSE_CACHE (/var/cache/upmesh-compose:
# base root file system tarball and, for a daemon this script starts, its
# data root), UPMESH_COMPOSE_KEEP=1 leaves the stack (and a daemon the test
# started) up for inspection.
set -euo pipefail

compose_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_dir="${UPMESH_COMPOSE_CACHE:-/var/cache/upmesh-compose}"
export UPMESH_COMPOSE_CACHE="$cache_dir"
project=upmesh-compose-test
# docker-compose.hostnet.yml / config/mesh-hostnet.json
client_url=http://127.0.0.1:21080
api_url=http://127.0.0.1:21090
test_ports=(21080 21090 21550 21551 21552 21553 21001 21002)
workers=3
requests=300

run_dir=$(mktemp -d /tmp/upmesh-compose-test.XXXXXX)
started_dockerd_pid=""
stack_up=0
default_config_container=""
build_started_at=""
skipped=0
script_start=$SECONDS
step_start=$SECONDS

say() { echo "test-compose: $*"; }
step() {
  step_start=$SECONDS
  echo
  echo "== $*"
}
pass() { echo "PASS: $* ($((SECONDS - step_start)) s)"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
skip() {
  skipped=1
  echo "SKIPPED: $* -- the container test did not run (no Docker engine on this machine)"
  exit 77
}

compose() {
  timeout 300 "${compose_cli[@]}" -p "$project" \
    -f "$compose_dir/docker-compose.yml" -f "$compose_dir/docker-compose.hostnet.yml" "$@"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [[ -n "$default_config_container" ]]; then
    docker rm -f "$default_config_container" >/dev/null 2>&1
  fi
  if [[ $stack_up == 1 ]]; then
    if [[ $status != 0 ]]; then
      echo
      echo "== logs of the stack (last 25 lines per service)"
      compose logs --no-color --tail 25 2>&1 | sed 's/^/    /'
    fi
    if [[ "${UPMESH_COMPOSE_KEEP:-0}" == 1 ]]; then
      say "UPMESH_COMPOSE_KEEP=1: stack $project left running"
    else
      step "teardown"
      compose down --volumes --remove-orphans --timeout 20 >"$run_dir/down.log" 2>&1
      local left
      left=$(docker ps -aq --filter "label=com.docker.compose.project=$project" | wc -l)
      if [[ $left != 0 ]]; then
        echo "FAIL: $left container(s) of $project still exist after docker-compose down" >&2
        status=1
      elif docker volume ls -q | grep -q "^${project}_"; then
        echo "FAIL: a volume of $project still exists after docker-compose down -v" >&2
        status=1
      elif docker network ls -q --filter "label=com.docker.compose.project=$project" | grep -q .; then
        echo "FAIL: a network of $project still exists after docker-compose down" >&2
        status=1
      else
        pass "no container, volume or network of $project left"
      fi
    fi
  fi
  if [[ -n "$started_dockerd_pid" && "${UPMESH_COMPOSE_KEEP:-0}" == 1 && $stack_up == 1 ]]; then
    say "UPMESH_COMPOSE_KEEP=1: the Docker daemon this test started (PID $started_dockerd_pid) keeps running; stop it with kill $started_dockerd_pid"
  elif [[ -n "$started_dockerd_pid" ]]; then
    # This daemon's data root is the test's own cache: drop what earlier
    # builds left (untagged images from before this run's build), so the
    # cache does not grow by an image per source change. The layers this
    # build reused stay: they are parents of current images.
    if [[ -n "$build_started_at" ]]; then
      docker image prune -f --filter "until=$build_started_at" >/dev/null 2>&1
    fi
    say "stopping the Docker daemon this test started (PID $started_dockerd_pid)"
    kill -TERM "$started_dockerd_pid" 2>/dev/null
    for _ in $(seq 60); do
      kill -0 "$started_dockerd_pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$started_dockerd_pid" 2>/dev/null; then
      echo "FAIL: dockerd (PID $started_dockerd_pid) still running 30 s after SIGTERM; killing it" >&2
      kill -KILL "$started_dockerd_pid" 2>/dev/null
      status=1
    else
      say "dockerd stopped"
    fi
  fi
  rm -rf "$run_dir"
  echo
  if [[ $skipped == 1 ]]; then
    :
  elif [[ $status == 0 ]]; then
    echo "test-compose: all checks passed in $((SECONDS - script_start)) s"
  else
    echo "test-compose: FAILED (status $status) after $((SECONDS - script_start)) s" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. tools and a Docker engine ---------------------------------------------

step "tools"
if ! command -v docker-compose >/dev/null && docker compose version >/dev/null 2>&1; then
  compose_cli=(docker compose)
else
  compose_cli=(docker-compose)
fi
missing=()
docker_answers() { timeout 20 docker info >/dev/null 2>&1; }
command -v docker >/dev/null && docker_answers || { command -v dockerd >/dev/null || missing+=(docker.io); }
command -v docker >/dev/null || missing+=(docker.io)
[[ ${compose_cli[0]} == docker ]] || command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
if [[ ${#missing[@]} -gt 0 ]]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  [[ $(id -u) == 0 ]] || skip "missing ${missing[*]} and not root, so they cannot be installed"
  say "installing ${missing[*]} (scripts/install-deps.sh --containers: no service started or left enabled)"
  if ! bash "$compose_dir/../scripts/install-deps.sh" --containers >"$run_dir/apt.log" 2>&1; then
    tail -n 20 "$run_dir/apt.log" >&2
    if ! command -v dockerd >/dev/null && ! docker_answers; then
      skip "could not install ${missing[*]} (apt-get failed, log above)"
    fi
    fail "could not install ${missing[*]} (apt-get failed, log above)"
  fi
fi
pass "$(docker --version | head -n 1), ${compose_cli[*]} $("${compose_cli[@]}" version --short 2>/dev/null | head -n 1)"

step "Docker engine"
if docker_answers; then
  pass "a Docker daemon already answers; using it (and leaving it running)"
else
  [[ $(id -u) == 0 ]] || skip "no Docker daemon answers and starting one needs root"
  data_root="$cache_dir/docker-data"
  mkdir -p "$data_root"
  start_dockerd() {
    say "starting dockerd --data-root $data_root $*"
    setsid dockerd --data-root "$data_root" "$@" >>"$run_dir/dockerd.log" 2>&1 &
    started_dockerd_pid=$!
    for _ in $(seq 60); do
      kill -0 "$started_dockerd_pid" 2>/dev/null || break
      docker_answers && return 0
      sleep 0.5
    done
    kill -TERM "$started_dockerd_pid" 2>/dev/null || true
    wait "$started_dockerd_pid" 2>/dev/null || true
    started_dockerd_pid=""
    return 1
  }
  # Host networking needs neither iptables nor the default bridge, so a
  # machine without them can still run the test.
  if ! start_dockerd && ! start_dockerd --iptables=false --bridge=none; then
    tail -n 15 "$run_dir/dockerd.log" | sed 's/^/    /'
    skip "dockerd did not start (its log above)"
  fi
  pass "dockerd started (PID $started_dockerd_pid, server $(docker version -f '{{.Server.Version}}'))"
fi

# --- 2. images -----------------------------------------------------------------

step "images"
for port in "${test_ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port on 127.0.0.1 is taken; the test stack needs ${test_ports[*]}"
  fi
done
if docker ps -aq --filter "label=com.docker.compose.project=$project" | grep -q .; then
  say "removing a stack $project left over from an earlier run"
  compose down --volumes --remove-orphans --timeout 20 >/dev/null 2>&1 || true
fi
build_started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
bash "$compose_dir/build-images.sh"
pass "images built"

# --- 3. stack up, scaled workers, traffic over every worker --------------------

# Prints "status version cluster worker set-cookie" for one GET; $1: extra
# curl arguments (e.g. a Cookie header), may be empty.
request() {
  curl -s -o /dev/null --max-time 5 "$@" \
    -w '%{http_code} %header{x-backend-version} %header{x-upmesh-cluster} %header{x-upmesh-worker} %header{set-cookie}\n' \
    "$client_url/" || echo "000 - - - -"
}

wait_healthy() {
  local expected=$1 deadline=$((SECONDS + 120)) ids healthy
  while ((SECONDS < deadline)); do
    ids=$(docker ps -q --filter "label=com.docker.compose.project=$project")
    healthy=$(for id in $ids; do docker inspect -f '{{.State.Health.Status}}' "$id"; done | grep -c '^healthy$' || true)
    if [[ $healthy == "$expected" ]]; then return 0; fi
    sleep 1
  done
  docker ps -a --filter "label=com.docker.compose.project=$project" --format '    {{.Names}}: {{.Status}}'
  return 1
}

step "stack up with $workers workers (host networking, 127.0.0.1 only)"
stack_up=1
compose up -d --no-build --scale "worker=$workers" >"$run_dir/up.log" 2>&1 || { cat "$run_dir/up.log"; fail "docker-compose up failed"; }
wait_healthy $((workers + 4)) || fail "not all $((workers + 4)) containers became healthy within 120 s"
docker ps --filter "label=com.docker.compose.project=$project" --format '    {{.Names}}: {{.Status}}' | sort
pass "router, frontend, $workers workers, backend-v1, backend-v2 healthy"

if command -v ss >/dev/null; then
  listeners=$(ss -Hltn | awk '{print $4}' | grep -E ":($(IFS='|'; echo "${test_ports[*]}"))\$" || true)
  outside=$(grep -v '^127\.0\.0\.1:' <<<"$listeners" || true)
  [[ -z "$outside" ]] || fail "listeners not on 127.0.0.1: $outside"
  pass "all $(wc -l <<<"$listeners") listening sockets of the stack are on 127.0.0.1"
fi

step "$requests requests over $workers workers"
# Each worker container's name, from its command line (the --name argument).
declare -A worker_container
for id in $(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=worker"); do
  name=$(docker exec "$id" cat /proc/1/cmdline | tr '\0' '\n' | sed -n '/^--name$/{n;p}')
  [[ -n "$name" ]] || fail "could not read the worker name of container $id"
  worker_container[$name]=$(docker inspect -f '{{.Name}}' "$id" | tr -d /)
done
[[ ${#worker_container[@]} == "$workers" ]] || fail "expected $workers worker containers, found ${#worker_container[@]}"
export client_url
export -f request
seq "$requests" | xargs -P 6 -I{} bash -c request >"$run_dir/traffic.txt"
ok=$(grep -c '^200 v1 ' "$run_dir/traffic.txt" || true)
[[ $ok == "$requests" ]] || fail "$ok of $requests requests answered 200 by v1; others: $(grep -v '^200 v1 ' "$run_dir/traffic.txt" | sort | uniq -c | head -5)"
for name in "${!worker_container[@]}"; do
  served=$(awk -v w="$name" '$4 == w' "$run_dir/traffic.txt" | wc -l)
  echo "    ${worker_container[$name]} ($name): $served requests"
  ((served > 0)) || fail "worker container ${worker_container[$name]} ($name) served none of $requests requests"
done
pass "all $requests requests 200 from v1, every one of the $workers workers served some"

# --- 4. SESSION rollout of version 2 and rollback ------------------------------

# Lists the clusters as "version uuid" lines, newest first.
clusters() {
  curl -sf --max-time 5 "$api_url/configuration/cluster" |
    python3 -c 'import json, sys; [print(e["cluster"]["version"], e["cluster"]["uuid"]) for e in json.load(sys.stdin)]'
}
# Waits (up to 10 s) until a request without cookie gets version $1.
wait_new_clients_get() {
  local deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    [[ $(request | awk '{print $1, $2}') == "200 $1" ]] && return 0
    sleep 0.2
  done
  return 1
}
# Checks $2 requests with the extra curl arguments $3... all get version $1
# from cluster $4 (the cluster's uuid); prints a summary line.
expect_version() {
  local version=$1 count=$2 cluster=$3 label=$4
  shift 4
  local i line got=0
  for ((i = 0; i < count; i++)); do
    line=$(request "$@")
    read -r status got_version got_cluster _ <<<"$line"
    if [[ $status != 200 || $got_version != "$version" || $got_cluster != "$cluster" ]]; then
      fail "$label: expected 200 from $version (cluster $cluster), got: $line"
    fi
    got=$((got + 1))
  done
  echo "    $label: $got/$count requests 200 from $version"
}

step "SESSION rollout of version 2 through the config API"
mapfile -t before < <(clusters)
[[ ${#before[@]} == 1 && ${before[0]} == "1 "* ]] || fail "expected one cluster (version 1) at start, got: ${before[*]}"
v1_uuid=${before[0]#1 }
echo "    version 1 is cluster $v1_uuid"
# Ten clients with a session on version 1 before the upgrade. The initial
# cluster has no upgrade mode, so the mesh may not set a cookie yet; such a
# client's session cookie names version 1's cluster.
old_cookies=()
for i in $(seq 10); do
  line=$(request)
  cookie=$(sed -n 's/.*\(dynsoftup=[^;]*\).*/\1/p' <<<"$line")
  old_cookies+=("${cookie:-dynsoftup=$v1_uuid}")
done
[[ ${old_cookies[0]} == "dynsoftup=$v1_uuid" ]] || fail "a version 1 session got cookie ${old_cookies[0]}"
v2_body='{"cluster": {"version": 2, "servers": [{"ip": "127.0.0.1", "port": 21002}],
          "upgradeTransition": {"mode": "SESSION", "sessionTimeout": 3600}}}'
reply=$(curl -s --max-time 5 -X PUT -H 'Content-Type: application/json' --data "$v2_body" \
          -w '\n%{http_code}' "$api_url/configuration/cluster")
[[ $(tail -n 1 <<<"$reply") == 202 ]] || fail "PUT /configuration/cluster answered: $reply"
v2_uuid=$(head -n 1 <<<"$reply")
echo "    PUT version 2 (SESSION, sessionTimeout 3600): 202, cluster $v2_uuid"
wait_new_clients_get v2 || fail "a client without cookie still does not get v2 10 s after the PUT"
for cookie in "${old_cookies[@]}"; do
  expect_version v1 3 "$v1_uuid" "old session ($cookie)" -H "Cookie: $cookie" >/dev/null
done
echo "    old sessions: ${#old_cookies[@]} clients x 3 requests with their v1 cookie, all 200 from v1"
new_cookies=()
for i in $(seq 10); do
  line=$(request)
  read -r status version cluster _ <<<"$line"
  [[ $status == 200 && $version == v2 && $cluster == "$v2_uuid" ]] || fail "new client: expected 200 from v2, got: $line"
  cookie=$(sed -n 's/.*\(dynsoftup=[^;]*\).*/\1/p' <<<"$line")
  [[ $cookie == "dynsoftup=$v2_uuid" ]] || fail "new client: expected Set-Cookie dynsoftup=$v2_uuid, got: $line"
  new_cookies+=("$cookie")
done
echo "    new sessions: 10 clients without cookie got v2 and Set-Cookie dynsoftup=$v2_uuid"
for cookie in "${new_cookies[@]}"; do
  expect_version v2 3 "$v2_uuid" "new session" -H "Cookie: $cookie" >/dev/null
done
echo "    new sessions stay: 10 clients x 3 requests with their v2 cookie, all 200 from v2"
pass "old sessions stay on v1, new sessions get v2"

step "rollback: DELETE version 2"
code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' -X DELETE "$api_url/configuration/cluster/$v2_uuid")
[[ $code == 202 ]] || fail "DELETE /configuration/cluster/$v2_uuid answered $code"
echo "    DELETE version 2: 202"
mapfile -t after < <(clusters)
[[ ${#after[@]} == 1 && ${after[0]} == "1 $v1_uuid" ]] || fail "after the DELETE the API lists: ${after[*]}"
wait_new_clients_get v1 || fail "clients without cookie still get v2 10 s after the DELETE"
expect_version v1 10 "$v1_uuid" "clients without cookie"
expect_version v1 10 "$v1_uuid" "clients with a v2 cookie" -H "Cookie: ${new_cookies[0]}"
expect_version v1 10 "$v1_uuid" "clients with a v1 cookie" -H "Cookie: ${old_cookies[0]}"
pass "everyone is back on v1"

# --- 5. router restart keeps the API state --------------------------------------

step "restart the router container"
# Something to lose: version 2 again, under an id chosen here.
restart_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
         --data "{\"cluster\": {\"uuid\": \"$restart_uuid\", \"version\": 2, \"servers\": [{\"ip\": \"127.0.0.1\", \"port\": 21002}],
                  \"upgradeTransition\": {\"mode\": \"SESSION\", \"sessionTimeout\": 3600}}}" \
         "$api_url/configuration/cluster")
[[ $code == 202 ]] || fail "PUT version 2 with uuid $restart_uuid answered $code"
wait_new_clients_get v2 || fail "clients without cookie do not get the re-added v2"
cluster_json() {
  curl -sf --max-time 5 "$api_url/configuration/cluster" |
    python3 -c 'import json, sys; print(json.dumps([e["cluster"] for e in json.load(sys.stdin)], sort_keys=True))'
}
state_before=$(cluster_json)
echo "    before: $(clusters | tr '\n' ' ')"
router_id=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=router")
started_before=$(docker inspect -f '{{.State.StartedAt}}' "$router_id")
compose restart router >"$run_dir/restart.log" 2>&1 || { cat "$run_dir/restart.log"; fail "docker-compose restart router failed"; }
[[ $(docker inspect -f '{{.State.StartedAt}}' "$router_id") != "$started_before" ]] || fail "the router container did not restart"
wait_healthy $((workers + 4)) || fail "the stack is not healthy again within 120 s of the router restart"
state_after=$(cluster_json) || fail "the config API does not answer after the restart"
echo "    after:  $(clusters | tr '\n' ' ')"
[[ "$state_after" == "$state_before" ]] || fail "the clusters changed across the restart: before $state_before, after $state_after"
echo "    the API lists the same clusters (servers, versions, uuids, upgrade modes)"
deadline=$((SECONDS + 30))
until [[ $(request | cut -d' ' -f1) == 200 ]]; do
  ((SECONDS < deadline)) || fail "no 200 from the mesh within 30 s of the router restart"
  sleep 0.2
done
expect_version v2 20 "$restart_uuid" "new clients after the restart"
if docker exec "$router_id" sh -c 'command -v upmeshctl' >/dev/null 2>&1; then
  # The operator's client inside the router container sees the same state.
  listing=$(compose exec -T router upmeshctl --config /etc/upmesh/mesh.json list) ||
    fail "upmeshctl list in the router container failed: $listing"
  sed 's/^/    upmeshctl: /' <<<"$listing"
  grep -q "^$restart_uuid " <<<"$listing" && grep -q "^$v1_uuid " <<<"$listing" ||
    fail "upmeshctl list in the router container does not show both versions"
fi
expect_version v1 20 "$v1_uuid" "v1 sessions after the restart" -H "Cookie: ${old_cookies[0]}"
pass "API state survived the router restart and traffic resumed"

# --- 6. the default configuration ------------------------------------------------

step "default configuration (config/mesh.json) in one container without network"
# The bridge-network stack itself is not started here (its traffic would
# cross the Docker bridge); this runs every process of it with the same config
# file in one container whose only interface is its own loopback, the
# service names mapped to 127.0.0.1, and applies the compose file's checks.
default_config_container=$project-default-config
docker run -d --rm --network none --label "com.docker.compose.project=$project" \
  --add-host router:127.0.0.1 --add-host backend-v1:127.0.0.1 --add-host backend-v2:127.0.0.1 \
  -v "$compose_dir/config/mesh.json:/etc/upmesh/mesh.json:ro" --name "$default_config_container" \
  "${UPMESH_IMAGE:-upmesh:local}" bash -c '
    upmesh-backend --address 0.0.0.0 --port 8001 --name v1 &
    upmesh-backend --address 0.0.0.0 --port 8002 --name v2 &
    upmesh-router --config /etc/upmesh/mesh.json &
    upmesh-worker --config /etc/upmesh/mesh.json --name "worker-$HOSTNAME" &
    exec upmesh-frontend --config /etc/upmesh/mesh.json' >/dev/null
# The same checks as docker-compose.yml's healthcheck entries; the frontend
# one also asks for 200, i.e. a whole trip through frontend, worker (found
# through the router) and the backend-v1 host name.
for check in "router:listening 5550 5551 5552 9090" "worker:connected 5551" \
             "backend-v1:http 8001 200" "backend-v2:http 8002 200" "frontend:http 8080 200"; do
  deadline=$((SECONDS + 20))
  until docker exec "$default_config_container" upmesh-healthcheck ${check#*:} >"$run_dir/check.txt" 2>&1; do
    if ((SECONDS >= deadline)); then
      docker logs "$default_config_container" 2>&1 | tail -n 20 | sed 's/^/    /'
      fail "${check%%:*} check (upmesh-healthcheck ${check#*:}) still failing after 20 s: $(cat "$run_dir/check.txt")"
    fi
    sleep 0.5
  done
  echo "    ${check%%:*}: upmesh-healthcheck ${check#*:}: ok"
done
docker rm -f "$default_config_container" >/dev/null
default_config_container=""
pass "the default configuration works with service names as host names"
