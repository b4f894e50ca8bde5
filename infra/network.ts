/**
 * Where the worker's tasks run on the network: the configured VPC and subnets, else the default VPC's,
 * and a security group that lets them out and nothing in.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./settings";

export interface Network {
  vpcId: pulumi.Input<string>;
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroup: aws.ec2.SecurityGroup;
}

/** The configured VPC and subnets, else the default VPC: public subnets, no NAT to pay for. */
export function network(name: string, settings: StackSettings, opts: pulumi.CustomResourceOptions): Network {
  const lookup = { parent: opts.parent };
  const vpcId = settings.network.vpcId ?? aws.ec2.getVpcOutput({ default: true }, lookup).id;
  const subnetIds =
    settings.network.subnetIds ??
    aws.ec2.getSubnetsOutput(
      {
        filters: [
          { name: "vpc-id", values: [vpcId] },
          { name: "default-for-az", values: ["true"] },
        ],
      },
      lookup,
    ).ids;
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-egress-only`,
    {
      vpcId,
      description: "academy messaging worker: outbound only (SQS, SSM, ECR, logs, Solapi, MySQL)",
      egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
      tags: settings.tags,
    },
    opts,
  );
  return { vpcId, subnetIds, securityGroup };
}
