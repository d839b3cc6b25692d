/**
 * The layer rules, checked by `npm run lint` (README: "Working on keyd").
 *
 *   apps/*            composition only
 *   libs/cli          the operator CLI: a gRPC client of keyd's own API, beside libs/api
 *   libs/api          the transports: gRPC and HTTP controllers, guards, OpenAPI
 *   fleet             nodes and the agent link: the control plane's side and the agent's
 *   keys, reconcile, usage, subscription     the domain libs
 *   store, xray       the database and the core's client
 *   domain, config, observability           the base
 */
const NAME = '[a-z0-9]+(-[a-z0-9]+)*';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'The layers point one way: no module depends on itself through others.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'libs-not-apps',
      severity: 'error',
      comment: 'libs never import apps: apps compose libs, never the other way round.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'base-imports-no-lib',
      severity: 'error',
      comment: 'domain and config are the base: they import no other lib.',
      from: { path: '^libs/(domain|config)/' },
      to: { path: '^libs/', pathNot: '^libs/$1/' },
    },
    {
      name: 'observability-imports-base-only',
      severity: 'error',
      comment: 'observability sits beside domain and config: it imports only those.',
      from: { path: '^libs/observability/' },
      to: { path: '^libs/', pathNot: '^libs/(observability|domain|config)/' },
    },
    {
      name: 'store-xray-below-domain-libs',
      severity: 'error',
      comment:
        'store and xray sit below keys, reconcile, usage, subscription and api, and beside each other: neither imports any of them.',
      from: { path: '^libs/(store|xray)/' },
      to: { path: '^libs/(store|xray|keys|reconcile|usage|subscription|api|fleet)/', pathNot: '^libs/$1/' },
    },
    {
      name: 'fleet-below-api',
      severity: 'error',
      comment:
        'libs/fleet sits above keys and reconcile, whose machinery the agent reuses, and below the transports: it never imports api, and keys, reconcile, usage, subscription and sessions never import it.',
      from: { path: '^libs/fleet/' },
      to: { path: '^libs/(api|cli|usage|subscription|sessions)/' },
    },
    {
      name: 'domain-libs-not-fleet',
      severity: 'error',
      comment: 'The domain libs know nothing of the fleet; only api (and apps) compose it.',
      from: { path: '^libs/(keys|reconcile|usage|subscription|sessions|store|xray|domain|config|observability)/' },
      to: { path: '^libs/fleet/' },
    },
    {
      name: 'domain-libs-below-api',
      severity: 'error',
      comment: 'keys, reconcile, usage and subscription never import the transport layer.',
      from: { path: '^libs/(keys|reconcile|usage|subscription)/' },
      to: { path: '^libs/api/' },
    },
    {
      name: 'libs-through-their-index',
      severity: 'error',
      comment:
        'A lib is imported by others only as @keyd/<lib> (its src/index.ts), or a testing entry (@keyd/xray/testing, @keyd/store/testing, @keyd/subscription/testing); never by a path into its files.',
      from: { path: '^libs/([^/]+)/' },
      to: {
        path: '^libs/',
        pathNot: [
          '^libs/$1/',
          '^libs/[^/]+/src/index\\.ts$',
          '^libs/xray/src/testing/fake-core\\.server\\.ts$',
          '^libs/store/src/testing/key\\.fixture\\.ts$',
          '^libs/subscription/src/testing/client-schemas\\.validator\\.ts$',
        ],
      },
    },
    {
      name: 'libs-through-their-index-outside',
      severity: 'error',
      comment:
        'apps, test and bench also import a lib only as @keyd/<lib>, or a testing entry (@keyd/xray/testing, @keyd/store/testing, @keyd/subscription/testing).',
      from: { path: '^(apps|test|bench)/' },
      to: {
        path: '^libs/',
        pathNot: [
          '^libs/[^/]+/src/index\\.ts$',
          '^libs/xray/src/testing/fake-core\\.server\\.ts$',
          '^libs/store/src/testing/key\\.fixture\\.ts$',
          '^libs/subscription/src/testing/client-schemas\\.validator\\.ts$',
        ],
      },
    },
    {
      name: 'same-lib-relative',
      severity: 'error',
      comment: 'Inside a lib, its own files are imported relatively, not through its own @keyd/<lib> index.',
      from: { path: '^libs/([^/]+)/src/(?!index\\.ts$)' },
      to: { path: '^libs/$1/src/index\\.ts$' },
    },
    {
      name: 'cli-is-a-client',
      comment:
        "The CLI talks to the daemon only through its gRPC API: of keyd's libs it imports config (the variables, the proto folder) alone.",
      severity: 'error',
      from: { path: '^libs/cli/' },
      to: { path: '^libs/', pathNot: '^libs/(cli|config)/' },
    },
    {
      name: 'only-apps-import-cli',
      severity: 'error',
      comment: 'The CLI is composed by apps/keyd; no lib depends on it.',
      from: { path: '^libs/', pathNot: '^libs/cli/' },
      to: { path: '^libs/cli/' },
    },
    {
      name: 'typeorm-inside-store',
      severity: 'error',
      comment: 'TypeORM and the SQLite driver are imported only inside libs/store; everything else sees records.',
      from: { pathNot: '^libs/store/' },
      to: { path: '(^|/)node_modules/(typeorm|sqlite3)/' },
    },
    {
      name: 'api-framework-only-in-api',
      severity: 'error',
      comment:
        'Only libs/api (and apps, which compose it) knows the API framework: Nest microservices, express and its Nest platform, swagger, Nest core.',
      from: { path: '^libs/', pathNot: '^libs/api/' },
      to: { path: '(^|/)node_modules/(@nestjs/(microservices|platform-express|swagger|core)|express)/' },
    },
    {
      name: 'grpc-only-in-api-and-xray',
      severity: 'error',
      comment:
        "gRPC and protobuf are known to libs/api (keyd's own server, through Nest), libs/cli (a client of that API), libs/xray (the client of the core, and its in-process fake core for tests) and libs/fleet (the agent link: its own server on the control plane, its client on the agent) only.",
      from: { path: '^libs/', pathNot: '^libs/(api|cli|xray|fleet)/' },
      to: { path: '(^|/)node_modules/(@grpc/[^/]+|protobufjs)/' },
    },
    {
      name: 'sockets-only-in-transports',
      severity: 'error',
      comment:
        'Listening sockets live in libs/api, and in the public subscription listener (libs/subscription/src/*.server.ts), a bare node:http server so that nothing but /sub/{token} is ever served on that address. The demo finds free loopback ports by binding port 0 for a moment (libs/cli/src/demo/ports.finder.ts); it serves nothing. An agent reads its control plane\'s CA from one TLS handshake before it trusts it (libs/fleet/src/agent.credentials.ts); it listens on nothing and sends nothing on that connection.',
      from: {
        path: '^libs/',
        pathNot: [
          '^libs/api/',
          '^libs/subscription/src/[^/]+\\.server\\.ts$',
          '^libs/cli/src/demo/ports\\.finder\\.ts$',
          '^libs/fleet/src/agent\\.credentials\\.ts$',
        ],
      },
      to: { dependencyTypes: ['core'], path: '^(node:)?(http|https|http2|net|tls|dgram)$' },
    },
  ],
  required: [
    {
      // A "required" rule, so that it reaches every module, imports or not: a badly named file
      // is asked to depend on something nothing is, and so always fails.
      name: 'file-names',
      severity: 'error',
      comment: 'Files under apps/ and libs/ are named <name>.<role>.ts (index.ts and main.ts aside).',
      module: {
        path: '^(apps|libs)/.+\\.ts$',
        pathNot: ['/(index|main)\\.ts$', `/(\\d+-)?${NAME}(\\.${NAME}){1,2}(\\.(spec|e2e-spec))?\\.ts$`],
      },
      to: { path: '^$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|bench/scratch)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.check.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
