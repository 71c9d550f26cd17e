// Runs the benchmarks one after another (never in parallel: they would skew each other's timings).
// Usage: npm run bench [-- eval ts-tools] [-- --report]  — names filter by file prefix; no names = all.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const dir = fileURLToPath(new URL(".", import.meta.url));
const all = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .sort();
// `--report` only rebuilds BENCHMARKS.md from the results files of earlier runs.
const reportOnly = process.argv.includes("--report");
const wanted = process.argv.slice(2).filter((a) => a !== "--report");
const unknown = wanted.filter((w) => !all.some((f) => f.startsWith(w)));
if (unknown.length > 0) {
  console.error(
    `bench: no benchmark named ${unknown.join(", ")}; available: ${all.map((f) => f.replace(".bench.ts", "")).join(", ")}`,
  );
  process.exit(2);
}
for (const file of reportOnly
  ? []
  : all.filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))) {
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

// BENCHMARKS.md = the header plus every results file, so the committed numbers are always the last run's.
const results = readdirSync(`${dir}results`)
  .filter((f) => f.endsWith(".md"))
  .sort();
const body = results.map((f) =>
  readFileSync(`${dir}results/${f}`, "utf8")
    .replace(/^(#+) /gm, "#$1 ")
    .trimEnd(),
);
writeFileSync(
  `${dir}../BENCHMARKS.md`,
  `${readFileSync(`${dir}header.md`, "utf8").trimEnd()}\n\n${body.join("\n\n")}\n`,
);
console.log("bench: BENCHMARKS.md updated");
