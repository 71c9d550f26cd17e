#!/usr/bin/env node
// Entry for `npx loom`. The built CLI (dist/supervisor.mjs, every command) when it is fresh: built, and no
// source it was built from newer — it starts without a TypeScript loader, about three times faster.
// Else the TypeScript sources through tsx, so a fresh clone (or a source just edited) needs no build step.
import { fileURLToPath } from "node:url";
import { freshBundle } from "./fresh-bundle.mjs";

const bundle = freshBundle(fileURLToPath(new URL("..", import.meta.url)), "supervisor");
if (bundle) {
  // The bundle sets process.exitCode itself.
  await import(bundle);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("../src/cli/main.ts");
  process.exitCode = await main(process.argv.slice(2));
}
