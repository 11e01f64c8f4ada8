// Hammer's validation rules and messages (ozzo-validation wording), shared by REST and gRPC. Each
// field reports only its first failing rule, as hammer does.
import { invalid, type FieldViolation } from '../errors.ts';

export type Rule = (value: unknown) => string | undefined;

const idPattern = /^[\w.+-]+$/;
export const maxTextLength = 255;
export const maxUrlLength = 2083;
export const maxSeconds = 2_147_483_647;

export const required: Rule = (v) => (v === undefined || v === null || v === '' || v === 0 ? 'cannot be blank' : undefined);

/** For partial updates: absent is fine, present but empty is not. */
export const notBlank: Rule = (v) => (v === null || v === '' ? 'cannot be blank' : undefined);

export const idFormat: Rule = (v) => (typeof v === 'string' && v !== '' && !idPattern.test(v) ? 'must be in a valid format' : undefined);

export const maxLength =
  (max: number): Rule =>
  (v) =>
    typeof v === 'string' && v.length > max ? `the length must be no more than ${max}` : undefined;

/** An absolute http(s) URL with a host: what the worker can POST to. */
export const httpUrl: Rule = (v) => {
  if (typeof v !== 'string' || v === '') return undefined;
  const url = URL.canParse(v) ? new URL(v) : undefined;
  return url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? undefined : 'must be a valid URL';
};

export const wholeSeconds: Rule = (v) => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) return 'must be an integer';
  if (v < 1) return 'must be no less than 1';
  if (v > maxSeconds) return `must be no greater than ${maxSeconds}`;
  return undefined;
};

export const oneOf =
  (allowed: readonly string[]): Rule =>
  (v) =>
    v !== undefined && v !== '' && !allowed.includes(v as string) ? `must be one of ${allowed.join(', ')}` : undefined;

export const ident = [required, idFormat, maxLength(maxTextLength)];
export const text = [required, maxLength(maxTextLength)];

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
