// Renders src/generated/rules.ts: the validation rules of every request input, read from openapi.yaml,
// for the rules engine in src/services/validation.ts. One group per request body schema
// (TopicCreate...), per path parameter schema (Id) and per operation with query parameters
// (listTopics...); fields in the contract's order. A keyword the engine does not apply fails codegen,
// so no rule written in the contract is silently ignored.
import { bodySchema, deref, operations, parseSpec, refName, type Node } from './spec.ts';

const types = ['string', 'integer', 'number', 'boolean', 'object', 'array'];
/** What the engine applies, in the order it applies them. */
const ruleKeywords = ['type', 'minLength', 'maxLength', 'pattern', 'x-pattern-message', 'format', 'x-format-message', 'minimum', 'maximum', 'enum'];
/** What the engine applies to a body property that is a list of objects (a batch), besides its items' own rules. */
const arrayKeywords = ['type', 'minItems', 'maxItems', 'items', ...['description', 'examples', 'title']];
const documentation = ['description', 'examples', 'title'];
const objectKeywords = ['type', 'required', 'properties', ...documentation];

const quote = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** DeliveryStatus -> deliveryStatuses: the name of the exported list of an enum schema's values. */
export const enumConstName = (schema: string) => {
  const name = `${schema[0]!.toLowerCase()}${schema.slice(1)}`;
  return name.endsWith('s') ? `${name}es` : name.endsWith('y') ? `${name.slice(0, -1)}ies` : `${name}s`;
};

