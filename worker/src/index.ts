/** The package's public API for producers: enqueue jobs, send now, build AlimTalk variables. */
export { enqueueSms, sendSms, toJobBody, SendRefusedError } from "./producer";
export type { EnqueueSmsInput, Enqueued, ProducerOptions, SendSmsInput, SendSmsResult } from "./producer";
export { parseJob, parseJobBody, normalizePhone, resolveMode, JobValidationError, MESSAGE_MODES } from "./job";
export type { Job, JobBody, MessageMode } from "./job";
export {
  TemplateVariable,
  TEMPLATE_VARIABLES,
  buildReplacements,
  templateContextFromReservation,
  formatKoreanDate,
  formatKoreanTime,
} from "./templates";
export type { AlimtalkReplacement, ReservationForTemplate, TemplateContext, TemplateVariableName } from "./templates";
export { SolapiRequestError } from "./solapi/errors";
export { maskPhone } from "./log";
