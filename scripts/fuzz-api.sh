#!/usr/bin/env bash
# Schema-driven fuzzing of the API with schemathesis (pip install schemathesis), bounded in time:
# starts the built server on the demo district (SQLite, a throwaway data folder), signs in as the
# bureau's supervisor and as a teacher, and checks every operation of the OpenAPI document.
#
# Checked: no 5xx, every status code and content type documented, response headers and bodies as
# the schemas say. Not checked: that every schema-violating request is refused with the status
# schemathesis expects (tus requires 412 for a missing `Tus-Resumable`, an old app gets 426) and
# that every schema-valid request is accepted (business rules: a responsible person must be staff
# of the case, a non-approving review gives a reason, a period is `from`/`to` or `month`).
#
# The data are drawn from a fixed seed, so a run is repeatable and CI does not turn red by luck;
# set FUZZ_SEED to draw others (a finding prints the seed and a curl command to replay it).
#
# usage: scripts/fuzz-api.sh SERVER_BINARY [SECONDS]
set -euo pipefail
binary=$1
budget=${2:-300}
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA_DIR="$data" BIND="127.0.0.1:$port" RUST_LOG=warn "$binary" --demo >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.2
done
token() {
    curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"demo-pass-2026\",\"device_id\":\"$(python3 -c 'import uuid; print(uuid.uuid4())')\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
for user in supervisor teacher; do
    echo "-- as $user"
    timeout "$budget" schemathesis run "http://127.0.0.1:$port/api/v1/openapi.json" \
        -H "Authorization: Bearer $(token "$user")" \
        --phases examples,coverage,fuzzing --max-examples 25 --request-timeout 30 --no-color \
        --seed "${FUZZ_SEED:-63027537974554848766271990705889232496}" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
done
