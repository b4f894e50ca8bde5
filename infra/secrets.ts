import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { WorkerArgs } from "./args";

/** A container secret: the variable the worker reads and the parameter ECS reads it from. */
export interface ContainerSecret {
  variable: string;
  parameter: aws.ssm.Parameter;
}

/**
 * The worker's secrets as SSM SecureStrings (AWS-managed key). ECS reads them at task start with the
 * execution role; their values never enter the task definition, and stay Pulumi secrets in state.
 */
export function workerSecrets(name: string, args: WorkerArgs, opts: pulumi.CustomResourceOptions): ContainerSecret[] {
  const prefix = `/academy-messaging/${args.stack}`;
  const wanted: { variable: string; path: string; value: pulumi.Input<string> | undefined }[] = [
    { variable: "SOLAPI_API_KEY", path: "solapi-api-key", value: args.solapi.apiKey },
    { variable: "SOLAPI_API_SECRET", path: "solapi-api-secret", value: args.solapi.apiSecret },
    { variable: "DATABASE_URL", path: "database-url", value: args.databaseUrl },
  ];
  return wanted
    .filter((secret): secret is typeof secret & { value: pulumi.Input<string> } => secret.value !== undefined)
    .map((secret) => ({
      variable: secret.variable,
      parameter: new aws.ssm.Parameter(
        `${name}-${secret.path}`,
        { name: `${prefix}/${secret.path}`, type: "SecureString", value: secret.value, tags: args.tags },
        opts,
      ),
    }));
}
