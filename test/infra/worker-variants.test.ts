/**
 * The stack under Pulumi's mocks with other settings: warm windows and keep-alives, a given
 * recipient key, the Spot/on-demand split, mock mode's text.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { keepAliveCron } from "../../infra/keep-alive";
import type { StackSettings } from "../../infra/settings";
import { outputValue } from "../support/pulumi-mocks";
import { build, environmentOf, settingsFor } from "../support/worker-stack";

describe("infrastructure: the stack with other settings", function () {
  this.timeout(30_000);

  it("no warm window when it would not raise the minimum; no keep-alive when a task always polls", async () => {
    const alwaysOn = await build(settingsFor({ scaling: { ...settingsFor().scaling, minTasks: 1 } }));
    expect(alwaysOn.mocks.ofType("aws:appautoscaling/scheduledAction:ScheduledAction")).to.have.length(0);
    expect(alwaysOn.mocks.ofType("aws:scheduler/schedule:Schedule")).to.have.length(0);
    expect(alwaysOn.mocks.one("aws:appautoscaling/target:Target").inputs.minCapacity).to.equal(1);
    expect(alwaysOn.options.get("aws:appautoscaling/target:Target::messaging-task-count")!.ignoreChanges).to.equal(undefined);
  });

  it("a custom window and keep-alive period, and neither when switched off", async () => {
    const custom = await build(
      settingsFor({
        scaling: {
          ...settingsFor().scaling,
          maxTasks: 4,
          warmWindow: { tasks: 2, from: "06:30", until: "22:15", timezone: "Asia/Seoul" },
          keepAliveHours: 3,
        },
      }),
    );
    const actions = custom.mocks.ofType("aws:appautoscaling/scheduledAction:ScheduledAction").map((action) => action.inputs);
    expect(actions.map((action) => [action.schedule, action.scalableTargetAction])).to.deep.equal([
      ["cron(30 6 * * ? *)", { minCapacity: 2, maxCapacity: 4 }],
      ["cron(15 22 * * ? *)", { minCapacity: 0, maxCapacity: 4 }],
    ]);
    // Closed 22:15–06:30: 3 h after closing, then every 3 h while closed.
    expect(custom.mocks.one("aws:scheduler/schedule:Schedule").inputs.scheduleExpression).to.equal("cron(15 1,4 * * ? *)");

    const off = await build(
      settingsFor({
        scaling: { ...settingsFor().scaling, warmWindow: { ...settingsFor().scaling.warmWindow, tasks: 0 }, keepAliveHours: 0 },
      }),
    );
    expect(off.mocks.ofType("aws:appautoscaling/scheduledAction:ScheduledAction")).to.have.length(0);
    expect(off.mocks.ofType("aws:scheduler/schedule:Schedule")).to.have.length(0);
    expect(off.mocks.one("aws:appautoscaling/target:Target").inputs.minCapacity).to.equal(0);
    expect(off.mocks.one("aws:ecs/service:Service").inputs.desiredCount).to.equal(0);
  });

  it("keep-alive times: every N hours without a window; only while a window is closed, and none when it closes for less than N hours", () => {
    const scaling = (overrides: Partial<StackSettings["scaling"]>) => ({ ...settingsFor().scaling, ...overrides });
    const window = (from: string, until: string) => ({ tasks: 1, from, until, timezone: "Asia/Seoul" });
    expect(keepAliveCron(scaling({ warmWindow: window("07:00", "23:00"), keepAliveHours: 5 }))).to.equal("cron(0 4 * * ? *)");
    expect(keepAliveCron(scaling({ warmWindow: window("07:00", "23:00"), keepAliveHours: 2 }))).to.equal("cron(0 1,3,5 * * ? *)");
    expect(keepAliveCron(scaling({ warmWindow: window("07:00", "03:00"), keepAliveHours: 5 }))).to.equal(undefined);
    expect(keepAliveCron(scaling({ warmWindow: window("20:00", "08:00"), keepAliveHours: 5 }))).to.equal("cron(0 13,18 * * ? *)");
    expect(keepAliveCron(scaling({ warmWindow: { ...window("07:00", "23:00"), tasks: 0 }, keepAliveHours: 4 }))).to.equal(
      "cron(0 */4 * * ? *)",
    );
  });

  it("a recipient hash key from the config is used as given: nothing generated", async () => {
    const given = await build(settingsFor({ recipientHashSecret: pulumi.secret("operator-chosen-hash-key") }));
    expect(given.mocks.ofType("random:index/randomPassword:RandomPassword")).to.have.length(0);
    const parameter = given.stack.secrets.parameters.find((secret) => secret.variable === "MESSAGING_RECIPIENT_HASH_SECRET")!.parameter;
    expect(await outputValue(parameter.value)).to.equal("operator-chosen-hash-key");
  });

  it("a Spot/on-demand split goes into the strategy as weights", async () => {
    const split = await build(settingsFor({ capacity: { ...settingsFor().capacity, spotWeight: 3, onDemandWeight: 1 } }));
    expect(split.mocks.one("aws:ecs/service:Service").inputs.capacityProviderStrategies).to.deep.equal([
      { capacityProvider: "FARGATE_SPOT", weight: 3, base: 0 },
      { capacityProvider: "FARGATE", weight: 1, base: 0 },
    ]);
  });

  it("mock mode can show message text when the stack asks", async () => {
    const shown = await build(settingsFor({ solapi: { ...settingsFor().solapi, mock: true, mockShowText: true }, databaseUrl: undefined }));
    expect(environmentOf(shown.mocks)).to.include({ SOLAPI_MOCK: "true", SOLAPI_MOCK_SHOW_TEXT: "true" });
  });
});
