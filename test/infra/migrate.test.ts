/**
 * infra/migrate.sh, the one migration command of docs/deploy.md, against stand-ins for the pulumi
 * and aws CLIs (no account here): it must start the stack's migration task exactly as the stack
 * exports it, wait for it, and exit with the migration's own exit code.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "chai";

const SCRIPT = resolve(__dirname, "../../infra/migrate.sh");
const TASK_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:task/academy-messaging-dev/0f3c9d";
const MIGRATION_TASK = {
  cluster: "academy-messaging-dev",
  taskDefinition: "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/academy-messaging-worker-dev:7",
  count: 1,
  startedBy: "migrate",
  capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1, base: 0 }],
  networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-a"], securityGroups: ["sg-1"], assignPublicIp: "ENABLED" } },
  overrides: { containerOverrides: [{ name: "worker", command: ["migrate"] }] },
};

interface Stand {
  /** What run-task answers: `taskArn<TAB>failureReason`. */
  runTask: string;
  /** What describe-tasks answers: `exitCode<TAB>stoppedReason`. */
  describe: string;
}

/** Writes `pulumi` and `aws` stand-ins that record their arguments (one JSON array a line). */
function standIns(stand: Stand): { dir: string; calls: () => string[][] } {
  const dir = mkdtempSync(join(tmpdir(), "migrate-sh-"));
  const log = join(dir, "calls.jsonl");
  writeFileSync(join(dir, "task.json"), JSON.stringify(MIGRATION_TASK, null, 2));
  const record = `node -e 'require("fs").appendFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)) + "\\n")' "${log}" "$(basename "$0")" "$@"`;
  const pulumi = `#!/usr/bin/env bash
${record}
case "$*" in
  *migrationTask*) cat "${join(dir, "task.json")}" ;;
  *clusterName*) echo academy-messaging-dev ;;
  *logGroupName*) echo /ecs/academy-messaging-worker/dev ;;
esac
`;
  const aws = `#!/usr/bin/env bash
${record}
case "$1 $2" in
  "ecs run-task") printf '%s\\n' "${stand.runTask}" ;;
  "ecs describe-tasks") printf '%s\\n' "${stand.describe}" ;;
  "logs tail") echo '{"message":"schema up to date"}' ;;
esac
`;
  for (const [name, text] of [
    ["pulumi", pulumi],
    ["aws", aws],
  ] as const) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  }
  return {
    dir,
    calls: () =>
      readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as string[]),
  };
}

function run(dir: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(SCRIPT, args, { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("infrastructure: infra/migrate.sh", function () {
  this.timeout(20_000);
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the stack's migration task as exported, waits for it, shows its log and exits 0 when the migration did", async () => {
    const stand = standIns({ runTask: `${TASK_ARN}\tNone`, describe: "0\tEssential container in task exited" });
    dirs.push(stand.dir);
    const result = await run(stand.dir, ["prod"]);
    expect(result.code, result.stderr).to.equal(0);
    const calls = stand.calls();
    const runTask = calls.find((call) => call[0] === "aws" && call[2] === "run-task")!;
    expect(JSON.parse(runTask[runTask.indexOf("--cli-input-json") + 1]!)).to.deep.equal(MIGRATION_TASK);
    expect(calls.filter((call) => call[0] === "pulumi").every((call) => call.includes("--stack") && call.includes("prod"))).to.equal(true);
    expect(calls).to.deep.include(["aws", "ecs", "wait", "tasks-stopped", "--cluster", "academy-messaging-dev", "--tasks", TASK_ARN]);
    expect(calls.find((call) => call[1] === "logs")).to.include.members(["/ecs/academy-messaging-worker/dev", "worker/worker/0f3c9d"]);
    expect(result.stdout).to.contain("schema up to date").and.to.contain("migrate: exited 0");
  });

  it("exits with the migration's own failure code", async () => {
    const stand = standIns({ runTask: `${TASK_ARN}\tNone`, describe: "3\tEssential container in task exited" });
    dirs.push(stand.dir);
    expect((await run(stand.dir)).code).to.equal(3);
  });

  it("fails, with ECS's reason, when the task never ran or never started", async () => {
    const neverRan = standIns({ runTask: `${TASK_ARN}\tNone`, describe: "None\tCannotPullContainerError: pull access denied" });
    dirs.push(neverRan.dir);
    const ran = await run(neverRan.dir);
    expect(ran.code).to.equal(1);
    expect(ran.stderr).to.contain("the migration never ran: CannotPullContainerError: pull access denied");

    const refused = standIns({ runTask: "None\tRESOURCE:MEMORY", describe: "" });
    dirs.push(refused.dir);
    const notStarted = await run(refused.dir);
    expect(notStarted.code).to.equal(1);
    expect(notStarted.stderr).to.contain("ECS did not start the task: RESOURCE:MEMORY");
    expect(refused.calls().some((call) => call[2] === "wait")).to.equal(false);
  });
});
