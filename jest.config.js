// Three projects so each layer can run alone:
//   unit         no services
//   integration  a real PostgreSQL (DATABASE_URL or 127.0.0.1:5432); each file gets its own scratch database
//   e2e          a real n8n with the packed package installed (see test/e2e/n8nRuntime.ts)
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
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
