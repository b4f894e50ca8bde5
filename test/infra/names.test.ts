/**
 * The physical names (infra/names.ts): deployed stacks hold these names, and a different one is a
 * new resource, so each is checked as it is. Pure: no Pulumi runtime.
 */
import { expect } from "chai";
import { DEFAULT_QUEUE_NAME, queueNames, stackNames, stackTags } from "../../infra/names";

describe("infrastructure: physical names", () => {
  it("every name of stack dev, as deployed stacks hold them", () => {
    const { warmWindowAction, ...names } = stackNames("dev");
    expect(names).to.deep.equal({
      repository: "academy-messaging-worker-dev",
      taskFamily: "academy-messaging-worker-dev",
      logGroup: "/ecs/academy-messaging-worker/dev",
      parameterPath: "/academy-messaging/dev",
      fargateCluster: "academy-messaging-dev",
      ec2Cluster: "academy-messaging-dev-ec2",
      instance: "academy-messaging-dev",
      capacityProvider: "academy-messaging-dev-spot",
      service: "academy-messaging-worker",
      alarmTopic: "academy-messaging-dev-alarms",
      keepAliveSchedule: "academy-messaging-dev-keep-alive",
      dashboard: "academy-messaging-dev",
    });
    expect([warmWindowAction("from"), warmWindowAction("until")]).to.deep.equal([
      "academy-messaging-dev-warm-from",
      "academy-messaging-dev-warm-until",
    ]);
    expect(stackTags("dev")).to.deep.equal({ project: "academy-messaging", stack: "dev" });
  });

  it("the queue and its DLQ: the configured name, with the stack's name after it when asked", () => {
    expect(DEFAULT_QUEUE_NAME).to.equal("academy-messaging-jobs");
    expect(queueNames(DEFAULT_QUEUE_NAME, "dev", false)).to.deep.equal({
      name: "academy-messaging-jobs",
      deadLetterName: "academy-messaging-jobs-dlq",
    });
    expect(queueNames("school-jobs", "prod", true)).to.deep.equal({ name: "school-jobs-prod", deadLetterName: "school-jobs-prod-dlq" });
  });
});
