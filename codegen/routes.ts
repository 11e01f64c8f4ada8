// Renders src/generated/routes.ts: one entry per OpenAPI operation (method, path, Express path, and
// the API key scope it needs, from x-hammer-scope), keyed by operationId, so the REST router can
// require a handler for every operation and both transports authorize from one table.
import { parse } from 'yaml';

const methods = ['get', 'put', 'post', 'delete', 'patch'] as const;
const scopes = ['read', 'publish', 'admin'];

interface Spec {
  paths: Record<string, Partial<Record<(typeof methods)[number], { operationId?: string; 'x-hammer-scope'?: string }>>>;
}

export function renderRoutes(specText: string): string {
  const spec = parse(specText) as Spec;
  const lines: string[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of methods) {
      const operation = item[method];
      if (!operation) continue;
      if (!operation.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const scope = operation['x-hammer-scope'];
      if (!scope || !scopes.includes(scope)) throw new Error(`${operation.operationId} needs x-hammer-scope: one of ${scopes.join(', ')}`);
      const expressPath = path.replace(/\{([^}]+)\}/g, ':$1');
      lines.push(
        `  ${operation.operationId}: { method: '${method}', path: '${path}', expressPath: '${expressPath}', scope: '${scope}' },`,
      );
    }
  }
  return [
    "import type { operations } from './openapi.ts';",
    '',
    'export interface Route {',
    "  method: 'get' | 'put' | 'post' | 'delete' | 'patch';",
    '  path: string;',
    '  expressPath: string;',
    "  /** The API key scope a call needs (x-hammer-scope). */",
    "  scope: 'read' | 'publish' | 'admin';",
    '}',
    '',
    'export const routes = {',
    ...lines,
    '} as const satisfies Record<keyof operations, Route>;',
    '',
    'export type OperationId = keyof typeof routes;',
    '',
  ].join('\n');
}
