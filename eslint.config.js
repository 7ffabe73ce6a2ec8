import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'db/migrations/', 'public/vendor/', 'tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.mocha } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only config/ reads process.env.' }],
    },
  },
  { files: ['config/**', 'drizzle.config.ts', 'test/support/env.ts', 'bench/**'], rules: { 'no-restricted-properties': 'off' } },
  { files: ['public/**/*.js'], languageOptions: { globals: globals.browser } },
);
