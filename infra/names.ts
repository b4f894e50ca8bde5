/**
 * Every physical name the stack gives an AWS resource, derived from one stem and the stack's name.
 * Deployed stacks hold these names, and most of them cannot change in place: a different name is
 * a new resource, so each one here must stay as it is.
 */

/** The stem of every physical name, and the `project` tag. */
export const NAME_STEM = "academy-messaging";

/** The job queue's name unless the stack config gives another (docs/contract.md §5). */
export const DEFAULT_QUEUE_NAME = `${NAME_STEM}-jobs`;

/** The queue and its DLQ: the configured name, with the stack's name after it when asked (several stacks in one account). */
export function queueNames(configured: string, stack: string, suffixWithStack: boolean): { name: string; deadLetterName: string } {
  const name = suffixWithStack ? `${configured}-${stack}` : configured;
  return { name, deadLetterName: `${name}-dlq` };
}

/** The names of one stack's resources, e.g. for stack `dev`. */
export function stackNames(stack: string) {
  const ofStack = `${NAME_STEM}-${stack}`;
  const worker = `${NAME_STEM}-worker`;
  return {
    /** `academy-messaging-worker-dev`: the ECR repository the stack builds into. */
    repository: `${worker}-${stack}`,
    /** `academy-messaging-worker-dev`: the task definition's family. */
    taskFamily: `${worker}-${stack}`,
    /** `/ecs/academy-messaging-worker/dev` */
    logGroup: `/ecs/${worker}/${stack}`,
    /** `/academy-messaging/dev`: the path of the SSM parameters holding the worker's secrets. */
    parameterPath: `/${NAME_STEM}/${stack}`,
    /** `academy-messaging-dev` and `academy-messaging-dev-ec2`: one cluster per capacity mode (compute/capacity.ts says why). */
    fargateCluster: ofStack,
    ec2Cluster: `${ofStack}-ec2`,
    /** `academy-messaging-dev`: the EC2 instances' Name tag. */
    instance: ofStack,
    /** `academy-messaging-dev-spot`: the EC2 Spot instances' capacity provider. */
    capacityProvider: `${ofStack}-spot`,
    /** `academy-messaging-worker`: the ECS service, in its stack's own cluster. */
    service: worker,
    /** `academy-messaging-dev-warm-from`, `…-warm-until`: the warm window's scheduled actions. */
    warmWindowAction: (edge: "from" | "until") => `${ofStack}-warm-${edge}`,
    /** `academy-messaging-dev-alarms` */
    alarmTopic: `${ofStack}-alarms`,
    /** `academy-messaging-dev-keep-alive` */
    keepAliveSchedule: `${ofStack}-keep-alive`,
    /** `academy-messaging-dev` */
    dashboard: ofStack,
  };
}

/** The tags every resource carries (the AWS provider's default tags). */
export function stackTags(stack: string): Record<string, string> {
  return { project: NAME_STEM, stack };
}
