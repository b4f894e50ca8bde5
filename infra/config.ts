import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CAPACITY_MODES } from "./compute/modes";
import { DEFAULT_QUEUE_NAME, queueNames, stackTags } from "./names";
import { MAX_TASKS_LIMIT } from "./scaling";
import type { StackSettings } from "./settings";

/**
 * The stack's configuration (Pulumi.<stack>.yaml, namespace `academy-messaging`), read once into the
 * stack's settings and checked with zod; Pulumi.dev.yaml documents every key. Secrets stay Pulumi
 * secrets.
 */
/** CloudWatch Logs accepts only these retentions (PutRetentionPolicy); 0 keeps logs forever. */
export const LOG_RETENTION_DAYS = [
  0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The longest shutdown budget any mode allows; each mode's own bound is checked below. */
const MAX_SHUTDOWN_SECONDS = Math.max(...Object.values(CAPACITY_MODES).map((mode) => mode.shutdownSeconds.max));

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
    queueName: z.string().min(1).default(DEFAULT_QUEUE_NAME),
    suffixQueueNames: z.boolean().default(false),
    visibilityTimeoutSeconds: z.number().int().min(10).max(43_200).default(60),
    waitSeconds: z.number().int().min(0).max(20).default(20),
    maxReceiveCount: z.number().int().min(1).max(1000).default(3),
    concurrency: z.number().int().min(1).max(1000).default(50),
    shutdownTimeoutSeconds: z.number().int().min(1).max(MAX_SHUTDOWN_SECONDS).optional(),
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
  .refine((settings) => (settings.shutdownTimeoutSeconds ?? 0) <= CAPACITY_MODES[settings.capacityMode].shutdownSeconds.max, {
    message: `must be at most ${CAPACITY_MODES["ec2-spot"].shutdownSeconds.max} in ec2-spot mode: an EC2 Spot instance stops about 120 s after its notice and ECS drains it late, so the worker must be done well before`,
    path: ["shutdownTimeoutSeconds"],
  })
  .refine((settings) => settings.solapiMock || settings.solapiSender, {
    message: "solapiSender is required unless solapiMock is true",
    path: ["solapiSender"],
  });

type ConfigKeys = z.infer<typeof settingsSchema>;

const KEYS = Object.keys(settingsSchema.shape) as (keyof ConfigKeys)[];
const SECRET_KEYS = ["solapiApiKey", "solapiApiSecret", "databaseUrl", "recipientHashSecret"] as const;

export class StackConfigError extends Error {}

/** Whether a key holds text: Pulumi keeps every value as a string, and "15881234" must stay one. */
function holdsText(schema: z.ZodType): boolean {
  const def = (schema as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
  if ((def.type === "default" || def.type === "optional") && def.innerType) return holdsText(def.innerType);
  return def.type === "string" || def.type === "enum";
}

/**
 * The stack's settings from its config, parsed once: every plain key (numbers, booleans and lists as
 * YAML typed them) checked together, then the secrets.
 */
export function readSettings(config: pulumi.Config, stack: string): StackSettings {
  const keys = parseKeys(config);
  const secret = (key: (typeof SECRET_KEYS)[number]) => config.getSecret(key);
  const apiKey = secret("solapiApiKey");
  const apiSecret = secret("solapiApiSecret");
  if (!keys.solapiMock && (!apiKey || !apiSecret)) {
    throw new StackConfigError(
      `Invalid stack configuration: ${config.name}:solapiApiKey and solapiApiSecret are required unless solapiMock is true (pulumi config set --secret …)`,
    );
  }
  const databaseUrl = secret("databaseUrl");
  if (keys.solapiMock && databaseUrl) {
    throw new StackConfigError(
      `Invalid stack configuration: ${config.name}:solapiMock cannot be true with a databaseUrl: mock sends would charge tenants' credits for messages never sent`,
    );
  }
  return {
    stack,
    imageUri: keys.imageUri,
    queue: {
      ...queueNames(keys.queueName, stack, keys.suffixQueueNames),
      visibilityTimeoutSeconds: keys.visibilityTimeoutSeconds,
      waitSeconds: keys.waitSeconds,
      maxReceiveCount: keys.maxReceiveCount,
    },
    solapi: {
      mock: keys.solapiMock,
      apiKey,
      apiSecret,
      sender: keys.solapiSender,
      kakaoPfId: keys.solapiKakaoPfId,
      kakaoTemplateId: keys.solapiKakaoTemplateId,
      baseUrl: keys.solapiBaseUrl,
      timeoutMs: keys.solapiTimeoutMs,
      mockShowText: keys.solapiMockShowText,
    },
    databaseUrl,
    recipientHashSecret: secret("recipientHashSecret"),
    worker: {
      concurrency: keys.concurrency,
      shutdownTimeoutSeconds: keys.shutdownTimeoutSeconds ?? CAPACITY_MODES[keys.capacityMode].shutdownSeconds.default,
      logLevel: keys.logLevel,
      deliveryCheckSeconds: keys.deliveryCheckSeconds,
      metrics: keys.metrics,
    },
    capacity: {
      mode: keys.capacityMode,
      spotWeight: keys.fargateSpotWeight,
      onDemandWeight: keys.fargateOnDemandWeight,
      instanceTypes: keys.ec2InstanceTypes,
    },
    scaling: {
      minTasks: keys.minTasks,
      maxTasks: keys.maxTasks,
      acceptableLatencySeconds: keys.acceptableLatencySeconds,
      secondsPerMessage: keys.secondsPerMessage,
      idleMinutesBeforeZero: keys.idleMinutesBeforeZero,
      warmWindow: { tasks: keys.warmTasks, from: keys.warmFrom, until: keys.warmUntil, timezone: keys.timezone },
      keepAliveHours: keys.keepAliveHours,
    },
    alarms: { oldestMessageSeconds: keys.oldestMessageAlarmSeconds, email: keys.alarmEmail, topicArn: keys.alarmTopicArn },
    network: { vpcId: keys.vpcId, subnetIds: keys.subnetIds },
    logRetentionDays: keys.logRetentionDays,
    tags: stackTags(stack),
  };
}

/** Every plain key, checked together: every bad key named at once. */
function parseKeys(config: pulumi.Config): ConfigKeys {
  const raw = Object.fromEntries(
    KEYS.flatMap((key) => {
      const value = holdsText(settingsSchema.shape[key]) ? config.get(key) : config.getObject<unknown>(key);
      return value === undefined ? [] : [[key, value]];
    }),
  );
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${config.name}:${issue.path.join(".")} ${issue.message}`);
    throw new StackConfigError(`Invalid stack configuration: ${problems.join("; ")}`);
  }
  return parsed.data;
}
