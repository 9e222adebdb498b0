// ESLint for the widget's browser code (`make lint-js`). The build output is minified, not linted.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["static/widget/build/**", "node_modules/**", ".venv/**"] },
  js.configs.recommended,
  {
    files: ["static/widget/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      // loader.js is bundled by esbuild (it imports banner.css); the others are plain scripts.
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    files: ["static/widget/form.js", "static/widget/altcha.js"],
    languageOptions: { sourceType: "script" },
    // Written in ES5 style (var, `catch (e) {}` where a failure is harmless), kept so for now.
    rules: {
      "no-var": "off",
      "prefer-const": "off",
      "no-empty": ["error", { allowEmptyCatch: true }],
      "no-unused-vars": ["error", { caughtErrors: "none" }],
    },
  },
  {
    files: ["static/widget/build.mjs", "eslint.config.js"],
    languageOptions: { globals: { ...globals.node } },
  },
];
