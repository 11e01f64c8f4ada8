// What every table shares: get by id, one page of a filtered list in a stable order (created_at,
// then id: the indexes are shaped for it), and delete by id.
import { sql, type CommonQueryMethods } from 'slonik';
import type { z } from 'zod';

/** A pool or a transaction. */
export type Db = CommonQueryMethods;

export interface ListQuery {
  limit: number;
  offset: number;
  created_at_gt?: string | undefined;
  created_at_gte?: string | undefined;
  created_at_lt?: string | undefined;
  created_at_lte?: string | undefined;
  /** Column = value filters; undefined values are left out. */
  equal?: Record<string, string | undefined>;
}

const comparisons = {
  created_at_gt: sql.fragment`>`,
  created_at_gte: sql.fragment`>=`,
  created_at_lt: sql.fragment`<`,
  created_at_lte: sql.fragment`<=`,
} as const;

function whereClause(query: ListQuery) {
  const conditions = [];
  for (const [column, value] of Object.entries(query.equal ?? {})) {
    if (value !== undefined) conditions.push(sql.fragment`${sql.identifier([column])} = ${value}`);
  }
  for (const key of Object.keys(comparisons) as (keyof typeof comparisons)[]) {
    const value = query[key];
    if (value !== undefined) conditions.push(sql.fragment`created_at ${comparisons[key]} ${value}::timestamptz`);
  }
  return conditions.length === 0 ? sql.fragment`true` : sql.join(conditions, sql.fragment` and `);
}

/** A timestamptz as the API writes it: `2021-03-18T11:10:29.748Z`. */
export const isoTime = (column: ReturnType<typeof sql.fragment>) => sql.fragment`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * `computed`: fields of the row that are an expression over the table's columns rather than a column
 * (the subscription's circuit_breaker object).
 */
export function tableQueries<Row extends z.ZodObject>(table: string, row: Row, computed: Record<string, ReturnType<typeof sql.fragment>> = {}) {
  const name = sql.identifier([table]);
  const columns = sql.join(
    Object.keys(row.shape).map((column) =>
      computed[column] ? sql.fragment`${computed[column]} as ${sql.identifier([column])}` : sql.identifier([column]),
    ),
    sql.fragment`, `,
  );
  const listSql = (query: ListQuery) => sql.type(row)`
    select ${columns} from ${name}
    where ${whereClause(query)}
    order by created_at, id
    limit ${query.limit} offset ${query.offset}`;
  return {
    name,
    columns,
    listSql,
    get: (db: Db, id: string) => db.maybeOne(sql.type(row)`select ${columns} from ${name} where id = ${id}`),
    list: (db: Db, query: ListQuery) => db.any(listSql(query)),
    remove: async (db: Db, id: string) => (await db.query(sql.unsafe`delete from ${name} where id = ${id}`)).rowCount > 0,
  };
}
