import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackComponent } from "./component";
import { stackNames } from "./names";
import type { StackSettings } from "./settings";

/** A container secret: the variable the worker reads and the parameter ECS reads it from. */
export interface ContainerSecret {
  variable: string;
  parameter: aws.ssm.Parameter;
}

/**
 * The worker's secrets as SSM SecureStrings (AWS-managed key). ECS reads them at task start with the
 * execution role; their values never enter the task definition, and stay Pulumi secrets in state.
 */
export class WorkerSecrets extends StackComponent {
  readonly parameters: ContainerSecret[];

  constructor(name: string, settings: StackSettings, opts?: pulumi.ComponentResourceOptions) {
    super("Secrets", name, opts);
    const path = stackNames(settings.stack).parameterPath;
    const wanted: { variable: string; path: string; value: pulumi.Input<string> | undefined }[] = [
      { variable: "SOLAPI_API_KEY", path: "solapi-api-key", value: settings.solapi.apiKey },
      { variable: "SOLAPI_API_SECRET", path: "solapi-api-secret", value: settings.solapi.apiSecret },
      { variable: "DATABASE_URL", path: "database-url", value: settings.databaseUrl },
      { variable: "MESSAGING_RECIPIENT_HASH_SECRET", path: "recipient-hash-secret", value: this.recipientHashSecret(name, settings) },
    ];
    this.parameters = wanted
      .filter((secret): secret is typeof secret & { value: pulumi.Input<string> } => secret.value !== undefined)
      .map((secret) => ({
        variable: secret.variable,
        parameter: new aws.ssm.Parameter(
          `${name}-${secret.path}`,
          { name: `${path}/${secret.path}`, type: "SecureString", value: secret.value, tags: settings.tags },
          this.child(),
        ),
      }));
    this.registerOutputs({ parameterNames: this.parameters.map((secret) => secret.parameter.name) });
  }

  /**
   * The key of message_log.recipient_hash, unless the config gives one. Generated and kept in the
   * stack's state (encrypted, a Pulumi secret): no person ever types, copies or leaks it, and it stays
   * the same across deployments. It changes only if the stack is destroyed; set
   * `recipientHashSecret` to carry the old key into a rebuilt stack.
   */
  private recipientHashSecret(name: string, settings: StackSettings): pulumi.Input<string> {
    return (
      settings.recipientHashSecret ??
      new random.RandomPassword(`${name}-recipient-hash-secret`, { length: 48, special: false }, this.child()).result
    );
  }
}
