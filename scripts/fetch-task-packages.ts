// `npm install` (package.json "prepare") and `.ci/run`: puts every npm package tasks/ names into the npm
// cache, so `loom bench-agent` and the tests unpack them offline. The tests run with npm_config_offline
// (vitest.config.ts): no test reaches a registry. A failure only warns: nothing else needs these packages.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { loadTasks } from "../src/bench-agent/tasks.ts";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const started = performance.now();
const { tasks } = await loadTasks(path.join(root, "tasks"));
const specs = [...new Set(tasks.flatMap((t) => (t.spec.source ? [t.spec.source.npm] : [])))].sort();
const add = (list: readonly string[]) =>
  execa("npm", ["cache", "add", "--prefer-offline", "--loglevel=error", ...list], {
    reject: false,
    all: true,
    timeout: 300_000,
  });
const failed: string[] = [];
// All in one npm; only when that fails, one at a time, to name the ones that cannot be had.
if ((await add(specs)).exitCode !== 0) {
  for (const spec of specs) {
    const r = await add([spec]);
    if (r.exitCode !== 0)
      failed.push(
        `${spec}: ${String(r.all ?? "")
          .trim()
          .split("\n")
          .slice(-2)
          .join(" ")}`,
      );
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (failed.length > 0) {
  process.stderr.write(
    `fetch-task-packages: ${failed.length} of ${specs.length} task packages not cached (loom bench-agent fetches them when run; the bench-agent tests need them):\n  ${failed.join("\n  ")}\n`,
  );
} else
  process.stdout.write(
    `fetch-task-packages: ${specs.length} task packages in the npm cache (${seconds} s)\n`,
  );
