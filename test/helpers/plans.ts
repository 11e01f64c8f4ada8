// EXPLAIN (FORMAT JSON) plans as flat lists of nodes, and a one-line summary for assertion messages.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** The node and every node under it, depth first. */
export function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

/** `Nested Loop > Index Scan (deliveries_pkey) on deliveries > ...` */
export function describePlan(nodes: PlanNode[]): string {
  return nodes
    .map((n) => `${n['Node Type']}${n['Index Name'] ? ` (${n['Index Name']})` : ''}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}`)
    .join(' > ');
}

/** A partition (or a partition's index): the partitioned table (or index) it belongs to, and whether it is empty. */
export interface Partition {
  parent: string;
  empty: boolean;
}

/**
 * Every partition and partition index by name: plans name the partitions they read
 * (`deliveries_legacy`, `deliveries_p20261201_status_created_at_id_idx`). Empty as last analyzed.
 */
export async function partitionParents(db: { any: CommonQueryMethods['any'] }): Promise<Map<string, Partition>> {
  const rows = await db.any(sql.type(z.object({ child: z.string(), root: z.string(), empty: z.boolean() }))`
    with recursive up (child, root) as (
      select inhrelid, inhparent from pg_inherits
      union all
      select up.child, i.inhparent from up join pg_inherits i on i.inhrelid = up.root
    )
    select c.relname as child, r.relname as root, c.reltuples <= 0 as empty from up
      join pg_class c on c.oid = up.child join pg_class r on r.oid = up.root
    where not exists (select from pg_inherits i where i.inhrelid = up.root)`);
  return new Map(rows.map((r) => [r.child, { parent: r.root, empty: r.empty }]));
}

/**
 * The plan's nodes with partitions and their indexes named by their partitioned table and index, and
 * without the sequential scans of empty partitions: the planner picks those for a partition with no
 * rows (they read nothing), and plans again once autovacuum has analyzed one that filled.
 */
export function underParents(nodes: PlanNode[], partitions: Map<string, Partition>): PlanNode[] {
  return nodes
    .filter((n) => !(n['Node Type'] === 'Seq Scan' && n['Relation Name'] && partitions.get(n['Relation Name'])?.empty))
    .map((n) => ({
      ...n,
      ...(n['Index Name'] ? { 'Index Name': partitions.get(n['Index Name'])?.parent ?? n['Index Name'] } : {}),
      ...(n['Relation Name'] ? { 'Relation Name': partitions.get(n['Relation Name'])?.parent ?? n['Relation Name'] } : {}),
    }));
}
