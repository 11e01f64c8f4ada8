#!/usr/bin/env node
// Entry point of the `hammer` command: checks for Node 24 (which runs the TypeScript sources
// directly), then hands over to src/cli.ts.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`hammer needs Node.js 24 or newer, this is ${process.version}. Run it through npm (npx hammer, npm start), which uses the Node 24 from the project's devDependencies, or install Node 24.`);
  process.exit(1);
}
await import('../src/cli.ts');
