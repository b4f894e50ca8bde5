import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { WorkerArgs } from "./args";
import { MAX_TASKS_LIMIT } from "./scaling";

/**
 * The stack's configuration (Pulumi.<stack>.yaml, namespace `academy-messaging`), read once and
 * checked with zod; Pulumi.dev.yaml documents every key. Secrets stay Pulumi secrets.
 */
/** CloudWatch Logs accepts only these retentions (PutRetentionPolicy); 0 keeps logs forever. */
export const LOG_RETENTION_DAYS = [
  0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * EC2 Spot gives two minutes' notice and the instance is gone about 120 s after it; ECS drains the
 * instance only once the notice reaches it, so the worker's SIGTERM comes late. 90 s leaves that lag
 * room. Fargate's SIGTERM is the notice itself: up to 110 s of ECS's 120 s stopTimeout.
 */
export const MAX_SHUTDOWN_SECONDS = { "fargate-spot": 110, "ec2-spot": 90 } as const;
const DEFAULT_SHUTDOWN_SECONDS = { "fargate-spot": 100, "ec2-spot": 90 } as const;

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a time of day, HH:MM (24 h)");
const timezone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, "must be an IANA time zone such as Asia/Seoul");

const settingsSchema = z
  .object({
    capacityMode: z.enum(["fargate-spot", "ec2-spot"]).default("fargate-spot"),
    fargateSpotWeight: z.number().int().min(0).default(1),
    fargateOnDemandWeight: z.number().int().min(0).default(0),
    ec2InstanceTypes: z.array(z.string()).min(1).default(["t3.micro", "t3a.micro"]),
    minTasks: z.number().int().min(0).default(0),
    maxTasks: z.number().int().min(1).max(MAX_TASKS_LIMIT).default(3),
    warmTasks: z.number().int().min(0).default(1),
    warmFrom: clockTime.default("07:00"),
    warmUntil: clockTime.default("23:00"),
    timezone: timezone.default("Asia/Seoul"),
    keepAliveHours: z.number().int().min(0).max(5).default(5),
    acceptableLatencySeconds: z.number().positive().default(60),
    secondsPerMessage: z.number().positive().default(0.02),
    idleMinutesBeforeZero: z.number().int().min(1).max(1440).default(15),
    queueName: z.string().min(1).default("academy-messaging-jobs"),
    suffixQueueNames: z.boolean().default(false),
    visibilityTimeoutSeconds: z.number().int().min(10).max(43_200).default(60),
    waitSeconds: z.number().int().min(0).max(20).default(20),
    maxReceiveCount: z.number().int().min(1).max(1000).default(3),
    concurrency: z.number().int().min(1).max(1000).default(50),
    shutdownTimeoutSeconds: z.number().int().min(1).max(MAX_SHUTDOWN_SECONDS["fargate-spot"]).optional(),
    logLevel: z.enum(["error", "warn", "info", "debug"]).default("info"),
    logRetentionDays: z
      .number()
      .int()
      .refine(
        (days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days),
        `must be one of CloudWatch's retentions: ${LOG_RETENTION_DAYS.join(", ")}`,
      )
      .default(14),
    deliveryCheckSeconds: z.number().int().min(0).max(86_400).default(300),
    metrics: z.boolean().default(true),
    solapiMock: z.boolean().default(false),
    solapiMockShowText: z.boolean().default(false),
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
  .refine((settings) => settings.warmTasks <= settings.maxTasks, { message: "warmTasks must not exceed maxTasks", path: ["warmTasks"] })
  .refine((settings) => settings.warmFrom !== settings.warmUntil, { message: "warmFrom and warmUntil must differ", path: ["warmUntil"] })
  .refine((settings) => settings.fargateSpotWeight + settings.fargateOnDemandWeight > 0, {
    message: "fargateSpotWeight and fargateOnDemandWeight cannot both be 0",
    path: ["fargateSpotWeight"],
  })
  .refine((settings) => (settings.shutdownTimeoutSeconds ?? 0) <= MAX_SHUTDOWN_SECONDS[settings.capacityMode], {
    message: `must be at most ${MAX_SHUTDOWN_SECONDS["ec2-spot"]} in ec2-spot mode: an EC2 Spot instance stops about 120 s after its notice and ECS drains it late, so the worker must be done well before`,
    path: ["shutdownTimeoutSeconds"],
  })
  .refine((settings) => settings.solapiMock || settings.solapiSender, {
    message: "solapiSender is required unless solapiMock is true",
    path: ["solapiSender"],
  });

export type StackSettings = z.infer<typeof settingsSchema>;

const KEYS = Object.keys(settingsSchema.shape) as (keyof StackSettings)[];
const SECRET_KEYS = ["solapiApiKey", "solapiApiSecret", "databaseUrl", "recipientHashSecret"] as const;

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
export function workerArgs(
  config: pulumi.Config,
  stack: string,
  image: pulumi.Input<string>,
  repositoryArn?: pulumi.Input<string>,
): WorkerArgs {
  const settings = readSettings(config);
  const secret = (key: (typeof SECRET_KEYS)[number]) => config.getSecret(key);
  const apiKey = secret("solapiApiKey");
  const apiSecret = secret("solapiApiSecret");
  if (!settings.solapiMock && (!apiKey || !apiSecret)) {
    throw new StackConfigError(
      "Invalid stack configuration: academy-messaging:solapiApiKey and solapiApiSecret are required unless solapiMock is true (pulumi config set --secret …)",
    );
  }
  const databaseUrl = secret("databaseUrl");
  if (settings.solapiMock && databaseUrl) {
    throw new StackConfigError(
      "Invalid stack configuration: academy-messaging:solapiMock cannot be true with a databaseUrl: mock sends would charge tenants' credits for messages never sent",
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
      mockShowText: settings.solapiMockShowText,
    },
    databaseUrl,
    recipientHashSecret: secret("recipientHashSecret"),
    worker: {
      concurrency: settings.concurrency,
      shutdownTimeoutSeconds: settings.shutdownTimeoutSeconds ?? DEFAULT_SHUTDOWN_SECONDS[settings.capacityMode],
      logLevel: settings.logLevel,
      deliveryCheckSeconds: settings.deliveryCheckSeconds,
      metrics: settings.metrics,
    },
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
      warmWindow: { tasks: settings.warmTasks, from: settings.warmFrom, until: settings.warmUntil, timezone: settings.timezone },
      keepAliveHours: settings.keepAliveHours,
    },
    alarms: { oldestMessageSeconds: settings.oldestMessageAlarmSeconds, email: settings.alarmEmail, topicArn: settings.alarmTopicArn },
    network: { vpcId: settings.vpcId, subnetIds: settings.subnetIds },
    logRetentionDays: settings.logRetentionDays,
    tags: { project: "academy-messaging", stack },
  };
}
