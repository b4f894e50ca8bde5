/**
 * The stack as Pulumi components (infra/worker.ts, infra/component.ts), under Pulumi's mocks, as the
 * engine is told of it: every resource a child of the AcademyMessagingWorker or of one of its
 * components, each aliased to the URN it had in stacks deployed before the components, when every
 * resource hung at the stack's root. The engine finds a resource by its URN or an alias: with the
 * aliases, `pulumi up` after the change takes every resource over and replaces none.
 */
import { expect } from "chai";
import type { AliasSpec, RecordingMocks, Registration } from "../support/pulumi-mocks";
import { build, PROJECT, settingsFor } from "../support/worker-stack";

const ROOT = `urn:pulumi:dev::${PROJECT}::`;
const COMPONENT = "academy:messaging:";

/** The resources deployed stacks hold (stack `dev`, the default settings), as `type::name` at the stack's root. */
const DEPLOYED = [
  "aws:appautoscaling/policy:Policy::messaging-idle-to-minimum",
  "aws:appautoscaling/policy:Policy::messaging-tasks-for-backlog",
  "aws:appautoscaling/scheduledAction:ScheduledAction::messaging-warm-from",
  "aws:appautoscaling/scheduledAction:ScheduledAction::messaging-warm-until",
  "aws:appautoscaling/target:Target::messaging-task-count",
  "aws:cloudwatch/dashboard:Dashboard::messaging-dashboard",
  "aws:cloudwatch/logGroup:LogGroup::messaging-logs",
  "aws:cloudwatch/metricAlarm:MetricAlarm::messaging-dlq-not-empty",
  "aws:cloudwatch/metricAlarm:MetricAlarm::messaging-oldest-job-too-old",
  "aws:cloudwatch/metricAlarm:MetricAlarm::messaging-queue-has-work",
  "aws:cloudwatch/metricAlarm:MetricAlarm::messaging-queue-idle",
  "aws:ec2/securityGroup:SecurityGroup::messaging-egress-only",
  "aws:ecs/cluster:Cluster::messaging-cluster",
  "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders::messaging-capacity",
  "aws:ecs/service:Service::messaging-service",
  "aws:ecs/taskDefinition:TaskDefinition::messaging-task",
  "aws:iam/role:Role::messaging-execution-role",
  "aws:iam/role:Role::messaging-keep-alive-role",
  "aws:iam/role:Role::messaging-task-role",
  "aws:iam/rolePolicy:RolePolicy::messaging-execution-policy",
  "aws:iam/rolePolicy:RolePolicy::messaging-keep-alive-policy",
  "aws:iam/rolePolicy:RolePolicy::messaging-task-policy",
  "aws:scheduler/schedule:Schedule::messaging-keep-alive",
  "aws:sns/topic:Topic::messaging-alarms",
  "aws:sns/topicSubscription:TopicSubscription::messaging-alarms-email",
  "aws:sqs/queue:Queue::messaging-dlq",
  "aws:sqs/queue:Queue::messaging-queue",
  "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy::messaging-dlq-redrive-allow",
  "aws:ssm/parameter:Parameter::messaging-database-url",
  "aws:ssm/parameter:Parameter::messaging-recipient-hash-secret",
  "aws:ssm/parameter:Parameter::messaging-solapi-api-key",
  "aws:ssm/parameter:Parameter::messaging-solapi-api-secret",
  "random:index/randomPassword:RandomPassword::messaging-recipient-hash-secret",
];
/** The resources only ec2-spot stacks hold besides. */
const DEPLOYED_EC2 = [
  "aws:autoscaling/group:Group::messaging-instances",
  "aws:ec2/launchTemplate:LaunchTemplate::messaging-instances",
  "aws:ecs/capacityProvider:CapacityProvider::messaging-spot-instances",
  "aws:iam/instanceProfile:InstanceProfile::messaging-instance-profile",
  "aws:iam/role:Role::messaging-instance-role",
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment::messaging-instance-ecs",
];

/** A registration's URN, by the engine's rule: the parent's qualified type, `$`, its own type; `::` its name. */
function urnOf(type: string, name: string, parent: string): string {
  const parentType = parent ? `${parent.split("::")[2]}$` : "";
  return `${ROOT}${parentType}${type}::${name}`;
}

/** The URN an alias names, by the engine's rule: the resource's own type, name and parent unless the alias gives others. */
function aliasUrn(registration: Registration, alias: AliasSpec): string {
  if (alias.urn) return alias.urn;
  const parent = alias.noParent ? "" : alias.parentUrn || registration.parent;
  return urnOf(alias.type || registration.type, alias.name || registration.name, parent);
}

const isComponent = (registration: Registration) => registration.type.startsWith(COMPONENT);

async function registrations(mode: "fargate-spot" | "ec2-spot"): Promise<RecordingMocks> {
  const settings = settingsFor();
  return (await build({ ...settings, capacity: { ...settings.capacity, mode } })).mocks;
}

describe("infrastructure: the stack as components, aliased to where deployed stacks hold its resources", function () {
  this.timeout(30_000);

  for (const [mode, deployed] of [
    ["fargate-spot", DEPLOYED],
    ["ec2-spot", [...DEPLOYED, ...DEPLOYED_EC2]],
  ] as const) {
    it(`${mode}: each resource's alias names the URN a deployed stack holds it under, one for one, and its own URN is under a component`, async () => {
      const mocks = await registrations(mode);
      const resources = mocks.registrations.filter((registration) => !isComponent(registration));
      for (const resource of resources) {
        const own = urnOf(resource.type, resource.name, resource.parent);
        expect(own.startsWith(`${ROOT}${COMPONENT}Worker`), own).to.equal(true);
        expect(
          resource.aliases.map((alias) => aliasUrn(resource, alias)),
          own,
        ).to.deep.equal([urnOf(resource.type, resource.name, "")]);
      }
      const aliased = resources.map((resource) => aliasUrn(resource, resource.aliases[0]!));
      expect(aliased.sort()).to.deep.equal(deployed.map((resource) => `${ROOT}${resource}`).sort());
    });
  }

  it("the components: the worker at the stack's root, the others its children, none aliased (they are new and hold nothing in AWS), each registering its outputs", async () => {
    for (const mode of ["fargate-spot", "ec2-spot"] as const) {
      const mocks = await registrations(mode);
      const components = mocks.registrations.filter(isComponent);
      const worker = urnOf(`${COMPONENT}Worker`, "messaging", "");
      const capacity = mode === "fargate-spot" ? "FargateSpotCapacity" : "Ec2SpotCapacity";
      expect(components.map((component) => urnOf(component.type, component.name, component.parent)).sort()).to.deep.equal(
        [
          worker,
          ...["Alarms", capacity, "JobQueues", "KeepAlive", "QueueDepthScaling", "Secrets"].map(
            (kind) => `${ROOT}${COMPONENT}Worker$${COMPONENT}${kind}::messaging`,
          ),
        ].sort(),
      );
      for (const component of components) expect(component.aliases, component.type).to.deep.equal([]);
      for (const component of components) {
        const outputs = mocks.outputsRegistered.get(urnOf(component.type, component.name, component.parent));
        expect(outputs, component.type).to.be.an("array").that.is.not.empty;
      }
    }
  });
});
