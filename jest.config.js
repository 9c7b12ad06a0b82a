// Four projects so each layer can run alone:
//   unit         no services, nothing installed beyond node_modules
//   n8n          n8n's own node descriptions, from the n8n the e2e tests use (installed on first use); no services
//   integration  a real PostgreSQL (DATABASE_URL or 127.0.0.1:5432); each file gets its own scratch database
//   e2e          a real n8n with the packed package installed (see tooling/n8n/n8nRuntime.ts)
// Type checking is `npm run typecheck`; ts-jest only transpiles, which keeps the suite fast.
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', diagnostics: false }],
};
// ES-module-only dependencies (hyparquet and its compressors, @vlasky/zongji) are compiled to CommonJS for jest,
// whose module sandbox cannot load ESM; everything else in node_modules stays untransformed.
const ESM_ONLY = ['hyparquet', 'hyparquet-compressors', 'hyparquet-writer', 'hysnappy', '@vlasky/zongji'];
transform[`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`] = [
  'ts-jest',
  { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2022', esModuleInterop: true }, diagnostics: false, isolatedModules: true },
];
// vega and vega-lite are ES modules only too, over some forty ES-module-only packages (vega-*,
// d3-*); their own UMD builds bundle the same code as CommonJS, so jest loads those instead
// (the package loads the ES modules with a real import(): lib/observability/charts/render.ts).
const moduleNameMapper = {
  '^vega$': '<rootDir>/node_modules/vega/build/vega.js',
  '^vega-lite$': '<rootDir>/node_modules/vega-lite/build/vega-lite.min.js',
};
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleNameMapper,
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  // Tests talk to real servers; on a busy two-core machine a property test's hundred round trips
  // can pass 5 s. Files that need longer still set their own.
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'n8n', testMatch: ['<rootDir>/test/n8n/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