function renderRule(spec: Node, node: Node, required: boolean, where: string): string {
  const schema = deref(spec, node);
  if (schema.type === 'object' && schema.properties) return renderObjectRule(spec, schema, required, where);
  if (schema.type === 'object' && schema.additionalProperties) return renderMapRule(spec, schema, required, where);
  if (schema.type === 'array') return renderListRule(spec, schema, required, where);
  for (const key of Object.keys(schema)) {
    if (!ruleKeywords.includes(key) && !documentation.includes(key)) throw new Error(`${where}: "${key}" is not a rule the validation engine applies`);
  }
  if (!types.includes(schema.type)) throw new Error(`${where}: the type must be one of ${types.join(', ')}`);
  const parts = [`type: '${schema.type}'`];
  if (required) parts.push('required: true');
  if (schema.minLength !== undefined) parts.push(`minLength: ${schema.minLength}`);
  if (schema.maxLength !== undefined) parts.push(`maxLength: ${schema.maxLength}`);
  if (schema.pattern !== undefined) parts.push(`pattern: ${new RegExp(schema.pattern, 'u').toString()}`);
  if (schema['x-pattern-message'] !== undefined) parts.push(`patternMessage: ${quote(schema['x-pattern-message'])}`);
  if (schema.format !== undefined) parts.push(`format: ${quote(schema.format)}`);
  if (schema['x-format-message'] !== undefined) parts.push(`formatMessage: ${quote(schema['x-format-message'])}`);
  if (schema.minimum !== undefined) parts.push(`minimum: ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`maximum: ${schema.maximum}`);
  if (schema.enum !== undefined) {
    // A named enum is exported once (deliveryStatuses); the rule refers to it.
    const named = refName(node);
    const exported = named !== undefined && Array.isArray(spec.components?.schemas?.[named]?.enum);
    parts.push(`enum: ${exported ? enumConstName(named) : `[${schema.enum.map(quote).join(', ')}]`}`);
  }
  return `{ ${parts.join(', ')} }`;
}

/** A nested object (retry_policy): its members' rules inline, violations named `retry_policy.strategy`. */
function renderObjectRule(spec: Node, schema: Node, required: boolean, where: string): string {
  for (const key of Object.keys(schema)) {
    if (!objectKeywords.includes(key)) throw new Error(`${where}: "${key}" is not a rule the validation engine applies`);
  }
  const members: string[] = schema.required ?? [];
  const properties = Object.entries<Node>(schema.properties).map(
    ([name, prop]) => `${name}: ${renderRule(spec, prop, members.includes(name), `${where}.${name}`)}`,
  );
  return `{ type: 'object'${required ? ', required: true' : ''}, properties: { ${properties.join(', ')} } }`;
}

/** A map of plain values (custom headers): each value's rule (violations named `headers.X-Api-Key`). */
function renderMapRule(spec: Node, schema: Node, required: boolean, where: string): string {
  for (const key of Object.keys(schema)) {
    if (!['type', 'additionalProperties', ...documentation].includes(key)) throw new Error(`${where}: "${key}" is not a rule the validation engine applies`);
  }
  return `{ type: 'object'${required ? ', required: true' : ''}, values: ${renderRule(spec, schema.additionalProperties, false, `${where}.*`)} }`;
}

/** A list of plain values (a retry schedule): its size, and each item's rule (violations named `schedule[2]`). */
function renderListRule(spec: Node, schema: Node, required: boolean, where: string): string {
  for (const key of Object.keys(schema)) {
    if (!arrayKeywords.includes(key)) throw new Error(`${where}: "${key}" is not a rule the validation engine applies`);
  }
  const parts = [`type: 'array'`];
  if (required) parts.push('required: true');
  if (schema.minItems !== undefined) parts.push(`minItems: ${schema.minItems}`);
  if (schema.maxItems !== undefined) parts.push(`maxItems: ${schema.maxItems}`);
  if (schema.items) parts.push(`items: ${renderRule(spec, schema.items, false, `${where}[]`)}`);
  return `{ ${parts.join(', ')} }`;
}

function renderGroup(comment: string, name: string, fields: [string, string][]): string[] {
  return [`  /** ${comment} */`, `  ${name}: {`, ...fields.map(([field, rule]) => `    ${field}: ${rule},`), '  },'];
}

export function renderRules(specText: string): string {
  const spec = parseSpec(specText);
  const groups = new Map<string, string[]>();

  for (const { operationId, operation, parameters } of operations(spec)) {
    // The body: a wrapper ({"topic": {...}}) around a named schema whose properties are the fields.
    const wrapper = bodySchema(spec, operation);
    for (const [property, node] of Object.entries<Node>(wrapper?.properties ?? {})) {
      let name = refName(node);
      if (!name) throw new Error(`${operationId}: body property "${property}" must be a $ref to a named schema`);
      if (groups.has(name)) continue;
      let schema = deref(spec, node);
      if (schema.type === 'array') {
        // A batch ({"messages": [{...}, ...]}): a group for the list itself (its size), then one for
        // its items' fields, which the service applies to each item (violations named messages[3].data).
        for (const key of Object.keys(schema)) {
          if (!arrayKeywords.includes(key)) throw new Error(`schema ${name}: "${key}" is not a rule the validation engine applies`);
        }
        const parts = [`type: 'array'`, 'required: true'];
        if (schema.minItems !== undefined) parts.push(`minItems: ${schema.minItems}`);
        if (schema.maxItems !== undefined) parts.push(`maxItems: ${schema.maxItems}`);
        groups.set(name, renderGroup(`components.schemas.${name}`, name, [[property, `{ ${parts.join(', ')} }`]]));
        const items = refName(schema.items);
        if (!items) throw new Error(`schema ${name}: items must be a $ref to a named schema`);
        if (groups.has(items)) continue;
        name = items;
        schema = deref(spec, schema.items);
      }
      for (const key of Object.keys(schema)) {
        if (!objectKeywords.includes(key)) throw new Error(`schema ${name}: "${key}" is not a rule the validation engine applies`);
      }
      const required: string[] = schema.required ?? [];
      const fields = Object.entries<Node>(schema.properties ?? {}).map(([field, prop]): [string, string] => [
        field,
        renderRule(spec, prop, required.includes(field), `schema ${name}, property ${field}`),
      ]);
      groups.set(name, renderGroup(`components.schemas.${name}`, name, fields));
    }

    // Header parameters (Idempotency-Key): a group per named schema, the field named as the header.
    for (const parameter of parameters.filter((p) => p.in === 'header')) {
      const name = refName(parameter.schema);
      if (!name) throw new Error(`${operationId}: header parameter "${parameter.name}" must be a $ref to a named schema`);
      const rule = renderRule(spec, parameter.schema, parameter.required === true, `header parameter ${parameter.name}`);
      groups.set(name, renderGroup(`The header ${parameter.name} (components.schemas.${name})`, name, [[quote(parameter.name), rule]]));
    }

    for (const parameter of parameters.filter((p) => p.in === 'path')) {
      const name = refName(parameter.schema);
      if (!name) throw new Error(`${operationId}: path parameter "${parameter.name}" must be a $ref to a named schema`);
      const rule = renderRule(spec, parameter.schema, parameter.required === true, `path parameter ${parameter.name}`);
      const group = renderGroup(`The path parameter ${parameter.name} (components.schemas.${name})`, name, [[parameter.name, rule]]);
      if (groups.has(name) && groups.get(name)!.join() !== group.join()) throw new Error(`${operationId}: path parameters of schema ${name} differ`);
      groups.set(name, group);
    }

    const query = parameters.filter((p) => p.in === 'query');
    if (query.length > 0) {
      const fields = query.map((p): [string, string] => [p.name, renderRule(spec, p.schema, p.required === true, `${operationId} query parameter ${p.name}`)]);
      groups.set(operationId, renderGroup(`The query parameters of ${operationId}`, operationId, fields));
    }
  }

  const enums = Object.entries<Node>(spec.components?.schemas ?? {})
    .filter(([, schema]) => Array.isArray(schema.enum))
    .flatMap(([name, schema]) => [`/** The values of components.schemas.${name}. */`, `export const ${enumConstName(name)} = [${schema.enum.map(quote).join(', ')}] as const;`, '']);

  return [
    '/** What the rules engine (src/services/validation.ts) applies to one request field. */',
    'export interface FieldRule {',
    "  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';",
    '  readonly required?: boolean;',
    '  readonly minLength?: number;',
    '  readonly maxLength?: number;',
    '  readonly pattern?: RegExp;',
    '  readonly patternMessage?: string;',
    '  readonly format?: string;',
    '  readonly formatMessage?: string;',
    '  readonly minimum?: number;',
    '  readonly maximum?: number;',
    '  readonly enum?: readonly string[];',
    '  readonly minItems?: number;',
    '  readonly maxItems?: number;',
    '  /** A nested object\'s members. */',
    '  readonly properties?: Readonly<Record<string, FieldRule>>;',
    '  /** Each item of a list of plain values. */',
    '  readonly items?: FieldRule;',
    '  /** Each value of a map of plain values. */',
    '  readonly values?: FieldRule;',
    '}',
    '',
    '/** The rules of one request\'s fields, by field name, in the contract\'s order. */',
    'export type FieldRules = Readonly<Record<string, FieldRule>>;',
    '',
    ...enums,
    'export const rules = {',
    ...[...groups.values()].flat(),
    '} as const satisfies Readonly<Record<string, FieldRules>>;',
    '',
  ].join('\n');
}
