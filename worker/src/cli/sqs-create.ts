/**
 * `npm run sqs:create -- [region]`: creates the job queue and its DLQ with docs/contract.md §5's attributes,
 * or brings existing ones to them. Names and endpoint come from the worker's environment.
 */
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../config";
import { errorMessage } from "../error-message";
import { createQueues, QUEUE_DEFAULTS } from "../sqs/admin";
import { createSqsClient } from "../sqs/client";

export async function runSqsCreate(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  let config: Config;
  try {
    // Creating queues needs no Solapi credentials.
    config = loadConfig({ ...process.env, SOLAPI_MOCK: "true", ...(positionals[0] ? { AWS_REGION: positionals[0] } : {}) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const sqs = createSqsClient(config.sqs);
  try {
    const created = await createQueues(sqs, { queueName: config.sqs.queueName, dlqName: config.sqs.dlqName });
    process.stdout.write(
      [
        `region            ${config.sqs.region}${config.sqs.endpoint ? ` (endpoint ${config.sqs.endpoint})` : ""}`,
        `queue             ${created.queueUrl}`,
        `                  visibility ${QUEUE_DEFAULTS.visibilityTimeoutSeconds} s, long polling ${QUEUE_DEFAULTS.waitSeconds} s, to the DLQ after ${QUEUE_DEFAULTS.maxReceiveCount} receives`,
        `dead-letter queue ${created.deadLetterQueueUrl}`,
        `                  keeps messages ${QUEUE_DEFAULTS.deadLetterRetentionSeconds / 86_400} days`,
        "",
      ].join("\n"),
    );
    return 0;
  } catch (error) {
    process.stderr.write(`could not create the queues: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    sqs.destroy();
  }
}
