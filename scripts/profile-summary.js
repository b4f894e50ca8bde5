// Sums a worker CPU profile (node --cpu-prof; `npm run bench -- --cpu-prof DIR` writes one) by who
// caused the work: each sample goes to the innermost frame on its stack that belongs to a known
// part (an SDK, the database driver, logging, the worker's own code). Build unminified first
// (BUILD_MINIFY=false npm run build) so that bundle lines map back to their modules.

const { readFileSync } = require("node:fs");

const profile = JSON.parse(readFileSync(process.argv[2], "utf8"));
const bundle = readFileSync(process.argv[3] ?? "dist/cli.js", "utf8").split("\n");
const moduleAtLine = [];
let current = "(bundle)";
for (let line = 0; line < bundle.length; line += 1) {
  const marker = /^\/\/ (node_modules\/(?:@[^/]+\/)?[^/]+|worker\/src\/\S+)/.exec(bundle[line]);
  if (marker) current = marker[1];
  moduleAtLine[line] = current;
}

const PARTS = [
  ["AWS SDK (SQS)", /@smithy|@aws-sdk|@aws-crypto|fast-xml-parser|bowser/],
  ["Solapi SDK (solapi, effect, date-fns)", /node_modules\/(solapi|effect|date-fns|fast-check|pure-rand)/],
  [
    "MySQL driver (mysql2)",
    /node_modules\/(mysql2|sql-escaper|lru|named-placeholders|aws-ssl|denque|long|iconv-lite|generate-function|seq-queue|lru\.min)/,
  ],
  [
    "logging (winston)",
    /node_modules\/(winston|logform|winston-transport|readable-stream|safe-stable-stringify|triple-beam|@colors|fecha|one-time|kuler|text-hex|colorspace|@so-ric|color|stack-trace|async|@dabh)/,
  ],
  ["validation (zod)", /node_modules\/zod/],
  ["the worker's own code", /^worker\/src\//],
];
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

function partOf(node) {
  const frame = node.callFrame;
  if (frame.url.endsWith("cli.js")) {
    const module = moduleAtLine[frame.lineNumber] ?? "";
    return PARTS.find(([, pattern]) => pattern.test(module))?.[0];
  }
  if (frame.url.includes("undici")) return "Solapi SDK (solapi, effect, date-fns)";
  return undefined;
}

const totals = new Map();
let busy = 0;
profile.samples.forEach((id, index) => {
  const node = byId.get(id);
  const name = node.callFrame.functionName;
  if (name === "(idle)") return;
  const delta = profile.timeDeltas[index] ?? 0;
  busy += delta;
  let part = name === "(garbage collector)" ? "garbage collection" : undefined;
  for (let at = id; !part && at !== undefined; at = parent.get(at)) part = partOf(byId.get(at));
  part ??= node.callFrame.url.startsWith("node:internal/modules")
    ? "start-up (loading code)"
    : "Node.js runtime (streams, sockets, timers)";
  totals.set(part, (totals.get(part) ?? 0) + delta);
});
console.log(`busy ${(busy / 1000).toFixed(0)} ms`);
for (const [part, time] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(`${((time / busy) * 100).toFixed(1).padStart(5)} %  ${(time / 1000).toFixed(0).padStart(6)} ms  ${part}`);
}
