// ESLint flat config: typescript-eslint's type-checked rules over all TypeScript sources, the
// operator's layering (which folder may import which) and a size budget for its logic.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The operator's layers, each with the folders it may import (besides itself). Data flows one
 * way, WebStack -> render -> apply -> observe -> status, and imports follow it downwards:
 * support/ and api/ are the ground floor, blueprint/ the stack's names and layout contract on it
 * (read by every loop), kube/ the edge to the API server, render/ pure over those, runtime/ the
 * machinery (queue, informer, the one controller shape), reconcile/ the object loop, mysql/ the
 * SQL edge and database/ the database loop, agent/ the shared log agent's loop; controller/
 * registers the loops on one manager; main.ts wires the operator, and cli/ is the entry point
 * nothing imports. Folders not listed here (new ones) are held only to "nothing imports cli/ or
 * main.ts" until they get a line.
 */
const LAYERS = {
  support: [],
  api: ['support'],
  blueprint: ['api', 'support'],
  kube: ['support'],
  render: ['api', 'blueprint', 'support'],
  runtime: ['api', 'kube', 'support'],
  reconcile: ['api', 'blueprint', 'kube', 'render', 'runtime', 'support'],
  // The agent loop's pass: all stacks -> the shared log agent.
  agent: ['api', 'blueprint', 'kube', 'render', 'support'],
  mysql: ['api', 'support'],
  database: ['api', 'blueprint', 'kube', 'mysql', 'runtime', 'support'],
  // Backups: sealed objects in S3, the backup pod's programs (ADR 0015).
  backup: ['mysql', 'support'],
  controller: ['agent', 'api', 'blueprint', 'database', 'kube', 'reconcile', 'runtime', 'support'],
};
const FOLDERS = [...Object.keys(LAYERS), 'cli'];

const NOT_CLI = { group: ['**/cli/**'], message: 'cli/ is the entry point: nothing imports it' };
const NOT_MAIN = { group: ['**/main.js'], message: 'main.ts wires the operator; nothing imports it but cli/' };

/** `no-restricted-imports` patterns forbidding every operator folder outside `allowed`, and main.ts. */
function forbidden(layer, allowed) {
  const others = FOLDERS.filter((f) => f !== layer && !allowed.includes(f));
  const may = allowed.length > 0 ? allowed.map((f) => `${f}/`).join(', ') : 'node and npm modules';
  const message = `${layer}/ may import only ${may} (see LAYERS in eslint.config.js)`;
  return [{ group: others.map((f) => `**/${f}/**`), message }, NOT_MAIN];
}

const layering = [
  // Every file, main.ts and new folders included; the layers' own lines below replace this one.
  {
    files: ['operator/**/*.ts'],
    ignores: ['operator/cli/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NOT_CLI, NOT_MAIN] }] },
  },
  ...Object.entries(LAYERS).map(([layer, allowed]) => ({
    files: [`operator/${layer}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: forbidden(layer, allowed) }] },
  })),
];

/**
 * A size budget for logic, so a function that grows past reading at a glance is split before it
 * lands. Text templates (config files as lines) and the schema (data) are exempt; the few older
 * functions over it say why next to an eslint-disable comment.
 */
const budget = {
  files: ['operator/**/*.ts'],
  ignores: ['operator/render/config/**', 'operator/api/schema.ts'],
  rules: {
    complexity: ['error', 15],
    'max-depth': ['error', 4],
    'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
  },
};

/**
 * Tests and hack/ under the same house rules, with a looser budget (a test reads as a story, and a
 * describe block is one long function): a test imports only operator/, hack/ and the helper home
 * test/support/, never another test folder's files.
 */
const testRules = [
  {
    files: ['test/**/*.ts'],
    ignores: ['test/support/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(\\.\\./)+(?!(\\.\\./)*(operator|hack|support)/)', message: 'a test imports only operator/, hack/ and test/support/ (shared helpers live there)' }] },
      ],
    },
  },
  {
    files: ['test/support/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!\\.\\./(operator|hack)/)', message: 'test/support/ imports only operator/, hack/ and itself' }] }],
    },
  },
  {
    files: ['test/**/*.ts', 'hack/**/*.ts'],
    rules: { complexity: ['error', 25], 'max-depth': ['error', 5] },
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'charts/**', 'manifests/**', 'crds/**', 'test/fixtures/lint/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => doSomething()` as a callback is idiomatic; braces add noise without safety.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layering,
  budget,
  ...testRules,
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
