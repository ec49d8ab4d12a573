/**
 * Times that clients send (DateTime arguments, `around`, the times inside
 * cursors): ISO-8601 only, and only within what every store holds.
 */

/**
 * The earliest and latest instants accepted: years 0001 to 9999, the
 * four-digit years of ISO-8601. Postgres refuses year 0 and the signed
 * six-digit years that JavaScript writes outside this range, so a time beyond
 * it would fail in the store; Cassandra's and JavaScript's ranges are wider.
 */
export const MIN_DATE_TIME = new Date('0001-01-01T00:00:00.000Z');
export const MAX_DATE_TIME = new Date('9999-12-31T23:59:59.999Z');

/** `2026-11-25`, `2026-11-25T10:00`, `2026-11-25T10:00:00.123Z`, `2026-11-25T10:00:00+01:00`. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The instant `value` names, or undefined when it is not an ISO-8601 date or
 * date-time (a date alone is midnight UTC; a time without an offset is UTC)
 * or lies outside MIN_DATE_TIME..MAX_DATE_TIME.
 */
export function parseDateTime(value: string): Date | undefined {
  if (!ISO_8601.test(value) || !isCalendarDate(value)) return undefined;
  // JavaScript reads a date-time without an offset as local time: UTC it is.
  const hasOffset = value.length > 10 && /(?:Z|[+-]\d{2}:?\d{2})$/.test(value);
  const normalised = value.length > 10 && !hasOffset ? `${value}Z` : value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  return inRange(new Date(normalised));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** Whether the date part names a day of the calendar (JavaScript would read 2026-02-30 as March 2). */
function isCalendarDate(value: string): boolean {
  const [year, month, day] = [Number(value.slice(0, 4)), Number(value.slice(5, 7)), Number(value.slice(8, 10))];
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= (DAYS_IN_MONTH[month - 1] ?? 0) + (month === 2 && isLeapYear(year) ? 1 : 0);
}

/** `date` when it is a valid instant within MIN_DATE_TIME..MAX_DATE_TIME, else undefined. */
export function inRange(date: Date): Date | undefined {
  const time = date.getTime();
  if (Number.isNaN(time) || time < MIN_DATE_TIME.getTime() || time > MAX_DATE_TIME.getTime()) return undefined;
  return date;
}
