#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=50
// Entry point of the `hammer` command: checks for Node 24 (which runs the TypeScript sources
// directly), then hands over to src/cli.ts.
// --max-semi-space-size=8: V8 sizes the young generation from the machine's memory (128 MiB on a
// 24 GiB machine), which was most of a worker's memory; 16 MiB semi-spaces cut a draining worker's
// peak RSS from about 285 to about 190-230 MiB, and 8 another 12-15 MiB (an idle server 140 -> 125 MiB),
// at the same throughput (npm run bench; 4 cost a worker about 7% of its drain).
// --heap-growing-percent=50: after each full collection V8 lets the old generation grow up to 4x what
// survived before the next one; a draining worker keeps about 45 MiB alive but grew to 180 MiB of heap.
// Growing by half at most cut its peak RSS from 269-282 to 187-213 MiB at the same throughput.
// The Dockerfile and `npm start` pass the same options (a test keeps them equal); `node <options>
// bin/hammer.js` overrides them.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`hammer needs Node.js 24 or newer, this is ${process.version}. Run it through npm (npx hammer, npm start), which uses the Node 24 from the project's devDependencies, or install Node 24.`);
  process.exit(1);
}
// Node's compile cache (in os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1
// turns it off): after the first run, each source is read back already stripped of its types and
// compiled, so the type stripper (a WebAssembly module of about 17 MiB) is never loaded and each
// start skips most of its parsing: 0.2-0.4 s of CPU and about 21 MiB less per process (README
// "Performance", run 8). A folder that cannot be written only means no cache.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/cli.ts');
