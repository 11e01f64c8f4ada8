// EXPLAIN (FORMAT JSON) plans as flat lists of nodes, and a one-line summary for assertion messages.

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
