// The list parameters of every list operation, checked by the contract's rules for that operation
// (src/generated/rules.ts) and normalised into a store query: limit (defaulted, clamped), offset,
// the created_at_* filters as instants, and the other parameters as equality filters.
import type { FieldRules } from '../generated/rules.ts';
import type { ListQuery } from '../store/table.ts';
import { timeFilterInstant, validate } from './validation.ts';

export interface Pagination {
  defaultLimit: number;
  maxLimit: number;
}

/** List input as received (REST query, gRPC request): checked here. */
export type ListInput = Readonly<Record<string, unknown>>;

const timeFilters = ['created_at_gt', 'created_at_gte', 'created_at_lt', 'created_at_lte'] as const;
const isTimeFilter = (key: string): key is (typeof timeFilters)[number] => (timeFilters as readonly string[]).includes(key);

/** Checks and normalises list input against `parameters`; empty values mean no filter, as in hammer. */
export function listQuery(input: ListInput, pagination: Pagination, parameters: FieldRules): ListQuery {
  const checked = validate<Record<string, string | number | undefined>>('invalid_list_parameters', parameters, input);
  const { limit, offset } = checked as { limit?: number; offset?: number };
  const query: ListQuery = { limit: !limit ? pagination.defaultLimit : Math.min(limit, pagination.maxLimit), offset: offset ?? 0, equal: {} };
  for (const key of Object.keys(parameters)) {
    const value = checked[key];
    if (key === 'limit' || key === 'offset' || typeof value !== 'string' || value === '') continue;
    if (isTimeFilter(key)) query[key] = timeFilterInstant(value)!.toISOString();
    else query.equal![key] = value;
  }
  return query;
}
