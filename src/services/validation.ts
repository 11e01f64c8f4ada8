// Hammer's validation rules and messages (ozzo-validation wording), shared by REST and gRPC. Each
// field reports only its first failing rule, as hammer does.
import { invalid, type FieldViolation } from '../errors.ts';

export type Rule = (value: unknown) => string | undefined;

/** The descriptions of field violations; the REST layer rewords the OpenAPI validator's errors with them. */
export const describe = {
  blank: 'cannot be blank',
  format: 'must be in a valid format',
  nul: 'must not contain the NUL character',
  url: 'must be a valid URL',
  timestamp: 'must be an RFC 3339 timestamp (2021-03-18T11:10:29Z) or a date (2021-03-18)',
  maxLength: (max: number | string) => `the length must be no more than ${max}`,
  minimum: (min: number | string) => `must be no less than ${min}`,
  maximum: (max: number | string) => `must be no greater than ${max}`,
  oneOf: (allowed: readonly string[] | string) => `must be one of ${typeof allowed === 'string' ? allowed : allowed.join(', ')}`,
};

const idPattern = /^[\w.+-]+$/;
export const maxTextLength = 255;
export const maxUrlLength = 2083;
export const maxSeconds = 2_147_483_647;

export const required: Rule = (v) => (v === undefined || v === null || v === '' || v === 0 ? describe.blank : undefined);

/** For partial updates: absent is fine, present but empty is not. */
export const notBlank: Rule = (v) => (v === null || v === '' ? describe.blank : undefined);

/** PostgreSQL text cannot hold U+0000: refused here rather than failing in the database. */
export const noNul: Rule = (v) => (typeof v === 'string' && v.includes('\0') ? describe.nul : undefined);

export const idFormat: Rule = (v) => (typeof v === 'string' && v !== '' && !idPattern.test(v) ? describe.format : undefined);

export const maxLength =
  (max: number): Rule =>
  (v) =>
    typeof v === 'string' && v.length > max ? describe.maxLength(max) : undefined;

/** An absolute http(s) URL with a host: what the worker can POST to. */
export const httpUrl: Rule = (v) => {
  if (typeof v !== 'string' || v === '') return undefined;
  const url = URL.canParse(v) ? new URL(v) : undefined;
  return url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? undefined : describe.url;
};

export const wholeSeconds: Rule = (v) => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) return 'must be an integer';
  if (v < 1) return describe.minimum(1);
  if (v > maxSeconds) return describe.maximum(maxSeconds);
  return undefined;
};

export const oneOf =
  (allowed: readonly string[]): Rule =>
  (v) =>
    v !== undefined && v !== '' && !allowed.includes(v as string) ? describe.oneOf(allowed) : undefined;

export const ident = [required, idFormat, maxLength(maxTextLength)];
export const text = [required, maxLength(maxTextLength), noNul];
/** An id to filter a list on: any text (a value no id has matches nothing), empty for no filter. */
export const idFilter = [maxLength(maxTextLength), noNul];

/** Checks `fields` (name -> [value, ...rules]); throws `invalid(message)` listing each failing field. */
export function validate(message: string, fields: Record<string, [unknown, ...Rule[]]>): void {
  const violations: FieldViolation[] = [];
  for (const [field, [value, ...rules]] of Object.entries(fields)) {
    for (const rule of rules) {
      const description = rule(value);
      if (description) {
        violations.push({ field, description });
        break;
      }
    }
  }
  if (violations.length > 0) throw invalid(message, violations);
}
