#!/usr/bin/env -S node --max-semi-space-size=16
// Entry point of the `hammer` command: checks for Node 24 (which runs the TypeScript sources
// directly), then hands over to src/cli.ts.
// --max-semi-space-size=16: V8 sizes the young generation from the machine's memory (128 MiB on a
// 24 GiB machine), which was most of a worker's memory; 16 MiB semi-spaces cut a draining worker's
// peak RSS from about 285 to about 190-230 MiB at the same throughput (npm run bench). The Dockerfile and
// `npm start` pass the same option (a test keeps them equal); `node <options> bin/hammer.js` overrides it.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`hammer needs Node.js 24 or newer, this is ${process.version}. Run it through npm (npx hammer, npm start), which uses the Node 24 from the project's devDependencies, or install Node 24.`);
  process.exit(1);
}
await import('../src/cli.ts');
