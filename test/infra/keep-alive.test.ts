/**
 * The queue's keep-alive (infra/keep-alive.ts) in the default stack, under Pulumi's mocks.
 */
import { expect } from "chai";
import { isKeepAlive } from "../../worker/src/consumer/keep-alive";
import { type Built, build, settingsFor, statements } from "../support/worker-stack";

describe("infrastructure: the queue's keep-alive", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(settingsFor());
  });

  it("keep-alive: EventBridge Scheduler sends the message the worker deletes unread, 5 h after the window closes (04:00 Seoul), with send rights on the queue only", () => {
    const schedule = built.mocks.one("aws:scheduler/schedule:Schedule").inputs;
    expect(schedule).to.deep.include({
      name: "academy-messaging-dev-keep-alive",
      scheduleExpression: "cron(0 4 * * ? *)",
      scheduleExpressionTimezone: "Asia/Seoul",
      flexibleTimeWindow: { mode: "OFF" },
    });
    expect(schedule.target.arn).to.equal("arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs");
    expect(isKeepAlive(schedule.target.input!), "the worker recognises the scheduled body").to.equal(true);
    expect(schedule.target.roleArn).to.equal("arn:aws:iam:ap-northeast-2:123456789012:messaging-keep-alive-role");
    const trust = JSON.parse(String(built.mocks.one("aws:iam/role:Role", "messaging-keep-alive-role").inputs.assumeRolePolicy));
    expect(trust.Statement[0].Principal).to.deep.equal({ Service: "scheduler.amazonaws.com" });
    expect(statements(built.mocks, "messaging-keep-alive-policy")).to.deep.equal([
      {
        Sid: "SendKeepAlive",
        Effect: "Allow",
        Action: ["sqs:SendMessage"],
        Resource: ["arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs"],
      },
    ]);
  });
});
