// Validate one glTF/GLB file with the Khronos glTF-Validator; print its JSON report.
// Usage: node validate_gltf.js FILE.glb
"use strict";
const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate_gltf.js FILE.glb");
  process.exit(2);
}
const bytes = new Uint8Array(fs.readFileSync(file));
validator
  .validateBytes(bytes, {
    uri: path.basename(file),
    maxIssues: 1000,
    // a GLB export is self-contained: any external resource is an error
    externalResourceFunction: (uri) => Promise.reject(new Error(`external resource ${uri}`)),
  })
  .then((report) => {
    process.stdout.write(JSON.stringify(report));
  })
  .catch((err) => {
    console.error(String(err));
    process.exit(1);
  });
