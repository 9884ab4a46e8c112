/**
 * The layer rules of docs/architecture.md, checked in CI (npm run lint).
 * Layers, bottom up: util/errors/version; the data modules (rpm, python,
 * config, repo, lockfile, image, net); the engine (buildroot); the commands
 * (the library API); the CLI. A module imports only its own layer or lower.
 */
const data = '^src/(rpm|python|config|repo|lockfile|image|net|store|signing)/';
module.exports = {
  forbidden: [
    {
      name: 'no-upward-from-util',
      comment: 'src/util holds leaf helpers: it imports nothing of isomock but errors.',
      severity: 'error',
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: ['^src/util/', '^src/errors\\.ts$'] },
    },
    {
      name: 'data-below-engine',
      comment: 'Parsing and data modules never reach up into the engine, the commands or the CLI.',
      severity: 'error',
      from: { path: data },
      to: { path: '^src/(buildroot|commands|cli)/|^src/index\\.ts$' },
    },
    {
      name: 'python-is-a-leaf',
      comment: "src/python holds Python's semantics for configs and lockfiles: it builds on nothing but errors.",
      severity: 'error',
      from: { path: '^src/python/' },
      to: { path: '^src/', pathNot: ['^src/python/', '^src/errors\\.ts$'] },
    },
    {
      name: 'rpm-is-a-leaf',
      comment: 'rpm/ reads RPM files and versions; lockfiles, repositories and configs build on it, not the reverse.',
      severity: 'error',
      from: { path: '^src/rpm/' },
      to: { path: '^src/(lockfile|repo|config|image)/' },
    },
    {
      name: 'image-knows-no-lockfile',
      comment: 'Images are their own domain; the lockfile layer uses them.',
      severity: 'error',
      from: { path: '^src/image/' },
      to: { path: '^src/(lockfile|repo|config)/' },
    },
    {
      name: 'config-knows-no-cli',
      comment: 'The config layer takes plain options; the CLI maps its arguments onto them.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/(cli|lockfile|image|repo)/' },
    },
    {
      name: 'engine-below-commands',
      severity: 'error',
      from: { path: '^src/buildroot/' },
      to: { path: '^src/(commands|cli)/|^src/index\\.ts$' },
    },
    {
      name: 'commands-below-cli',
      comment: 'The library API renders nothing and parses no argv: that is the CLI.',
      severity: 'error',
      from: { path: '^src/commands/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'data-spawns-nothing',
      comment: 'Parsing and data modules do no process work (docs/architecture.md).',
      severity: 'error',
      from: { path: '^src/(rpm|python|config|lockfile)/' },
      to: { path: '^(node:)?child_process$' },
    },
    {
      name: 'product-ships-alone',
      comment: 'src/ is what npm installs: it never imports the test world, tests or benches.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(world|test|bench)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
