// The rules engine: checks request fields against the rules generated from openapi.yaml
// (src/generated/rules.ts), with hammer's messages (ozzo-validation wording), for REST and gRPC alike.
// Each field reports only its first failing rule, as hammer does; every failing field is reported.
import { invalid, type FieldViolation } from '../errors.ts';
import type { FieldRule, FieldRules } from '../generated/rules.ts';

/** The descriptions of field violations. */
export const messages = {
  blank: 'cannot be blank',
  format: 'must be in a valid format',
  type: (type: string) => `must be ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`,
  minLength: (min: number) => `the length must be no less than ${min}`,
  maxLength: (max: number) => `the length must be no more than ${max}`,
  minimum: (min: number) => `must be no less than ${min}`,
  maximum: (max: number) => `must be no greater than ${max}`,
  oneOf: (allowed: readonly string[]) => `must be one of ${allowed.join(', ')}`,
};

/** A request as received: until it is validated, any field may be missing or of another type. */
export type Unchecked<T> = { [K in keyof T]?: unknown };

const isType: Record<FieldRule['type'], (value: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  array: (v) => Array.isArray(v),
};

/**
 * The instant a time filter names, or undefined when it names none PostgreSQL can compare with. Its
 * shape is checked by the contract's pattern first; this adds what a pattern cannot say.
 */
export function timeFilterInstant(value: string): Date | undefined {
  const written = /^(\d{4})-(\d\d)-(\d\d)/.exec(value);
  const time = new Date(value.replace(' ', 'T'));
  if (!written || Number.isNaN(time.getTime())) return undefined;
  // Date rolls a day the month lacks over (2021-02-30 is March 2); the day written must exist.
  const [year, month, day] = written.slice(1).map(Number) as [number, number, number];
  const day0 = new Date(0);
  day0.setUTCFullYear(year, month - 1, day);
  if (day0.getUTCMonth() !== month - 1) return undefined;
  // PostgreSQL has no year 0, and a time past year 9999 has no ISO form it reads.
  const utcYear = time.getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999 ? time : undefined;
}

/** An absolute http(s) URL with a host, as written (URL would repair ` http:host`): what the worker can POST to. */
function isHttpUrl(value: string): boolean {
  if (!/^[Hh][Tt][Tt][Pp][Ss]?:\/\/[^/?#\s]+/.test(value) || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

/**
 * A `whsec_` secret is the Standard Webhooks form: base64 of a 24 to 64 byte key (a shorter key is
 * weak, and receivers' libraries refuse other lengths). Any other secret is a plain token.
 */
function isSecretToken(value: string): boolean {
  if (!value.startsWith('whsec_')) return true;
  const encoded = value.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 === 1) return false;
  const bytes = Buffer.from(encoded, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

/** The contract's own formats (`format:` in openapi.yaml), each checked here and only here. */
export const formats: Readonly<Record<string, (value: string) => boolean>> = {
  'http-url': isHttpUrl,
  'secret-token': isSecretToken,
  /** Empty is no filter. */
  'time-filter': (value) => value === '' || timeFilterInstant(value) !== undefined,
};

/** The description of the first rule `value` breaks, or undefined. Absent (undefined or null) is only checked for `required`. */
export function firstViolation(rule: FieldRule, value: unknown): string | undefined {
  if (value === undefined || value === null) return rule.required ? messages.blank : undefined;
  if (!isType[rule.type](value)) return messages.type(rule.type);
  if (typeof value === 'string') {
    if (value === '' && rule.required) return messages.blank;
    // Lengths count UTF-16 code units, as hammer always has (JSON Schema counts code points).
    if (rule.minLength !== undefined && value.length < rule.minLength) return rule.minLength === 1 ? messages.blank : messages.minLength(rule.minLength);
    if (rule.maxLength !== undefined && value.length > rule.maxLength) return messages.maxLength(rule.maxLength);
    if (rule.pattern && !rule.pattern.test(value)) return rule.patternMessage ?? messages.format;
    if (rule.format !== undefined) {
      const check = formats[rule.format];
      if (!check) throw new Error(`no check for format "${rule.format}" (src/services/validation.ts)`);
      if (!check(value)) return rule.formatMessage ?? messages.format;
    }
  }
  if (typeof value === 'number') {
    if (rule.minimum !== undefined && value < rule.minimum) return messages.minimum(rule.minimum);
    if (rule.maximum !== undefined && value > rule.maximum) return messages.maximum(rule.maximum);
  }
  if (Array.isArray(value)) {
    if (rule.minItems !== undefined && value.length < rule.minItems) return rule.minItems === 1 ? messages.blank : messages.minLength(rule.minItems);
    if (rule.maxItems !== undefined && value.length > rule.maxItems) return messages.maxLength(rule.maxItems);
  }
  if (rule.enum && !rule.enum.includes(value as string)) return messages.oneOf(rule.enum);
  return undefined;
}

/**
 * One violation per failing field, in the order of the rules; a nested object's members and a list's
 * items are checked once the object or list itself passes (named `retry_policy.schedule[2]`).
 */
export function violations(rules: FieldRules, input: Readonly<Record<string, unknown>>, prefix = ''): FieldViolation[] {
  const found: FieldViolation[] = [];
  for (const [name, rule] of Object.entries(rules)) {
    const field = `${prefix}${name}`;
    const value = input[name];
    const description = firstViolation(rule, value);
    if (description) found.push({ field, description });
    else if (rule.properties && value != null) found.push(...violations(rule.properties, value as Record<string, unknown>, `${field}.`));
    else if (rule.values && value != null) {
      for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
        const memberDescription = firstViolation(rule.values, member) ?? (member == null ? messages.blank : undefined);
        if (memberDescription) found.push({ field: `${field}.${key}`, description: memberDescription });
      }
    } else if (rule.items && Array.isArray(value)) {
      value.forEach((item, index) => {
        const itemDescription = firstViolation(rule.items!, item) ?? (item == null ? messages.blank : undefined);
        if (itemDescription) found.push({ field: `${field}[${index}]`, description: itemDescription });
      });
    }
  }
  return found;
}

/** Checks `input` against `rules`: throws `invalid(message)` naming every failing field, else returns it as checked. */
export function validate<T>(message: string, rules: FieldRules, input: Unchecked<T>): T {
  const found = violations(rules, input as Record<string, unknown>);
  if (found.length > 0) throw invalid(message, found);
  return input as T;
}
