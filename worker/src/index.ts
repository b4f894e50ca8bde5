/** The package's public API for producers: enqueue jobs, send now, build AlimTalk variables. */

export type { Job, JobBody, MessageMode } from "./job";
export { JobValidationError, MESSAGE_MODES, normalizePhone, parseJob, parseJobBody, resolveMode } from "./job";
export { maskPhone } from "./log";
export type { Enqueued, EnqueueSmsInput, ProducerOptions, SendSmsInput, SendSmsResult } from "./producer";
export { enqueueSms, SendRefusedError, sendSms, toJobBody } from "./producer";
export { SolapiRequestError } from "./solapi/errors";
export type { AlimtalkReplacement, ReservationForTemplate, TemplateContext, TemplateVariableName } from "./templates";
export {
  buildReplacements,
  formatKoreanDate,
  formatKoreanTime,
  TEMPLATE_VARIABLES,
  TemplateVariable,
  templateContextFromReservation,
} from "./templates";
