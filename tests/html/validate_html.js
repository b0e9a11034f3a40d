// Validate HTML files with html-validate (npm "html-validate", pinned in package.json).
// Usage: node validate_html.js FILE.html [FILE.html ...]
// Prints one JSON object {file: {errors, warnings, messages: [{rule, severity, message,
// line, column, selector}]}} on stdout; exits 1 if a file cannot be read, 2 without files.
//
// The preset is "html-validate:recommended" with every rule an error: document structure,
// permitted content and nesting, unclosed and misnested elements, duplicate ids and
// attributes, deprecated elements and attributes, alt text, labels, table structure
// (prefer-tbody), character references, quoting and the WCAG rules. Two rules are off,
// because what they judge is the text our users write, not the markup we generate:
"use strict";
const { runOnFiles } = require("../_node_cli.js");
const { HtmlValidate, StaticConfigLoader } = require("html-validate");

const STYLISTIC_RULES_OFF = {
  // Source lines that end in spaces: procedure steps, notes and alarm messages come from
  // plant files and journals as written, and trailing spaces there change nothing in the
  // document (the W3C validator does not report them either).
  "no-trailing-whitespace": "off",
  // <title> longer than 70 characters: a search-engine display guideline. Our titles are
  // the user's procedure, tool, drill and experiment names, which the page must show whole.
  "long-title": "off",
};

const validator = new HtmlValidate(
  new StaticConfigLoader({
    extends: ["html-validate:recommended"],
    rules: STYLISTIC_RULES_OFF,
  }),
);

async function main(files) {
  const out = {};
  for (const file of files) {
    const report = await validator.validateFile(file);
    const messages = report.results.flatMap((r) =>
      r.messages.map((m) => ({
        rule: m.ruleId,
        severity: m.severity === 2 ? "error" : "warning",
        message: m.message,
        line: m.line,
        column: m.column,
        selector: m.selector,
      })),
    );
    out[file] = {
      errors: report.errorCount,
      warnings: report.warningCount,
      messages,
    };
  }
  return out;
}

runOnFiles(__filename, main);
