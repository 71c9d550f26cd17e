// Checks bench-agent tasks without a Lab or a model (src/bench-agent/check-task.ts): each task's hidden
// tests must fail on the task as given and pass after its oracle.json runs through the Lab's tools.
// Usage: node --import tsx scripts/check-tasks.ts [--tasks DIR] [name...]   (no name: every task)
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkTask } from "../src/bench-agent/check-task.ts";
import { loadTasks } from "../src/bench-agent/tasks.ts";

const loomRoot = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf("--tasks");
const dir = at >= 0 ? args.splice(at, 2)[1] : path.join(loomRoot, "tasks");
if (!dir) {
  process.stderr.write("check-tasks: --tasks needs a folder of task folders\n");
  process.exit(2);
}
const { tasks, problems } = await loadTasks(dir).catch((err: Error) => {
  process.stderr.write(`check-tasks: ${err.message}\n`);
  process.exit(2);
});
for (const p of problems) process.stdout.write(`FAIL ${p.message}\n`);
const unknown = args.filter((name) => !tasks.some((t) => t.name === name));
if (unknown.length > 0) {
  const known = tasks.map((t) => t.name).join(", ");
  process.stderr.write(
    `check-tasks: no loadable task named ${unknown.join(", ")} in ${dir}; tasks there: ${known}\n`,
  );
  process.exit(2);
}
let failed = problems.length;
for (const task of tasks.filter((t) => args.length === 0 || args.includes(t.name))) {
  const started = performance.now();
  const check = await checkTask(task, { loomRoot });
  const took = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const exits = `unsolved exit ${check.unsolvedExit}, after the oracle exit ${check.solvedExit}`;
  process.stdout.write(`${check.ok ? "OK  " : "FAIL"} ${task.name} (${exits}; ${took})\n`);
  for (const p of check.problems) process.stdout.write(`     - ${p.replaceAll("\n", "\n       ")}\n`);
  if (!check.ok) failed++;
}
const { disposeProjects } = await import("../src/agent/ts/tools/index.ts");
await disposeProjects();
process.exit(failed > 0 ? 1 : 0);
