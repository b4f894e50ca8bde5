import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { WorkerArgs } from "./args";
import { MAX_TASKS_LIMIT } from "./scaling";

/**
 * The stack's configuration (Pulumi.<stack>.yaml, namespace `academy-messaging`), read once and
 * checked with zod; Pulumi.dev.yaml documents every key. Secrets stay Pulumi secrets.
 */
const settingsSchema = z
  .object({
    capacityMode: z.enum(["fargate-spot", "ec2-spot"]).default("fargate-spot"),
    fargateSpotWeight: z.number().int().min(0).default(1),
    fargateOnDemandWeight: z.number().int().min(0).default(0),
    ec2InstanceTypes: z.array(z.string()).min(1).default(["t3.nano", "t3a.nano"]),
    minTasks: z.number().int().min(0).default(0),
    maxTasks: z.number().int().min(1).max(MAX_TASKS_LIMIT).default(3),
    acceptableLatencySeconds: z.number().positive().default(60),
    secondsPerMessage: z.number().positive().default(0.02),
    idleMinutesBeforeZero: z.number().int().min(1).max(1440).default(15),
    queueName: z.string().min(1).default("academy-messaging-jobs"),
    suffixQueueNames: z.boolean().default(false),
    visibilityTimeoutSeconds: z.number().int().min(10).max(43_200).default(60),
    waitSeconds: z.number().int().min(0).max(20).default(20),
    maxReceiveCount: z.number().int().min(1).max(1000).default(3),
    concurrency: z.number().int().min(1).max(1000).default(50),
    shutdownTimeoutSeconds: z.number().int().min(1).max(110).default(100),
    logLevel: z.enum(["error", "warn", "info", "debug"]).default("info"),
    logRetentionDays: z.number().int().default(14),
    solapiMock: z.boolean().default(false),
    solapiSender: z.string().optional(),
    solapiKakaoPfId: z.string().optional(),
    solapiKakaoTemplateId: z.string().optional(),
    solapiBaseUrl: z.string().url().optional(),
    solapiTimeoutMs: z.number().int().min(100).optional(),
    oldestMessageAlarmSeconds: z.number().int().min(60).default(600),
    alarmEmail: z.string().email().optional(),
    alarmTopicArn: z.string().startsWith("arn:aws:sns:").optional(),
    vpcId: z.string().optional(),
    subnetIds: z.array(z.string()).min(1).optional(),
    imageUri: z.string().optional(),
  })
  .refine((settings) => settings.minTasks <= settings.maxTasks, { message: "minTasks must not exceed maxTasks", path: ["minTasks"] })
  .refine((settings) => settings.fargateSpotWeight + settings.fargateOnDemandWeight > 0, {
    message: "fargateSpotWeight and fargateOnDemandWeight cannot both be 0",
    path: ["fargateSpotWeight"],
  })
  .refine((settings) => settings.solapiMock || settings.solapiSender, { message: "solapiSender is required unless solapiMock is true", path: ["solapiSender"] });

export type StackSettings = z.infer<typeof settingsSchema>;

const KEYS = Object.keys(settingsSchema.shape) as (keyof StackSettings)[];
const SECRET_KEYS = ["solapiApiKey", "solapiApiSecret", "databaseUrl"] as const;

export class StackConfigError extends Error {}

/** Whether a key holds text: Pulumi keeps every value as a string, and "15881234" must stay one. */
function holdsText(schema: z.ZodType): boolean {
  const def = (schema as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
  if ((def.type === "default" || def.type === "optional") && def.innerType) return holdsText(def.innerType);
  return def.type === "string" || def.type === "enum";
}

/** Reads every plain key (numbers, booleans and lists as YAML typed them) and checks them together. */
export function readSettings(config: pulumi.Config): StackSettings {
  const raw = Object.fromEntries(
    KEYS.flatMap((key) => {
      const value = holdsText(settingsSchema.shape[key]) ? config.get(key) : config.getObject<unknown>(key);
      return value === undefined ? [] : [[key, value]];
    }),
  );
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `academy-messaging:${issue.path.join(".")} ${issue.message}`);
    throw new StackConfigError(`Invalid stack configuration: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/** The arguments of buildWorker for this stack. */
export function workerArgs(config: pulumi.Config, stack: string, image: pulumi.Input<string>, repositoryArn?: pulumi.Input<string>): WorkerArgs {
  const settings = readSettings(config);
  const secret = (key: (typeof SECRET_KEYS)[number]) => config.getSecret(key);
  const apiKey = secret("solapiApiKey");
  const apiSecret = secret("solapiApiSecret");
  if (!settings.solapiMock && (!apiKey || !apiSecret)) {
    throw new StackConfigError(
      "Invalid stack configuration: academy-messaging:solapiApiKey and solapiApiSecret are required unless solapiMock is true (pulumi config set --secret …)",
    );
  }
  const queueName = settings.suffixQueueNames ? `${settings.queueName}-${stack}` : settings.queueName;
  return {
    stack,
    image,
    repositoryArn,
    queue: {
      name: queueName,
      deadLetterName: `${queueName}-dlq`,
      visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
      waitSeconds: settings.waitSeconds,
      maxReceiveCount: settings.maxReceiveCount,
    },
    solapi: {
      mock: settings.solapiMock,
      apiKey,
      apiSecret,
      sender: settings.solapiSender,
      kakaoPfId: settings.solapiKakaoPfId,
      kakaoTemplateId: settings.solapiKakaoTemplateId,
      baseUrl: settings.solapiBaseUrl,
      timeoutMs: settings.solapiTimeoutMs,
    },
    databaseUrl: secret("databaseUrl"),
    worker: { concurrency: settings.concurrency, shutdownTimeoutSeconds: settings.shutdownTimeoutSeconds, logLevel: settings.logLevel },
    capacity: {
      mode: settings.capacityMode,
      spotWeight: settings.fargateSpotWeight,
      onDemandWeight: settings.fargateOnDemandWeight,
      instanceTypes: settings.ec2InstanceTypes,
    },
    scaling: {
      minTasks: settings.minTasks,
      maxTasks: settings.maxTasks,
      acceptableLatencySeconds: settings.acceptableLatencySeconds,
      secondsPerMessage: settings.secondsPerMessage,
      idleMinutesBeforeZero: settings.idleMinutesBeforeZero,
    },
    alarms: { oldestMessageSeconds: settings.oldestMessageAlarmSeconds, email: settings.alarmEmail, topicArn: settings.alarmTopicArn },
    network: { vpcId: settings.vpcId, subnetIds: settings.subnetIds },
    logRetentionDays: settings.logRetentionDays,
    tags: { project: "academy-messaging", stack },
  };
}
