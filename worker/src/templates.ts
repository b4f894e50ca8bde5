/** AlimTalk template variables the academy templates use; written `#{name}` in a template. */
export const TemplateVariable = {
  NAME: "name",
  DATE: "date",
  TIME: "time",
  CLINIC_NAME: "clinic_name",
  PLACE: "place",
  LINK: "link",
  TITLE: "title",
} as const;

export type TemplateVariableName = (typeof TemplateVariable)[keyof typeof TemplateVariable];
export const TEMPLATE_VARIABLES: readonly TemplateVariableName[] = Object.values(TemplateVariable);

/** Values by variable name; a template may also use names beyond the standard ones. */
export type TemplateContext = Partial<Record<TemplateVariableName, string | number | null | undefined>> &
  Record<string, string | number | null | undefined>;

/** docs/contract.md §1 `alimtalk_replacements`, as the Python producer writes them. */
export interface AlimtalkReplacement {
  key: string;
  value: string;
}

const VARIABLE_NAME = /^[^.#{}\s][^.#{}]{0,29}$/;

/** Turns a context into `alimtalk_replacements`; empty values are left out, a bad name throws. */
export function buildReplacements(context: TemplateContext): AlimtalkReplacement[] {
  const replacements: AlimtalkReplacement[] = [];
  for (const [name, value] of Object.entries(context)) {
    if (!VARIABLE_NAME.test(name)) {
      throw new TypeError(`template variable "${name}": names are 1–30 characters without ".", "#", "{" or "}"`);
    }
    if (value === undefined || value === null || value === "") continue;
    replacements.push({ key: `#{${name}}`, value: String(value) });
  }
  return replacements;
}

export interface ReservationForTemplate {
  /** The student the reservation is for. */
  studentName?: string | null;
  startsAt: Date | string;
  clinicName?: string | null;
  place?: string | null;
  link?: string | null;
  title?: string | null;
}

const WEEKDAYS = ["일", "월", "화", "수", "목", "금", "토"];
/** Korea has kept UTC+9 without daylight saving since 1988, so no time-zone database is needed. */
const SEOUL_OFFSET_MS = 9 * 60 * 60 * 1000;

/** `2026년 11월 26일 (목)` in Seoul time. */
export function formatKoreanDate(instant: Date): string {
  const seoul = new Date(instant.getTime() + SEOUL_OFFSET_MS);
  return `${seoul.getUTCFullYear()}년 ${seoul.getUTCMonth() + 1}월 ${seoul.getUTCDate()}일 (${WEEKDAYS[seoul.getUTCDay()]})`;
}

/** `오후 3:00` in Seoul time. */
export function formatKoreanTime(instant: Date): string {
  const seoul = new Date(instant.getTime() + SEOUL_OFFSET_MS);
  const hours = seoul.getUTCHours();
  const half = hours < 12 ? "오전" : "오후";
  const hour = hours % 12 === 0 ? 12 : hours % 12;
  return `${half} ${hour}:${String(seoul.getUTCMinutes()).padStart(2, "0")}`;
}

/** The standard variables for a clinic reservation reminder. */
export function templateContextFromReservation(reservation: ReservationForTemplate): TemplateContext {
  const startsAt = reservation.startsAt instanceof Date ? reservation.startsAt : new Date(reservation.startsAt);
  if (Number.isNaN(startsAt.getTime())) {
    throw new TypeError(`reservation.startsAt: not a date (${String(reservation.startsAt)})`);
  }
  return {
    [TemplateVariable.NAME]: reservation.studentName ?? undefined,
    [TemplateVariable.DATE]: formatKoreanDate(startsAt),
    [TemplateVariable.TIME]: formatKoreanTime(startsAt),
    [TemplateVariable.CLINIC_NAME]: reservation.clinicName ?? undefined,
    [TemplateVariable.PLACE]: reservation.place ?? undefined,
    [TemplateVariable.LINK]: reservation.link ?? undefined,
    [TemplateVariable.TITLE]: reservation.title ?? undefined,
  };
}
