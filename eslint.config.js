// Type-aware linting: no floating promises (a forgotten await loses errors), no unsafe any in the request path.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/clients/: what relay-compiler and graphql-codegen write (npm run clients:build), committed as written.
  {
    ignores: ['dist/', 'node_modules/', '.node/', '.data/', 'coverage/', 'loadtest/reports/', 'src/db/migrations/', 'test/clients/relay/__generated__/', 'test/clients/codegen/gql/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
