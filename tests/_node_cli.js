// What the JSON-printing validators the tests call (tests/ar/validate_gltf.js,
// tests/html/validate_html.js) share: read the files named on the command line, print one
// JSON object {file: report} on stdout (read by tests/_node_tools.py), exit 1 on an error
// and 2 without files.
"use strict";
const path = require("path");

// Run `report(files) -> Promise<{file: report}>` on this process's file arguments.
function runOnFiles(script, report) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error(`usage: node ${path.basename(script)} FILE [FILE ...]`);
    process.exit(2);
  }
  report(files)
    .then((out) => process.stdout.write(JSON.stringify(out)))
    .catch((err) => {
      console.error(String(err));
      process.exit(1);
    });
}

module.exports = { runOnFiles };
