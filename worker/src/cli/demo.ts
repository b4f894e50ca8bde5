/**
 * `npm run demo`: the real worker on an embedded SQS with Solapi in mock mode. Enqueues one job of
 * each mode through the producer API, shows what would be sent, and exits 0 when all four went out
 * as expected. Needs no AWS account, no Solapi account and no database.
 */
import { once } from "node:events";
import { loadConfig } from "../config";
import type { JobReport } from "../consumer/consumer";
import { createLogger, maskPhone } from "../log";
import { type EnqueueSmsInput, enqueueSms } from "../producer";
import { MOCK_REFUSED_TEMPLATE_PREFIX } from "../solapi/mock";
import { templateContextFromReservation } from "../templates";
import { startWorker } from "../worker";
import { startEmbeddedSqs } from "./embedded-sqs";

const QUEUE = "academy-messaging-jobs";
const PARENT_PHONE = "010-1234-5678";
const TIMEOUT_MS = 30_000;

const reservation = {
  studentName: "김민준",
  startsAt: "2026-12-01T06:00:00Z",
  clinicName: "수학 클리닉",
  place: "본관 301호",
  link: "https://academy.example/r/1042",
};

interface DemoJob {
  label: string;
  expect: string;
  input: EnqueueSmsInput;
}

const DEMO_JOBS: DemoJob[] = [
  {
    label: "sms",
    expect: "sms",
    input: {
      tenantId: 1,
      to: PARENT_PHONE,
      messageMode: "sms",
      eventType: "attendance",
      text: "[한빛학원] 김민준 학생이 15:02에 등원했습니다.",
    },
  },
  {
    label: "sms, long text",
    expect: "lms",
    input: {
      tenantId: 1,
      to: PARENT_PHONE,
      messageMode: "sms",
      eventType: "notice",
      subject: "[한빛학원] 12월 수업 일정 안내",
      text:
        "[한빛학원] 12월 수업 일정 안내\n" +
        "12월 24일(수)부터 12월 26일(금)까지는 겨울 방학 특강 준비로 정규 수업이 없습니다. " +
        "보충이 필요한 학생은 담임 선생님께 클리닉 예약을 요청해 주세요. 감사합니다.",
    },
  },
  {
    label: "alimtalk",
    expect: "alimtalk",
    input: {
      tenantId: 1,
      to: PARENT_PHONE,
      messageMode: "alimtalk",
      eventType: "clinic_reminder",
      reservationId: 1042,
      targetName: reservation.studentName,
      templateContext: templateContextFromReservation(reservation),
      text: "[한빛학원] 김민준 학생 수학 클리닉: 2026년 12월 1일 (화) 오후 3:00, 본관 301호",
    },
  },
  {
    label: "both, template refused",
    expect: "sms (after alimtalk)",
    input: {
      tenantId: 1,
      to: PARENT_PHONE,
      messageMode: "both",
      eventType: "clinic_reminder",
      templateId: `${MOCK_REFUSED_TEMPLATE_PREFIX}-UNAPPROVED-TEMPLATE`,
      templateContext: templateContextFromReservation(reservation),
      text: "[한빛학원] 12/1(화) 오후 3:00 수학 클리닉 예약",
    },
  },
];

function channelOf(report: JobReport): string {
  if (report.outcome.kind !== "sent") return `${report.outcome.kind}: ${report.outcome.reason}`;
  return report.outcome.fellBackFrom ? `${report.outcome.channel} (after ${report.outcome.fellBackFrom})` : report.outcome.channel;
}

function printSummary(jobs: DemoJob[], reports: Map<string, JobReport>, keys: string[]): boolean {
  const rows = jobs.map((job, index) => {
    const report = reports.get(keys[index] ?? "");
    const got = report ? channelOf(report) : "(no answer)";
    const ids = report?.outcome.kind === "sent" ? `${report.outcome.groupId} / ${report.outcome.messageId}` : "";
    return { mode: job.label, expected: job.expect, got, ids, ok: got === job.expect };
  });
  const width = (pick: (row: (typeof rows)[number]) => string, title: string) =>
    Math.max(title.length, ...rows.map((row) => pick(row).length));
  const modeWidth = width((r) => r.mode, "job");
  const gotWidth = width((r) => r.got, "sent as");
  const line = (a: string, b: string, c: string, mark: string) => `${mark} ${a.padEnd(modeWidth)}  ${b.padEnd(gotWidth)}  ${c}`;
  const out = [
    "",
    `Demo: ${jobs.length} jobs to ${maskPhone(PARENT_PHONE)} through the embedded queue, Solapi in mock mode (nothing was sent)`,
    line("job", "sent as", "group id / message id", " "),
    ...rows.map((row) => line(row.mode, row.got, row.ids, row.ok ? "✔" : "✘")),
    "",
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  return rows.every((row) => row.ok);
}

export async function runDemo(): Promise<number> {
  const embedded = await startEmbeddedSqs({ queueName: QUEUE, dlqName: `${QUEUE}-dlq` });
  const config = loadConfig({
    ...process.env,
    SOLAPI_MOCK: "true",
    AWS_ENDPOINT_URL_SQS: embedded.endpoint,
    MESSAGING_SQS_QUEUE_URL: embedded.queues.queueUrl,
    MESSAGING_SQS_WAIT_SECONDS: "1",
    SOLAPI_SENDER: process.env.SOLAPI_SENDER ?? "0212345678",
    SOLAPI_KAKAO_PF_ID: process.env.SOLAPI_KAKAO_PF_ID ?? "KA01PF-DEMO-HANBIT-ACADEMY",
    SOLAPI_KAKAO_TEMPLATE_ID: process.env.SOLAPI_KAKAO_TEMPLATE_ID ?? "KA01TP-DEMO-CLINIC-REMINDER",
    LOG_FORMAT: process.env.LOG_FORMAT ?? "pretty",
    DATABASE_URL: "",
  });
  const log = createLogger({ ...config.log, secrets: config.secrets });
  const show = (title: string, prettyJson: string) => process.stdout.write(`\n── ${title}\n${maskPhone(prettyJson)}\n`);
  const worker = await startWorker(config, log, { sqs: embedded.sqs, solapi: { showMock: show } });

  const reports = new Map<string, JobReport>();
  worker.consumer.on("job", (report) => reports.set(report.key, report));
  const keys: string[] = [];
  for (const job of DEMO_JOBS) {
    keys.push((await enqueueSms(job.input, { sqs: embedded.sqs, queueUrl: embedded.queues.queueUrl })).idempotencyKey);
  }

  const deadline = Date.now() + TIMEOUT_MS;
  while (keys.some((key) => !reports.has(key)) && Date.now() < deadline) {
    await Promise.race([once(worker.consumer, "job"), new Promise((resolve) => setTimeout(resolve, 500))]);
  }
  await worker.stop();
  await embedded.close();
  return printSummary(DEMO_JOBS, reports, keys) ? 0 : 1;
}
