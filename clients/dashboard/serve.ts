// Serves the dashboard's files under the path it is mounted at (/ui): built once, when the first
// request comes (a server nobody opens the dashboard of never pays for it), kept in memory, answered with a strict Content-Security-Policy. The files are
// public; the API calls the dashboard makes carry the user's key.
import type { NextFunction, Request, Response } from 'express';
import { buildDashboard, type DashboardFile } from './build.ts';

export interface DashboardHandlerOptions {
  /** Told once when the build fails (the dashboard then answers 500 with the reason). */
  onBuildError?: (error: unknown) => void;
}

const securityHeaders = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function dashboardHandler(options: DashboardHandlerOptions = {}) {
  let built: Promise<Map<string, DashboardFile> | Error> | undefined;
  const files = () =>
    (built ??= buildDashboard().catch((error: unknown) => {
      options.onBuildError?.(error);
      return error instanceof Error ? error : new Error(String(error));
    }));
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // /ui (no slash) would resolve app.js against /, so it moves to /ui/.
    if (req.path === '/' && !req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, `${req.baseUrl}/`);
    const served = await files();
    if (served instanceof Error) return res.status(500).type('text/plain').send(`the dashboard could not be built: ${served.message}`);
    const name = req.path === '/' ? 'index.html' : req.path.slice(1);
    const file = served.get(name);
    if (!file) return res.status(404).type('text/plain').send('not found');
    res.set(securityHeaders);
    res.set('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=300');
    res.type(file.contentType).send(file.body);
  };
}
