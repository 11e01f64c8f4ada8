// Renders src/generated/openapi-structure.ts: openapi.yaml as express-openapi-validator gets it. The
// request side keeps only structure: which parameters an operation takes (and whether they may be
// empty or hold reserved characters), the body's type, its required wrapper ("topic") and the
// wrapper's type. Every field rule, the field's type included, is left to the rules engine
// (src/services/validation.ts), so that every failing field is named at once in hammer's words: a
// validator that stopped the request at `"name": 5` or `limit=ten` would hide the other fields'
// violations. Responses keep their full schemas, so response validation still checks everything.
import { bodySchema, deref, operations, parseSpec, type Node } from './spec.ts';

/** The body (depth 0) keeps its type, required wrappers and properties; a wrapper (depth 1) its type. */
function structural(spec: Node, node: Node, depth: number): Node {
  const schema = deref(spec, node);
  if (depth > 0) return { type: schema.type };
  return {
    type: schema.type,
    ...(schema.required ? { required: schema.required } : {}),
    properties: Object.fromEntries(Object.entries<Node>(schema.properties ?? {}).map(([name, prop]) => [name, structural(spec, prop, depth + 1)])),
  };
}

/** Every `#/components/...` reference reachable from `node`, followed through the components. */
function reachable(spec: Node, node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) reachable(spec, item, found);
  else if (node && typeof node === 'object') {
    const ref = (node as Node).$ref;
    if (typeof ref === 'string' && !found.has(ref)) {
      found.add(ref);
      reachable(spec, deref(spec, { $ref: ref }), found);
    }
    for (const value of Object.values(node)) reachable(spec, value, found);
  }
  return found;
}

/** `node` without its examples (documentation only), except in `properties` maps, where keys are field names. */
function withoutExamples(node: unknown, inProperties = false): unknown {
  if (Array.isArray(node)) return node.map((item) => withoutExamples(item));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => inProperties || (key !== 'example' && key !== 'examples'))
      .map(([key, value]) => [key, withoutExamples(value, !inProperties && key === 'properties')]),
  );
}

/** JSON as readable TypeScript: short objects and arrays on one line, longer ones one member a line. */
function json(value: unknown, indent: string): string {
  const flat = JSON.stringify(value);
  if (flat.length + indent.length <= 100 || value === null || typeof value !== 'object') return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((item) => `${inner}${json(item, inner)},`).join('\n')}\n${indent}]`;
  return `{\n${Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${json(item, inner)},`).join('\n')}\n${indent}}`;
}

export function renderStructure(specText: string): string {
  const spec = parseSpec(specText);
  const ops = operations(spec);

  const entries = ops.map(({ operationId, operation, parameters }) => {
    const body = bodySchema(spec, operation);
    const structure: Node = {
      operationId,
      'x-hammer-invalid-message': operation['x-hammer-invalid-message'],
      parameters: parameters.map((p) => ({
        name: p.name,
        in: p.in,
        required: p.required === true,
        ...(p.allowEmptyValue ? { allowEmptyValue: true } : {}),
        ...(p.allowReserved ? { allowReserved: true } : {}),
        schema: {},
      })),
      ...(body ? { requestBody: { required: deref(spec, operation.requestBody).required === true, content: { 'application/json': { schema: structural(spec, body, 0) } } } } : {}),
      responses: withoutExamples(operation.responses),
    };
    if (typeof structure['x-hammer-invalid-message'] !== 'string') throw new Error(`${operationId} has no x-hammer-invalid-message`);
    return `  ${operationId}: ${json(structure, '  ')},`;
  });

  // Only the components the responses use: the request schemas are inlined above.
  const refs = reachable(spec, ops.map((op) => op.operation.responses));
  const components: Node = {};
  for (const ref of [...refs].sort()) {
    const [, , kind, name] = ref.split('/') as [string, string, string, string];
    components[kind] ??= {};
    components[kind][name] = withoutExamples(spec.components[kind][name]);
  }

  const paths = Object.entries(Object.groupBy(ops, (op) => op.path)).map(
    ([path, list]) => `    '${path}': { ${list!.map((op) => `${op.method}: operations.${op.operationId}`).join(', ')} },`,
  );

  return [
    "import type { OperationId } from './routes.ts';",
    '',
    'export interface StructuralSchema {',
    '  type?: string;',
    '  required?: string[];',
    '  properties?: Record<string, StructuralSchema>;',
    '}',
    '',
    'export interface StructuralParameter {',
    '  name: string;',
    "  in: 'path' | 'query' | 'header';",
    '  required: boolean;',
    '  allowEmptyValue?: boolean;',
    '  allowReserved?: boolean;',
    '  schema: StructuralSchema;',
    '}',
    '',
    'export interface StructuralOperation {',
    '  operationId: OperationId;',
    "  /** hammer's message for a 400 answer to this operation. */",
    "  'x-hammer-invalid-message': string;",
    '  parameters: StructuralParameter[];',
    "  requestBody?: { required: boolean; content: { 'application/json': { schema: StructuralSchema } } };",
    '  responses: Record<string, unknown>;',
    '}',
    '',
    '/** The request side of each operation, structure only. */',
    'export const operations: Record<OperationId, StructuralOperation> = {',
    ...entries,
    '};',
    '',
    '/** The document express-openapi-validator checks requests and responses against. */',
    'export const openApiStructure = {',
    `  openapi: ${JSON.stringify(spec.openapi)},`,
    `  info: ${json({ title: spec.info.title, version: spec.info.version }, '  ')},`,
    '  paths: {',
    ...paths,
    '  },',
    `  components: ${json(components, '  ')},`,
    '};',
    '',
  ].join('\n');
}
