// Bundles the dashboard (src/main.tsx, Preact, and the @hammer/client sources it calls the API with)
// into app.js and app.css with esbuild, in memory. hammer runs this once, at the first request for /ui
// (well under a second), so `npm start` and the Docker image serve the dashboard from its sources with no
// build step and nothing generated in git. `node clients/dashboard/build.ts OUTDIR` writes the files.
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

export interface DashboardFile {
  contentType: string;
  body: Buffer;
}

const root = import.meta.dirname;
const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

/** The dashboard's files by name (index.html, app.js, app.css). */
export async function buildDashboard(): Promise<Map<string, DashboardFile>> {
  const result = await build({
    entryPoints: { app: join(root, 'src/main.tsx') },
    bundle: true,
    write: false,
    minify: true,
    sourcemap: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(root, 'out'),
    logLevel: 'silent',
    legalComments: 'none',
  });
  const files = new Map<string, DashboardFile>();
  for (const output of result.outputFiles) {
    const name = output.path.slice(output.path.lastIndexOf('/') + 1);
    files.set(name, { contentType: contentTypes[name.slice(name.lastIndexOf('.'))]!, body: Buffer.from(output.contents) });
  }
  files.set('index.html', { contentType: contentTypes['.html']!, body: await readFile(join(root, 'index.html')) });
  return files;
}

if (import.meta.main) {
  const out = process.argv[2] ?? join(root, 'out');
  await mkdir(out, { recursive: true });
  for (const [name, file] of await buildDashboard()) await writeFile(join(out, name), file.body);
  console.log(`dashboard written to ${out}`);
}
