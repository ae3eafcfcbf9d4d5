// ESLint (flat config) for the report's JavaScript, which report.py inlines into report.html:
// a plain browser script (no modules, no build step), so ES5-era syntax and browser globals.
// CI (.ci/run), from the repo root: `npm ci --prefix tools/eslint --no-audit --no-fund`, then
// `tools/eslint/node_modules/.bin/eslint -c tools/eslint/eslint.config.mjs codesign/results/templates`.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    files: ["codesign/results/templates/**/*.js"],
  },
  {
    ...js.configs.recommended,
    files: ["codesign/results/templates/**/*.js"],
  },
  {
    files: ["codesign/results/templates/**/*.js"],
    languageOptions: {
      ecmaVersion: 2015,
      sourceType: "script",
      globals: { ...globals.browser },
    },
    rules: {
      "no-var": "off",
      eqeqeq: "error",
      strict: ["error", "function"],
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-use-before-define": ["error", { functions: false, variables: true }],
      "no-unused-vars": ["error", { args: "after-used" }],
    },
  },
];
