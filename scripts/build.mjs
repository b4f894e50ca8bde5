// Bundles the worker with esbuild: one file per entry, every dependency inside, so the image needs
// no node_modules and start-up reads one file instead of thousands (solapi alone pulls 61 MB).
import { build } from "esbuild";

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

await Promise.all([
  build({ ...common, entryPoints: { cli: "worker/src/cli/index.ts" }, outdir: "dist", minify: true }),
  build({ ...common, entryPoints: { index: "worker/src/index.ts" }, outdir: "dist" }),
]);
