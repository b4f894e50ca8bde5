/**
 * Pulumi's unit-test runtime (no CLI, no plugins, no network): every resource registration and
 * invoke is recorded, and outputs the cloud would compute (ARNs, URLs) are made up.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

const ACCOUNT = "123456789012";
/** What a mocked RandomPassword "generates". */
export const GENERATED_PASSWORD = "generated-random-password-0123456789";
const REGION = "ap-northeast-2";

export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: Registered[] = [];
  readonly invokes: { token: string; inputs: Record<string, any> }[] = [];

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
    this.resources.push({ type: args.type, name: args.name, inputs: args.inputs });
    const name = args.inputs.name ?? args.name;
    const service = args.type.split(":")[1]?.split("/")[0] ?? "x";
    const state: Record<string, any> = { ...args.inputs, name, arn: `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}` };
    if (args.type === "aws:sqs/queue:Queue") state.url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
    if (args.type === "aws:ecr/repository:Repository") state.repositoryUrl = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}`;
    if (args.type === "awsx:ecr:Image") state.imageUri = `${args.inputs.repositoryUrl}@sha256:${"0".repeat(64)}`;
    if (args.type === "random:index/randomPassword:RandomPassword") state.result = GENERATED_PASSWORD;
    return { id: `${args.name}-id`, state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    this.invokes.push({ token: args.token, inputs: args.inputs });
    switch (args.token) {
      case "aws:index/getRegion:getRegion":
        return { name: REGION, region: REGION, id: REGION };
      case "aws:kms/getAlias:getAlias":
        return {
          ...args.inputs,
          arn: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/aws/ssm`,
          targetKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/ssm-key`,
          targetKeyId: "ssm-key",
        };
      case "aws:ec2/getVpc:getVpc":
        return { id: "vpc-default", cidrBlock: "172.31.0.0/16" };
      case "aws:ec2/getSubnets:getSubnets":
        return { ids: ["subnet-a", "subnet-b"] };
      case "aws:ssm/getParameter:getParameter":
        return { ...args.inputs, value: "ami-ecs-optimized", type: "String" };
      default:
        return args.inputs;
    }
  }

  ofType(type: string): Registered[] {
    return this.resources.filter((resource) => resource.type === type);
  }

  one(type: string, name?: string): Registered {
    const found = this.ofType(type).filter((resource) => name === undefined || resource.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`);
    return found[0]!;
  }
}

/** The value of an output (mocks run in update mode, where every value is known). */
export function valueOf<T>(output: pulumi.Input<T> | undefined): Promise<T> {
  return new Promise((resolve) => pulumi.output(output as pulumi.Input<T>).apply((value) => resolve(value as T)));
}

/** Waits until every registration in flight has reached the mocks. */
export async function settled(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
