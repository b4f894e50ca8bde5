import * as pulumi from "@pulumi/pulumi";

/** The type tokens of the stack's components: `academy:messaging:Worker`, `academy:messaging:JobQueues`, … */
const TYPE_PREFIX = "academy:messaging:";

/**
 * A construct of the worker's stack as a Pulumi component: the resources it makes are its children,
 * inherit its provider, and show under it in `pulumi preview`.
 */
export abstract class StackComponent extends pulumi.ComponentResource {
  constructor(kind: string, name: string, opts?: pulumi.ComponentResourceOptions) {
    super(`${TYPE_PREFIX}${kind}`, name, {}, opts);
  }

  /**
   * The options of a resource this component makes. Stacks deployed before the components existed
   * hold every resource at the stack's root, where a child's URN differs: the alias names that URN,
   * so `pulumi up` takes the resource over instead of creating a new one and deleting the old.
   */
  protected child(opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { ...opts, parent: this, aliases: [{ parent: pulumi.rootStackResource }] };
  }

  /** The options of a data source read for this component: its provider (region, profile). */
  protected get lookup(): pulumi.InvokeOutputOptions {
    return { parent: this };
  }
}
