// The list parameters every list operation takes: limit (defaulted, clamped), offset, the
// created_at_* filters (RFC 3339 timestamps or dates), and equality filters.
import type { components } from '../generated/openapi.ts';
import type { ListQuery } from '../store/table.ts';
import { describe, validate, type Rule } from './validation.ts';

export interface Pagination {
  defaultLimit: number;
  maxLimit: number;
}

export interface ListInput {
  limit?: number | undefined;
  offset?: number | undefined;
  created_at_gt?: string | undefined;
  created_at_gte?: string | undefined;
  created_at_lt?: string | undefined;
  created_at_lte?: string | undefined;
}

const timeFilters = ['created_at_gt', 'created_at_gte', 'created_at_lt', 'created_at_lte'] as const;
const rfc3339 = /^\d{4}-\d\d-\d\d([Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?([Zz]|[+-]\d\d(:?\d\d)?))?$/;

/** The instant a filter names, or undefined when it names none PostgreSQL can compare with. */
function filterTime(value: string): Date | undefined {
  if (!rfc3339.test(value)) return undefined;
  const time = new Date(value.replace(' ', 'T'));
  if (Number.isNaN(time.getTime())) return undefined;
  // Date rolls a day the month lacks over (2021-02-30 is March 2); the day written must exist.
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const written = new Date(0);
  written.setUTCFullYear(year, month - 1, day);
  if (written.getUTCMonth() !== month - 1) return undefined;
  // PostgreSQL has no year 0, and a time past year 9999 has no ISO form it reads.
  const utcYear = time.getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999 ? time : undefined;
}

const timestamp: Rule = (v) => (typeof v === 'string' && v !== '' && !filterTime(v) ? describe.timestamp : undefined);

const uint32: Rule = (v) =>
  v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4_294_967_295) ? 'must be an integer from 0 to 4294967295' : undefined;

export type DeliveryStatus = components['schemas']['DeliveryStatus'];

/**
 * Checks and normalises list input. `equal` holds the per-resource filters with their rules;
 * empty values mean no filter, as in hammer.
 */
export function listQuery(
  input: ListInput,
  pagination: Pagination,
  equal: Record<string, [string | undefined, ...Rule[]]> = {},
): ListQuery {
  validate('invalid_list_parameters', {
    limit: [input.limit, uint32],
    offset: [input.offset, uint32],
    ...Object.fromEntries(timeFilters.map((key) => [key, [input[key], timestamp]])),
    ...equal,
  });
  const limit = !input.limit ? pagination.defaultLimit : Math.min(input.limit, pagination.maxLimit);
  const query: ListQuery = { limit, offset: input.offset ?? 0, equal: {} };
  for (const key of timeFilters) {
    const value = input[key];
    if (value) query[key] = filterTime(value)!.toISOString();
  }
  for (const [column, [value]] of Object.entries(equal)) {
    if (value) query.equal![column] = value;
  }
  return query;
}
