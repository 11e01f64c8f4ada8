// Renders src/generated/routes.ts: one entry per OpenAPI operation (method, path, Express path),
// keyed by operationId, so the REST router can require a handler for every operation.
import { parse } from 'yaml';

const methods = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Spec {
  paths: Record<string, Partial<Record<(typeof methods)[number], { operationId?: string }>>>;
}

export function renderRoutes(specText: string): string {
  const spec = parse(specText) as Spec;
  const lines: string[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of methods) {
      const operation = item[method];
      if (!operation) continue;
      if (!operation.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const expressPath = path.replace(/\{([^}]+)\}/g, ':$1');
      lines.push(
        `  ${operation.operationId}: { method: '${method}', path: '${path}', expressPath: '${expressPath}' },`,
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
