// Runs the benchmarks one after another (never in parallel: they would skew each other's timings).
// Usage: npm run bench [-- eval ts-tools]   — names filter by file prefix; no names = all.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const dir = fileURLToPath(new URL(".", import.meta.url));
const all = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.some((f) => f.startsWith(w)));
if (unknown.length > 0) {
  console.error(
    `bench: no benchmark named ${unknown.join(", ")}; available: ${all.map((f) => f.replace(".bench.ts", "")).join(", ")}`,
  );
  process.exit(2);
}
for (const file of all.filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))) {
  console.log(`\n=== ${file}`);
  const result = await execa(process.execPath, ["--import", "tsx", `${dir}${file}`], {
    stdio: "inherit",
    reject: false,
  });
  if (result.exitCode !== 0) {
    console.error(`bench: ${file} exited ${result.exitCode}`);
    process.exitCode = 1;
  }
}
