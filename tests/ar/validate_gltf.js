// Validate glTF/GLB files with the Khronos glTF-Validator (npm "gltf-validator").
// Usage: node validate_gltf.js FILE.glb [FILE.glb ...]
// Prints one JSON object {file: report} on stdout; exits 1 if a file cannot be read.
"use strict";
const { runOnFiles } = require("../_node_cli.js");
const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

async function main(files) {
  const out = {};
  for (const file of files) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    out[file] = await validator.validateBytes(bytes, {
      uri: path.basename(file),
      maxIssues: 1000,
      // an exported GLB is self-contained: any external resource is an error
      externalResourceFunction: (uri) => Promise.reject(new Error(`external resource ${uri}`)),
    });
  }
  return out;
}

runOnFiles(__filename, main);
