// Compares the two contracts: every RPC of hammer.proto has exactly one REST operation in
// openapi.yaml, and the fields of each proto message match the properties of its schema.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..');

export interface ProtoField {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName?: string;
}
export interface ProtoMessage {
  name: string;
  field?: ProtoField[];
}
export interface ProtoMethod {
  name: string;
  inputType: string;
  outputType: string;
}
export interface ProtoFile {
  name: string;
  package?: string;
  messageType?: ProtoMessage[];
  service?: { name: string; method: ProtoMethod[] }[];
}

type Schema = Record<string, any>;
export type OpenApi = Schema;

/** hammer.proto as a FileDescriptorProto, compiled by buf (no network needed). */
export function loadProto(): ProtoFile {
  const image = JSON.parse(
    execFileSync(join(root, 'node_modules/.bin/buf'), ['build', '-o', '-#format=json'], { cwd: root, encoding: 'utf8' }),
  ) as { file: ProtoFile[] };
  const file = image.file.find((f) => f.name === 'hammer/v1/hammer.proto');
  if (!file) throw new Error('hammer/v1/hammer.proto is missing from the buf image');
  return file;
}

export function loadOpenApi(): OpenApi {
  return parse(readFileSync(join(root, 'openapi.yaml'), 'utf8')) as OpenApi;
}

const lowerFirst = (s: string) => s[0]!.toLowerCase() + s.slice(1);

export function compareContracts(proto: ProtoFile, spec: OpenApi): string[] {
  const problems: string[] = [];
  const messages = new Map((proto.messageType ?? []).map((m) => [m.name, m]));
  const deref = (schema: Schema): Schema => {
    let s = schema;
    while (s?.$ref) s = s.$ref.split('/').slice(1).reduce((node: Schema, key: string) => node?.[key], spec);
    return s;
  };
  const refName = (schema: Schema): string | undefined => schema?.$ref?.split('/').at(-1);

  const operations = new Map<string, { method: string; path: string; op: Schema; pathParams: Schema[] }>();
  for (const [path, item] of Object.entries<Schema>(spec.paths ?? {})) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      if (item[method]) operations.set(item[method].operationId, { method, path, op: item[method], pathParams: item.parameters ?? [] });
    }
  }

  // Does a schema carry a proto field's type? `exact` also requires the same message name on references.
  const sameType = (field: ProtoField, schema: Schema, exact: boolean): boolean => {
    const s = deref(schema);
    // A proto map is a repeated *Entry message; JSON Schema's is an object with additionalProperties.
    if (field.label === 'LABEL_REPEATED' && field.type === 'TYPE_MESSAGE' && field.typeName!.endsWith('Entry')) {
      return s?.type === 'object' && s.additionalProperties !== undefined && !s.properties;
    }
    if (field.label === 'LABEL_REPEATED') {
      return s?.type === 'array' && sameType({ ...field, label: 'LABEL_OPTIONAL' }, s.items, exact);
    }
    switch (field.type) {
      case 'TYPE_STRING':
        return s?.type === 'string' && s.format !== 'date-time';
      case 'TYPE_UINT32':
        return s?.type === 'integer';
      case 'TYPE_BOOL':
        return s?.type === 'boolean';
      case 'TYPE_DOUBLE':
        return s?.type === 'number';
      case 'TYPE_MESSAGE':
        if (field.typeName === '.google.protobuf.Timestamp') return s?.type === 'string' && s.format === 'date-time';
        return !exact || refName(schema) === field.typeName!.split('.').at(-1);
      default:
        return false;
    }
  };

  // A schema and a message must have the same properties with the same types.
  const compareMessage = (message: ProtoMessage, schema: Schema, where: string, exact: boolean) => {
    const props: Schema = deref(schema)?.properties ?? {};
    const fields = new Map((message.field ?? []).map((f) => [f.name, f]));
    for (const name of Object.keys(props)) {
      const field = fields.get(name);
      if (!field) problems.push(`${where}: property "${name}" is not a field of proto ${message.name}`);
      else if (!sameType(field, props[name], exact)) problems.push(`${where}: property "${name}" has another type than proto ${message.name}.${name}`);
    }
    if (exact) {
      for (const name of fields.keys()) {
        if (!(name in props)) problems.push(`${where}: proto field ${message.name}.${name} has no property`);
      }
    }
  };

  const methods = proto.service?.[0]?.method ?? [];
  const seen = new Set<string>();
  for (const method of methods) {
    const operationId = lowerFirst(method.name);
    seen.add(operationId);
    const operation = operations.get(operationId);
    if (!operation) {
      problems.push(`rpc ${method.name} has no REST operation "${operationId}"`);
      continue;
    }
    const where = `${operation.method.toUpperCase()} ${operation.path} (${operationId})`;

    // The response: a resource or list schema with the same name as the proto message, or Empty.
    const outputName = method.outputType.split('.').at(-1)!;
    const response = operation.op.responses?.['200'];
    const responseSchema = deref(response)?.content?.['application/json']?.schema;
    if (outputName === 'Empty') {
      if (refName(responseSchema) !== 'Empty') problems.push(`${where}: the response must be Empty like rpc ${method.name}`);
    } else if (refName(responseSchema) !== outputName) {
      problems.push(`${where}: the response schema must be ${outputName} like rpc ${method.name}`);
    } else {
      compareMessage(messages.get(outputName)!, responseSchema, `schema ${outputName}`, true);
    }

    // The request: path and query parameters plus the wrapped body carry the request message's fields.
    const request = messages.get(method.inputType.split('.').at(-1)!)!;
    const inputs = new Map<string, Schema>();
    // Header parameters (Idempotency-Key) travel as gRPC metadata, not as request fields.
    for (const param of [...operation.pathParams, ...(operation.op.parameters ?? [])].map(deref)) if (param.in !== 'header') inputs.set(param.name, param.schema);
    const body = deref(operation.op.requestBody)?.content?.['application/json']?.schema;
    for (const [name, schema] of Object.entries<Schema>(deref(body)?.properties ?? {})) inputs.set(name, schema);
    for (const field of request.field ?? []) {
      const input = inputs.get(field.name);
      inputs.delete(field.name);
      if (!input) {
        problems.push(`${where}: proto ${request.name}.${field.name} has no parameter or body property`);
      } else if (field.type === 'TYPE_MESSAGE') {
        // A wrapped body: its properties must be fields of the wrapped message (a subset: server-set fields are left out).
        compareMessage(messages.get(field.typeName!.split('.').at(-1)!)!, input, `${where} body "${field.name}"`, false);
      } else if (!sameType(field, input, true)) {
        problems.push(`${where}: parameter "${field.name}" has another type than proto ${request.name}.${field.name}`);
      }
    }
    // The path id of an update selects the wrapped resource (hammer's /v1/topics/{topic.id}).
    const wrapper = (request.field ?? []).find((f) => f.type === 'TYPE_MESSAGE');
    if (wrapper && inputs.has('id')) inputs.delete('id');
    for (const name of inputs.keys()) problems.push(`${where}: input "${name}" is not a field of proto ${request.name}`);
  }
  for (const operationId of operations.keys()) {
    if (!seen.has(operationId)) problems.push(`REST operation ${operationId} has no rpc in hammer.proto`);
  }
  return problems;
}
