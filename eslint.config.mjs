import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/scratch/**', 'libs/api/src/grpc/generated/**', 'libs/fleet/src/generated/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    files: ['libs/**/*.ts', 'apps/**/*.ts'],
    ignores: ['libs/config/**', '**/*.spec.ts', '**/testing/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'configuration is read once, in libs/config' }],
    },
  },
  {
    // The database handle stays inside libs/store: the rest of keyd's code gets
    // repositories (records in, records out) and StoreHealth, never a connection.
    // Tests, the bench and test harnesses open throwaway databases with it.
    files: ['libs/**/*.ts', 'apps/**/*.ts'],
    ignores: ['libs/store/**', '**/*.spec.ts', '**/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@keyd/store',
              importNames: ['StoreDatabase'],
              message: 'inject a repository, or StoreHealth for the readiness probe; the database stays inside libs/store',
            },
          ],
        },
      ],
    },
  },
);
