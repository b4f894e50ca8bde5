// Bundles the worker with esbuild: one file per entry, every dependency inside, so the image needs
// no node_modules and start-up reads one file instead of thousands (solapi alone pulls 61 MB).
// ESBUILD_MODULE may point at an esbuild installed elsewhere (the Dockerfile installs only the
// runtime dependencies, then esbuild on its own).
import { readFileSync, writeFileSync } from "node:fs";

const { build } = await import(process.env.ESBUILD_MODULE ?? "esbuild");

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: "linked",
  logLevel: "warning",
  legalComments: "none",
  // ESM builds first: esbuild can then drop the parts of `effect` (solapi's dependency) that are never used.
  mainFields: ["module", "main"],
};

/**
 * esbuild leaves non-ASCII characters in regular-expression literals (solapi has Korean ones), and a
 * single such character makes V8 hold the whole 2.7 MB source as UTF-16: twice the memory. Escaped,
 * the file is pure ASCII and stays one byte per character.
 */
function asciiOnly(path) {
  const source = readFileSync(path, "utf8");
  const escaped = source.replace(/[\u0080-\uffff]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (escaped !== source) writeFileSync(path, escaped);
}

await Promise.all([
  // Stack traces map to file and line; the sources themselves stay out of the map (and the image).
  build({
    ...common,
    entryPoints: { cli: "worker/src/cli/index.ts" },
    outdir: "dist",
    minify: process.env.BUILD_MINIFY !== "false",
    sourcesContent: false,
  }),
  build({ ...common, entryPoints: { index: "worker/src/index.ts" }, outdir: "dist" }),
]);
asciiOnly("dist/cli.js");
