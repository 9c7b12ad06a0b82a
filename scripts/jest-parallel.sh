#!/usr/bin/env bash
# The jest projects in two processes side by side: e2e (real n8n; its start-ups are CPU-bound)
# and unit + n8n + integration (mostly waiting on PostgreSQL). Test files share no state (each has
# its own scratch database, free ports and Redis prefix), so the halves only compete for cores and
# the wall time is roughly the longer half. e2e lines are prefixed with [e2e].
set -uo pipefail
cd "$(dirname "$0")/.."

(set -o pipefail; npx jest --selectProjects e2e --runInBand --passWithNoTests "$@" 2>&1 | sed -u 's/^/[e2e] /') &
e2e=$!
npx jest --selectProjects unit n8n integration --runInBand --passWithNoTests "$@"
rest=$?
wait "$e2e"
e2e_status=$?
echo "unit/n8n/integration exit $rest, e2e exit $e2e_status"
[ "$rest" -eq 0 ] && [ "$e2e_status" -eq 0 ]
