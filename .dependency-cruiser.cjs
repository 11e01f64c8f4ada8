// The import rules of docs/architecture.md, checked by `npm run lint` (dependency-cruiser): a new
// import that points up a layer, or across two transports, fails CI naming the rule and the files.
//
// Layers, top to bottom (an import may only point down):
//   entry points   src/cli.ts, src/runtime.ts, src/delivery/graphile-tasks/ (they wire everything)
//   configuration  src/config.ts
//   transports     src/rest/, src/grpc/
//   use cases      src/services/ (the API's), src/delivery/ (the engine's)
//   store          src/store/
//   database       src/db/
//   observability  src/observability/
//   leaves         src/errors.ts, src/ids.ts, src/call-signal.ts, src/version.ts, src/destinations.ts, src/signing-keys.ts, src/batcher.ts, src/generated/
const entryPoints = '^src/(cli\\.ts|runtime\\.ts|delivery/graphile-tasks/)';
const transports = '^src/(rest|grpc)/';
const leaves = '^src/(errors\\.ts|ids\\.ts|call-signal\\.ts|version\\.ts|destinations\\.ts|signing-keys\\.ts|batcher\\.ts|generated/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other cannot be understood (or tested) one at a time.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'entry-points-are-not-imported',
      severity: 'error',
      comment: 'cli.ts, runtime.ts and the graphile-worker task files wire the layers; nothing below may depend on them (the task files share one builder).',
      from: { path: '^src/', pathNot: '^src/(cli\\.ts$|delivery/graphile-tasks/)' },
      to: { path: entryPoints },
    },
    {
      name: 'configuration-is-read-by-entry-points',
      severity: 'error',
      comment: 'Only the entry points read HAMMER_* settings; every layer below is given the values it needs.',
      from: { path: '^src/', pathNot: `${entryPoints}|^src/config\\.ts$` },
      to: { path: '^src/config\\.ts$' },
    },
    {
      name: 'rest-and-grpc-know-nothing-of-each-other',
      severity: 'error',
      comment: 'The two transports are peers over the same services.',
      from: { path: '^src/rest/' },
      to: { path: '^src/grpc/' },
    },
    {
      name: 'grpc-and-rest-know-nothing-of-each-other',
      severity: 'error',
      comment: 'The two transports are peers over the same services.',
      from: { path: '^src/grpc/' },
      to: { path: '^src/rest/' },
    },
    {
      name: 'transports-reach-the-database-through-services',
      severity: 'error',
      comment: 'REST and gRPC call services; queries, pools and the engine are below them.',
      from: { path: transports },
      to: { path: '^src/(store|db|delivery)/' },
    },
    {
      name: 'services-know-no-transport',
      severity: 'error',
      comment: 'One implementation of each use case serves REST and gRPC alike.',
      from: { path: '^src/services/' },
      to: { path: `${transports}|^src/delivery/` },
    },
    {
      name: 'the-engine-knows-no-transport-and-no-api-use-case',
      severity: 'error',
      comment: 'The delivery engine runs in worker processes that load neither the API stack nor its use cases.',
      from: { path: '^src/delivery/', pathNot: entryPoints },
      to: { path: `${transports}|^src/services/` },
    },
    {
      name: 'the-store-knows-no-use-case',
      severity: 'error',
      comment: 'Queries serve the use cases; they never call up into them.',
      from: { path: '^src/store/' },
      to: { path: `${transports}|^src/(services|delivery)/` },
    },
    {
      name: 'the-database-layer-knows-no-query-or-use-case',
      severity: 'error',
      comment: 'db/ holds the pool, migrations and the embedded PostgreSQL: infrastructure only.',
      from: { path: '^src/db/' },
      to: { path: `${transports}|^src/(services|delivery|store)/` },
    },
    {
      name: 'observability-is-a-bottom-layer',
      severity: 'error',
      comment: 'Logs, metrics and health take what they report as values or callbacks; they import no layer above.',
      from: { path: '^src/observability/' },
      to: { path: '^src/', pathNot: `^src/observability/|${leaves}` },
    },
    {
      name: 'leaves-import-no-layer',
      severity: 'error',
      comment: 'errors.ts, ids.ts, call-signal.ts, version.ts, destinations.ts and generated code are used by every layer, so they may use none.',
      from: { path: leaves },
      to: { path: '^src/', pathNot: leaves },
    },
    {
      name: 'the-sdk-is-independent-of-the-server',
      severity: 'error',
      comment: '@hammer/client is published on its own; it may only use its own sources and its dependencies.',
      from: { path: '^clients/' },
      to: { path: '^(src|test|codegen|bench)/' },
    },
    {
      name: 'the-dashboard-talks-to-hammer-only-through-the-sdk',
      severity: 'error',
      comment: "clients/dashboard/src runs in the browser: it calls hammer's REST API with @hammer/client (its sources) and renders with Preact; nothing else, and never the server's code.",
      from: { path: '^clients/dashboard/src/' },
      to: { pathNot: '^clients/(dashboard/src|typescript/src)/|(^|/)node_modules/preact/' },
    },
    {
      name: 'the-sdk-knows-no-dashboard',
      severity: 'error',
      comment: '@hammer/client is published on its own; the dashboard uses it, not the other way round.',
      from: { path: '^clients/typescript/' },
      to: { path: '^clients/dashboard/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
