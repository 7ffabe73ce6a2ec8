// Import rules checked by `npm run lint` (dependency-cruiser): imports flow one way,
// config -> db -> domains -> web and jobs, and nothing imports in a circle. Type-only imports
// are erased at run time and left out (tsPreCompilationDeps: false).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files that import each other in a circle: move the shared part down a layer or register a handler at composition (src/composition.ts).',
      from: { path: '^(src|jobs|db|config|sandboxes)/' },
      to: { circular: true },
    },
    {
      name: 'config-is-the-bottom',
      severity: 'error',
      comment: 'config/ reads the environment and imports none of our layers.',
      from: { path: '^config/' },
      to: { path: '^(db|src|jobs)/' },
    },
    {
      name: 'db-below-domains',
      severity: 'error',
      comment: 'db/ (schema, client, migrations) knows nothing of the domains above it.',
      from: { path: '^db/' },
      to: { path: '^(src|jobs)/' },
    },
    {
      name: 'domains-below-web-and-jobs',
      severity: 'error',
      comment: 'Domain modules never import the web layer or the job processors.',
      from: { path: '^src/', pathNot: '^src/(web/|server\\.ts|runtime\\.ts|cli\\.ts|composition\\.ts)' },
      to: { path: '^(src/web/|jobs/)' },
    },
    {
      name: 'sandboxes-outside-the-product',
      severity: 'error',
      comment: 'The gateway sandboxes are test doubles: only the web app mounts them (outside production); nothing else of the product imports them.',
      from: { path: '^(src|jobs|db|config)/', pathNot: '^src/web/app\\.ts$' },
      to: { path: '^sandboxes/' },
    },
    {
      name: 'sandboxes-use-the-gateways-not-the-web',
      severity: 'error',
      comment: 'A sandbox speaks a gateway protocol; it may reuse the gateway code (hashes, signatures) but never the web layer or jobs.',
      from: { path: '^sandboxes/' },
      to: { path: '^(src/web/|jobs/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|data|tmp)/' },
  },
};
