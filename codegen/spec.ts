// openapi.yaml as the generators read it: local $refs resolved, and every operation with all its
// parameters (the path item's and its own), in document order.
import { parse } from 'yaml';

export type Node = Record<string, any>;

const methods = ['get', 'put', 'post', 'delete', 'patch'] as const;

export interface Operation {
  operationId: string;
  method: (typeof methods)[number];
  path: string;
  operation: Node;
  /** Resolved parameter objects: the path item's first, then the operation's. */
  parameters: Node[];
}

export const parseSpec = (text: string): Node => parse(text) as Node;

/** The name a `#/components/.../Name` reference points to. */
export const refName = (node: Node | undefined): string | undefined => node?.$ref?.split('/').at(-1);

/** The node a local $ref points to, with the referring node's own keywords (a description) on top. */
export function deref(spec: Node, node: Node): Node {
  let current = node;
  while (current?.$ref) {
    const { $ref, ...siblings } = current;
    const target = ($ref as string)
      .split('/')
      .slice(1)
      .reduce<Node | undefined>((parent, key) => parent?.[key.replaceAll('~1', '/').replaceAll('~0', '~')], spec);
    if (!target) throw new Error(`${$ref} does not resolve`);
    current = { ...target, ...siblings };
  }
  return current;
}

export function operations(spec: Node): Operation[] {
  const found: Operation[] = [];
  for (const [path, item] of Object.entries<Node>(spec.paths ?? {})) {
    for (const method of methods) {
      const operation = item[method];
      if (!operation) continue;
      if (!operation.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p: Node) => deref(spec, p));
      found.push({ operationId: operation.operationId, method, path, operation, parameters });
    }
  }
  return found;
}

/** The schema of an operation's JSON request body, resolved, or undefined when it takes none. */
export function bodySchema(spec: Node, operation: Node): Node | undefined {
  if (!operation.requestBody) return undefined;
  const schema = deref(spec, operation.requestBody).content?.['application/json']?.schema;
  return schema ? deref(spec, schema) : undefined;
}
