#!/usr/bin/env node
// Keeps every source file short enough to hold one idea: fails, naming them, if any tracked
// TypeScript or JavaScript file outside the planted-bug patches runs over the limit.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const LIMIT = 250;
const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.mjs", "*.js"], { encoding: "utf8" })
  .split("\n")
  .filter((file) => file && !file.startsWith("test/chaos/planted-bugs/"));
const long = files
  .map((file) => ({ file, lines: readFileSync(file, "utf8").split("\n").length - 1 }))
  .filter(({ lines }) => lines > LIMIT)
  .sort((a, b) => b.lines - a.lines);
for (const { file, lines } of long) console.error(`${file}: ${lines} lines (at most ${LIMIT})`);
if (long.length > 0) process.exit(1);
console.log(`${files.length} source files, none over ${LIMIT} lines`);
