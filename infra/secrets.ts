import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { WorkerArgs } from "./args";

/** A container secret: the variable the worker reads and the parameter ECS reads it from. */
export interface ContainerSecret {
  variable: string;
  parameter: aws.ssm.Parameter;
}

/**
 * The key of message_log.recipient_hash, unless the config gives one. Generated and kept in the
 * stack's state (encrypted, a Pulumi secret): no person ever types, copies or leaks it, and it stays
 * the same across deployments. It changes only if the stack is destroyed; set
 * `recipientHashSecret` to carry the old key into a rebuilt stack.
 */
function recipientHashSecret(name: string, args: WorkerArgs, opts: pulumi.CustomResourceOptions): pulumi.Input<string> {
  // An AWS provider in `opts` is not random's: the default random provider makes it.
  return (
    args.recipientHashSecret ??
    new random.RandomPassword(`${name}-recipient-hash-secret`, { length: 48, special: false }, { ...opts, provider: undefined }).result
  );
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
    { variable: "MESSAGING_RECIPIENT_HASH_SECRET", path: "recipient-hash-secret", value: recipientHashSecret(name, args, opts) },
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
