#!/usr/bin/env node
// A solc executable for forge and foundry-compilers, backed by the pinned solc-js from npm.
// `--version` prints what forge parses; anything else reads standard JSON on stdin and prints the result.
"use strict";
const solc = require("./node_modules/solc");

if (process.argv.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const input = Buffer.concat(chunks).toString("utf8");
  const fs = require("fs");
  const path = require("path");
  // forge passes --allow-paths / --base-path; resolve imports the same way solc would from the cwd.
  const findImports = (p) => {
    try {
      return { contents: fs.readFileSync(path.resolve(p), "utf8") };
    } catch (e) {
      return { error: `File not found: ${p}` };
    }
  };
  process.stdout.write(solc.compile(input, { import: findImports }));
});
