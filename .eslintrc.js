/**
 * n8n's own rules for community packages (eslint-plugin-n8n-nodes-base): package.json, credentials
 * and nodes. The engine in lib/ is plain TypeScript checked by `tsc` (strict) instead.
 */
module.exports = {
  root: true,
  env: { es2022: true, node: true },
  parser: '@typescript-eslint/parser',
  parserOptions: { sourceType: 'module', extraFileExtensions: ['.json'] },
  ignorePatterns: ['.eslintrc.js', '**/*.js', '**/node_modules/**', '**/dist/**'],
  overrides: [
    {
      files: ['package.json'],
      plugins: ['eslint-plugin-n8n-nodes-base'],
      extends: ['plugin:n8n-nodes-base/community'],
      rules: { 'n8n-nodes-base/community-package-json-name-still-default': 'off' },
    },
    {
      files: ['./credentials/**/*.ts'],
      plugins: ['eslint-plugin-n8n-nodes-base'],
      extends: ['plugin:n8n-nodes-base/credentials'],
      rules: {
        // The credential is a database login named "IPAI Lakehouse", not an HTTP API.
        'n8n-nodes-base/cred-class-field-display-name-missing-api': 'off',
        // The rule expects a docs.n8n.io slug; a community package links its own README.
        'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
      },
    },
    {
      files: ['./nodes/**/*.ts'],
      plugins: ['eslint-plugin-n8n-nodes-base'],
      extends: ['plugin:n8n-nodes-base/nodes'],
      rules: {
        // n8n's own nodes now declare connections with NodeConnectionTypes.Main (type-checked);
        // this plugin still asks for the older string literal 'main'.
        'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
        'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
      },
    },
  ],
};
