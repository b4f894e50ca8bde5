/**
 * Pulumi's unit-test runtime (no CLI, no plugins, no network): every resource registration and
 * invoke is recorded, with what the engine is told of each registration besides its inputs (its
 * parent, its aliases, the outputs a component registers), and outputs the cloud would compute
 * (ARNs, URLs) are made up.
 */
import type * as aws from "@pulumi/aws";
import type * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { RegisterResourceOutputsRequest, RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import type * as random from "@pulumi/random";

/** The arguments of the resource types the tests read, by type token. */
interface ArgsByType {
  "aws:appautoscaling/policy:Policy": aws.appautoscaling.PolicyArgs;
  "aws:appautoscaling/scheduledAction:ScheduledAction": aws.appautoscaling.ScheduledActionArgs;
  "aws:appautoscaling/target:Target": aws.appautoscaling.TargetArgs;
  "aws:autoscaling/group:Group": aws.autoscaling.GroupArgs;
  "aws:cloudwatch/dashboard:Dashboard": aws.cloudwatch.DashboardArgs;
  "aws:cloudwatch/logGroup:LogGroup": aws.cloudwatch.LogGroupArgs;
  "aws:cloudwatch/metricAlarm:MetricAlarm": aws.cloudwatch.MetricAlarmArgs;
  "aws:ec2/launchTemplate:LaunchTemplate": aws.ec2.LaunchTemplateArgs;
  "aws:ecs/capacityProvider:CapacityProvider": aws.ecs.CapacityProviderArgs;
  "aws:ecs/cluster:Cluster": aws.ecs.ClusterArgs;
  "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": aws.ecs.ClusterCapacityProvidersArgs;
  "aws:ecs/service:Service": aws.ecs.ServiceArgs;
  "aws:ecs/taskDefinition:TaskDefinition": aws.ecs.TaskDefinitionArgs;
  "aws:iam/role:Role": aws.iam.RoleArgs;
  "aws:iam/rolePolicy:RolePolicy": aws.iam.RolePolicyArgs;
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": aws.iam.RolePolicyAttachmentArgs;
  "aws:scheduler/schedule:Schedule": aws.scheduler.ScheduleArgs;
  "aws:sns/topicSubscription:TopicSubscription": aws.sns.TopicSubscriptionArgs;
  "aws:sqs/queue:Queue": aws.sqs.QueueArgs;
  "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": aws.sqs.RedriveAllowPolicyArgs;
  "aws:ssm/parameter:Parameter": aws.ssm.ParameterArgs;
  "awsx:ecr:Image": awsx.ecr.ImageArgs;
  "random:index/randomPassword:RandomPassword": random.RandomPasswordArgs;
}

/** A resource's inputs as its mock receives them: plain values, typed by its type token where the tests read them. */
export type InputsOf<Type extends string> = Type extends keyof ArgsByType ? pulumi.Unwrap<ArgsByType[Type]> : Record<string, unknown>;

export interface Registered<Type extends string = string> {
  type: Type;
  name: string;
  inputs: InputsOf<Type>;
}

/** An alias as the engine receives it: a URN, or the parts that differ from the resource's own. */
export interface AliasSpec {
  urn: string;
  name: string;
  type: string;
  noParent: boolean;
  parentUrn: string;
}

/** What the engine is told of a resource besides its inputs: where it hangs and what it was called before. */
export interface Registration {
  type: string;
  name: string;
  custom: boolean;
  /** The parent's URN; empty at the stack's root. */
  parent: string;
  aliases: AliasSpec[];
}

/** The monitor calls the recorder wraps (the mock monitor implements them with these signatures). */
interface Monitor {
  registerResource(request: RegisterResourceRequest, callback: (...results: unknown[]) => void): unknown;
  registerResourceOutputs(request: RegisterResourceOutputsRequest, callback: (...results: unknown[]) => void): unknown;
}

const ACCOUNT = "123456789012";
/** What a mocked RandomPassword "generates". */
export const GENERATED_PASSWORD = "generated-random-password-0123456789";
const REGION = "ap-northeast-2";

export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: Registered[] = [];
  readonly invokes: { token: string; inputs: Record<string, unknown> }[] = [];
  readonly registrations: Registration[] = [];
  /**
   * The outputs components registered, by URN: what their registerOutputs() gave, or nothing when
   * they never called it (Pulumi then registers no outputs for them).
   */
  readonly outputsRegistered = new Map<string, string[]>();

  /** Makes these mocks Pulumi's runtime, recording what the engine is told as well. */
  async install(project: string, stack: string): Promise<void> {
    await pulumi.runtime.setMocks(this, project, stack, false);
    const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
    const registerResource = monitor.registerResource.bind(monitor);
    const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResource = (request, callback) => {
      this.registrations.push(registrationOf(request));
      return registerResource(request, callback);
    };
    monitor.registerResourceOutputs = (request, callback) => {
      this.outputsRegistered.set(request.getUrn(), Object.keys(request.getOutputs()?.toJavaScript() ?? {}));
      return registerResourceOutputs(request, callback);
    };
  }

  newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const inputs: Record<string, unknown> = args.inputs;
    this.resources.push({ type: args.type, name: args.name, inputs });
    const name = inputs.name ?? args.name;
    const service = args.type.split(":")[1]?.split("/")[0] ?? "x";
    const state: Record<string, unknown> = { ...inputs, name, arn: `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}` };
    if (args.type === "aws:sqs/queue:Queue") state.url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
    if (args.type === "aws:ecr/repository:Repository") state.repositoryUrl = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}`;
    if (args.type === "awsx:ecr:Image") state.imageUri = `${inputs.repositoryUrl}@sha256:${"0".repeat(64)}`;
    if (args.type === "random:index/randomPassword:RandomPassword") state.result = GENERATED_PASSWORD;
    return { id: `${args.name}-id`, state };
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    const inputs: Record<string, unknown> = args.inputs;
    this.invokes.push({ token: args.token, inputs });
    switch (args.token) {
      case "aws:index/getRegion:getRegion":
        return { name: REGION, region: REGION, id: REGION };
      case "aws:kms/getAlias:getAlias":
        return {
          ...inputs,
          arn: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/aws/ssm`,
          targetKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/ssm-key`,
          targetKeyId: "ssm-key",
        };
      case "aws:ec2/getVpc:getVpc":
        return { id: "vpc-default", cidrBlock: "172.31.0.0/16" };
      case "aws:ec2/getSubnets:getSubnets":
        return { ids: ["subnet-a", "subnet-b"] };
      case "aws:ssm/getParameter:getParameter":
        return { ...inputs, value: "ami-ecs-optimized", type: "String" };
      default:
        return inputs;
    }
  }

  ofType<Type extends string>(type: Type): Registered<Type>[] {
    return this.resources.filter((resource): resource is Registered<Type> => resource.type === type);
  }

  one<Type extends string>(type: Type, name?: string): Registered<Type> {
    const found = this.ofType(type).filter((resource) => name === undefined || resource.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`);
    return found[0]!;
  }
}

function registrationOf(request: RegisterResourceRequest): Registration {
  return {
    type: request.getType(),
    name: request.getName(),
    custom: request.getCustom(),
    parent: request.getParent(),
    aliases: request.getAliasesList().map((alias) => {
      const spec = alias.getSpec();
      return {
        urn: alias.getUrn(),
        name: spec?.getName() ?? "",
        type: spec?.getType() ?? "",
        noParent: spec?.getNoparent() ?? false,
        parentUrn: spec?.getParenturn() ?? "",
      };
    }),
  };
}

/** The value of an output (mocks run in update mode, where every value is known). */
export function outputValue<T>(output: pulumi.Input<T> | undefined): Promise<T> {
  return new Promise((resolve) => pulumi.output(output as pulumi.Input<T>).apply((value) => resolve(value as T)));
}

/** Waits until every registration in flight has reached the mocks. */
export async function settled(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
