/**
 * Scaling on queue depth and the warm window (infra/scaling.ts) in the default stack, under
 * Pulumi's mocks.
 */
import { expect } from "chai";
import { backlogSteps, dailyAt } from "../../infra/scaling";
import { type Built, build, settingsFor } from "../support/worker-stack";

describe("infrastructure: scaling on queue depth", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(settingsFor());
  });

  it("scaling: up to max tasks; tasks = backlog / (latency ÷ time per message); idle 15 min → minimum; in-flight counted", () => {
    const target = built.mocks.one("aws:appautoscaling/target:Target").inputs;
    expect(target).to.include({ maxCapacity: 3, scalableDimension: "ecs:service:DesiredCount", serviceNamespace: "ecs" });
    expect(target.resourceId).to.equal("service/academy-messaging-dev/academy-messaging-worker");
    expect(built.stack.scaling.backlogPerTask).to.equal(3000);

    const backlog = built.mocks.one("aws:appautoscaling/policy:Policy", "messaging-tasks-for-backlog").inputs
      .stepScalingPolicyConfiguration!;
    expect(backlog).to.deep.include({ adjustmentType: "ExactCapacity", metricAggregationType: "Maximum" });
    expect(backlog.stepAdjustments).to.deep.equal([
      { metricIntervalLowerBound: "0", metricIntervalUpperBound: "3000", scalingAdjustment: 1 },
      { metricIntervalLowerBound: "3000", metricIntervalUpperBound: "6000", scalingAdjustment: 2 },
      { metricIntervalLowerBound: "6000", scalingAdjustment: 3 },
    ]);
    const busy = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-queue-has-work").inputs;
    expect(busy).to.include({
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: "notBreaching",
    });
    expect(busy.alarmActions).to.deep.equal(["arn:aws:appautoscaling:ap-northeast-2:123456789012:messaging-tasks-for-backlog"]);
    const queries = busy.metricQueries!;
    expect(queries.find((query) => query.returnData)!.expression).to.equal("visible + inflight");
    expect(queries.map((query) => query.metric?.metricName).filter(Boolean)).to.deep.equal([
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesNotVisible",
    ]);

    const idle = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-queue-idle").inputs;
    expect(idle).to.include({
      comparisonOperator: "LessThanOrEqualToThreshold",
      threshold: 0,
      evaluationPeriods: 15,
      datapointsToAlarm: 15,
      treatMissingData: "breaching",
    });
    const toZero = built.mocks.one("aws:appautoscaling/policy:Policy", "messaging-idle-to-minimum").inputs.stepScalingPolicyConfiguration!;
    expect(toZero.stepAdjustments).to.deep.equal([{ metricIntervalUpperBound: "0", scalingAdjustment: 0 }]);
  });

  it("backlog steps cover every task count up to the maximum", () => {
    expect(backlogSteps(100, 1)).to.deep.equal([{ metricIntervalLowerBound: "0", scalingAdjustment: 1 }]);
    expect(backlogSteps(100, 4).map((step) => step.scalingAdjustment)).to.deep.equal([1, 2, 3, 4]);
  });

  it("warm window: at least one task 07:00–23:00 Asia/Seoul, scheduled every day; the scheduled actions own the minimum", () => {
    const actions = built.mocks.ofType("aws:appautoscaling/scheduledAction:ScheduledAction").map((action) => action.inputs);
    const resourceId = "service/academy-messaging-dev/academy-messaging-worker";
    expect(actions).to.have.length(2);
    expect(actions[0]).to.deep.include({
      name: "academy-messaging-dev-warm-from",
      schedule: "cron(0 7 * * ? *)",
      timezone: "Asia/Seoul",
      resourceId,
      scalableDimension: "ecs:service:DesiredCount",
      scalableTargetAction: { minCapacity: 1, maxCapacity: 3 },
    });
    expect(actions[1]).to.deep.include({
      name: "academy-messaging-dev-warm-until",
      schedule: "cron(0 23 * * ? *)",
      scalableTargetAction: { minCapacity: 0, maxCapacity: 3 },
    });
    // A new stack (or a replaced service) errs warm: one task until the evening action, not zero until the morning.
    expect(built.mocks.one("aws:appautoscaling/target:Target").inputs.minCapacity).to.equal(1);
    expect(built.mocks.one("aws:ecs/service:Service").inputs.desiredCount).to.equal(1);
    expect(built.options.get("aws:appautoscaling/target:Target::messaging-task-count")!.ignoreChanges).to.deep.equal(["minCapacity"]);
    expect(dailyAt("07:30")).to.equal("cron(30 7 * * ? *)");
  });
});
