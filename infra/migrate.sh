#!/usr/bin/env bash
# Applies the schema migrations of a deployed stack (docs/deploy.md "Migrations"): one ECS task of
# the worker's image and secrets running `migrate` (safe to run twice), on the stack's own capacity
# and network, in either capacity mode. Waits for it, prints its log and exits with its exit code.
#
#   infra/migrate.sh [stack]        default: the selected Pulumi stack
#
# Needs the pulumi and aws CLIs, signed in as for `pulumi up`.
set -euo pipefail
stack=()
if [ $# -gt 0 ]; then stack=(--stack "$1"); fi
output() { pulumi stack output "${stack[@]}" "$@"; }

task_input="$(output migrationTask --json)"
cluster="$(output clusterName)"
log_group="$(output logGroupName)"

read -r task_arn failure < <(aws ecs run-task --cli-input-json "$task_input" \
  --query '[tasks[0].taskArn, failures[0].reason]' --output text)
if [ -z "$task_arn" ] || [ "$task_arn" = "None" ]; then
  echo "migrate: ECS did not start the task: ${failure:-no reason given}" >&2
  exit 1
fi
echo "migrate: started ${task_arn##*/} on ${cluster}; waiting for it to finish (ec2-spot may first launch an instance)"

# The waiter gives up after 10 minutes; an instance launch plus a long migration may take longer.
for attempt in 1 2 3; do
  if aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task_arn"; then break; fi
  if [ "$attempt" = 3 ]; then echo "migrate: the task has not stopped after 30 minutes: $task_arn" >&2; exit 1; fi
done

read -r exit_code reason < <(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
  --query 'tasks[0].[containers[0].exitCode, stoppedReason]' --output text)
aws logs tail "$log_group" --since 1h --log-stream-name-prefix "worker/worker/${task_arn##*/}" || true
if [ "$exit_code" = "None" ] || [ -z "$exit_code" ]; then
  echo "migrate: the migration never ran: ${reason:-unknown}" >&2
  exit 1
fi
echo "migrate: exited ${exit_code}"
exit "$exit_code"
