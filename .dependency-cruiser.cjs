// The dependency rule of the packages' sources, checked by `npm run lint:deps` (and in CI).
// docs/architecture.md draws the layers; keep the two in step.
//
// Packages: the cli assembles the application and may import everything; a plugin imports only
// @kava/core; @kava/experiments imports only @kava/core (it starts `kava` as a child, it does not
// import it); @kava/core imports no plugin, not @kava/experiments and not the cli.
// Inside @kava/core, each layer imports only itself and the layers below it:
//   foundation < contracts < parts < assembly < pipelines < entry points
const CORE = '^packages/kava-core/src/';
const LAYER = {
  // The two files at the root, errors.ts and tf.ts, are the foundation every folder builds on.
  foundation: `${CORE}((errors|tf)\\.ts$|(io|ops|runtime|util|hub)/)`,
  contracts: `${CORE}(contracts|config|plugin)/`,
  parts: `${CORE}(tokenizer|model|data|compression|losses|latent|eval|presets|testing)/`,
  assembly: `${CORE}assembly/`,
  pipelines: `${CORE}(train|runs)/`,
  entry: `${CORE}(index|app|internal)\\.ts$`,
};
const above = (...names) => names.map((n) => LAYER[n]);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle makes the load order matter and the parts impossible to read one at a time.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-names-no-plugin',
      comment: '@kava/core loads the plugins the application hands it; it imports no plugin package and not the cli.',
      severity: 'error',
      from: { path: CORE },
      to: { path: ['^packages/(cli|experiments|plugin-[^/]+)/', '^(node_modules/)?@kava/(cli|experiments|plugin-)'] },
    },
    {
      name: 'experiments-import-only-core',
      comment: 'The grid harness builds on the application API of @kava/core; it runs the cli as a child process.',
      severity: 'error',
      from: { path: '^packages/experiments/src/' },
      to: { path: ['^packages/(cli|plugin-[^/]+)/', '^(node_modules/)?@kava/(cli|plugin-)'] },
    },
    {
      name: 'plugins-import-only-core',
      comment: 'A plugin builds on the plugin API of @kava/core, not on the cli or on another plugin.',
      severity: 'error',
      from: { path: '^packages/(plugin-[^/]+)/src/' },
      to: {
        path: ['^packages/cli/', '^packages/plugin-[^/]+/', '^(node_modules/)?@kava/(cli|plugin-)'],
        pathNot: '^packages/$1/',
      },
    },
    {
      name: 'foundation-is-self-contained',
      comment: "errors, tf, io, ops, runtime, util and hub know nothing of KaVa's ideas.",
      severity: 'error',
      from: { path: LAYER.foundation },
      to: { path: CORE, pathNot: LAYER.foundation },
    },
    {
      name: 'contracts-import-only-foundation',
      comment:
        'The contracts a plugin implements (interfaces, registry, hooks, config schema) depend on no implementation.',
      severity: 'error',
      from: { path: LAYER.contracts },
      to: { path: above('parts', 'assembly', 'pipelines', 'entry') },
    },
    {
      name: 'parts-import-no-assembly',
      comment:
        'The parts (model, data, compression, losses, latent, eval, presets) are assembled; they do not assemble.',
      severity: 'error',
      from: { path: LAYER.parts },
      to: { path: above('assembly', 'pipelines', 'entry') },
    },
    {
      name: 'blocks-import-no-strategies',
      comment:
        'Building blocks (tokenizer, model, data, compression, losses) do not use the generation strategies built on them.',
      severity: 'error',
      from: { path: `${CORE}(tokenizer|model|data|compression|losses)/` },
      to: { path: `${CORE}(latent|eval|presets|testing)/` },
    },
    {
      name: 'assembly-imports-no-pipelines',
      comment: 'Resolving a configuration and loading plugins does not train or evaluate.',
      severity: 'error',
      from: { path: LAYER.assembly },
      to: { path: above('pipelines', 'entry') },
    },
    {
      name: 'pipelines-import-no-entry-point',
      comment: 'The entry points only re-export; importing one from inside core would tie everything to everything.',
      severity: 'error',
      from: { path: CORE, pathNot: LAYER.entry },
      to: { path: LAYER.entry },
    },
    {
      name: 'every-core-module-has-a-layer',
      comment: 'A new folder in core takes a place in the layers here and in docs/architecture.md.',
      severity: 'error',
      from: { path: CORE, pathNot: Object.values(LAYER) },
      to: {},
    },
  ],
  options: {
    // Workspace packages resolve (through node_modules' links) to their dist/: they are checked
    // as targets of the rules above but not followed.
    doNotFollow: { path: ['node_modules', '^packages/[^/]+/dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
  },
};
