/**
 * Workspaces by git over HTTP against today's bind-mounted clone, for one generation's git work: the
 * workspace made, a program.md commit and one work commit on lab/gen-N, the branch back in the
 * Supervisor's repository. Today (local and docker runtimes): `prepareWorkspace` (a local clone of main
 * into the workspace folder, lab/gen-N, program.md committed) — plus, under docker, the `chmod -R`
 * that lets the image's user write it — the work commit, then `fetchLabBranch` from the folder. Over
 * HTTP (src/supervisor/git-http): a token granted, `cloneAt` of main over loopback (the whole history,
 * and a shallow clone of one commit), both commits, `pushBranch`. On the demo repository and on a
 * clone of Loom itself; interleaved, a few iterations each. The git client runs on the host in both:
 * what is compared is the transport, not a container's start (the same for both).
 * Run: `npm run bench -- git-transport` (or `node --import tsx bench/git-transport.bench.ts`). Writes
 * bench/results/git-transport.md. About a minute.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { demoRepoFiles } from "../src/demo/demo-repo.ts";
import { runGit } from "../src/shared/git/run-git.ts";
import { fetchLabBranch, prepareWorkspace } from "../src/supervisor/git/index.ts";
import { cloneAt, pushBranch, startGitHttp } from "../src/supervisor/git-http/index.ts";
import { shareWorkspace } from "../src/supervisor/lifecycle/share-workspace.ts";
import { fmt, median, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const LOOM_ROOT = path.resolve(here, "..");
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 5);
const IDENTITY = { name: "Bench", email: "bench@loom.invalid" };
const PROGRAM = "# Task\n\nRename greet to greetUser.\n";

type Way = "today-local" | "today-docker" | "http-full" | "http-shallow";
const WAYS: readonly Way[] = ["today-local", "today-docker", "http-full", "http-shallow"];
const LABEL: Record<Way, string> = {
  "today-local": "today, local: clone into the folder, fetch back",
  "today-docker": "today, docker: the same + `chmod -R a+rwX` for the image's user",
  "http-full": "HTTP: clone (whole history), push",
  "http-shallow": "HTTP: shallow clone of one commit (depth 1), push",
};

interface Sample {
  readonly make: number;
  readonly commits: number;
  readonly back: number;
  readonly total: number;
}

const git = (cwd: string, args: string[]) => runGit(cwd, args, { identity: IDENTITY });

async function labWork(dir: string, n: number, withProgram: boolean): Promise<void> {
  if (withProgram) {
    await writeFile(path.join(dir, "program.md"), PROGRAM);
    await git(dir, ["add", "-f", "program.md"]);
    await git(dir, ["commit", "-q", "--no-verify", "--allow-empty", "-m", `gen-${n}: program`]);
  }
  await writeFile(path.join(dir, `bench-gen-${n}.ts`), `export const generation = ${n};\n`);
  await git(dir, ["add", "--", `bench-gen-${n}.ts`]);
  await git(dir, ["commit", "-q", "--no-verify", "-m", `gen-${n}: work`]);
}

async function makeDemoRepo(repo: string): Promise<void> {
  for (const [rel, content] of Object.entries(demoRepoFiles)) {
    await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
    await writeFile(path.join(repo, rel), content);
  }
  await git(repo, ["init", "-q", "-b", "main"]);
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "-m", "Initial demo repository"]);
}

async function measureRepo(name: string, repo: string, scratch: string) {
  const server = await startGitHttp({ repoPath: repo });
  const samples: Record<Way, Sample[]> = {
    "today-local": [],
    "today-docker": [],
    "http-full": [],
    "http-shallow": [],
  };
  let n = 0;
  try {
    for (let i = -1; i < ITERATIONS; i++) {
      for (const way of WAYS) {
        n += 1;
        const dir = path.join(scratch, `${name}-gen-${n}`);
        const t0 = performance.now();
        let t1: number;
        let t2: number;
        if (way === "today-local" || way === "today-docker") {
          await prepareWorkspace({ repo, workspace: dir, generation: n, program: PROGRAM });
          if (way === "today-docker") await shareWorkspace(dir);
          t1 = performance.now();
          await labWork(dir, n, false);
          t2 = performance.now();
          await fetchLabBranch({ repo, workspace: dir, generation: n });
        } else {
          const token = server.grant({ generation: n, push: `lab/gen-${n}` });
          const main = await runGit(repo, ["rev-parse", "main"]);
          await cloneAt({
            url: server.url,
            token,
            dir,
            branch: `lab/gen-${n}`,
            ...(way === "http-shallow" ? { commit: main, depth: 1 } : { ref: "main" }),
          });
          t1 = performance.now();
          await labWork(dir, n, true);
          t2 = performance.now();
          await pushBranch({ dir, url: server.url, token, branch: `lab/gen-${n}` });
          server.revoke(token);
        }
        const t3 = performance.now();
        // The branch is in the repository either way, with both commits on main.
        const count = await runGit(repo, ["rev-list", "--count", `main..refs/heads/lab/gen-${n}`]);
        if (count !== (way.startsWith("today") ? "2" : "2"))
          throw new Error(`${way}: lab/gen-${n} has ${count} commits`);
        await rm(dir, { recursive: true, force: true });
        if (i >= 0) samples[way].push({ make: t1 - t0, commits: t2 - t1, back: t3 - t2, total: t3 - t0 });
      }
    }
  } finally {
    await server.close();
  }
  return samples;
}

const scratch = await mkdtemp(path.join(os.tmpdir(), "loom-bench-git-transport-"));
const startLoad = uptime();
const results: { name: string; about: string; samples: Record<Way, Sample[]> }[] = [];
try {
  const demo = path.join(scratch, "demo");
  await makeDemoRepo(demo);
  const loom = path.join(scratch, "loom");
  await runGit(scratch, ["clone", "-q", "--no-hardlinks", "-b", "main", "--", LOOM_ROOT, loom]);
  // As a Supervisor finds it: Loom's packages linked in (ignored; never cloned, never sent).
  await symlink(path.join(LOOM_ROOT, "node_modules"), path.join(loom, "node_modules"), "dir");
  for (const [name, repo] of [
    ["demo", demo],
    ["loom", loom],
  ] as const) {
    const files = (await runGit(repo, ["ls-files"])).split("\n").length;
    const commits = await runGit(repo, ["rev-list", "--count", "main"]);
    const size = (await runGit(repo, ["count-objects", "-vH"])).match(/size-pack: (.*)/)?.[1] ?? "?";
    const loose = (await runGit(repo, ["count-objects", "-vH"])).match(/^size: (.*)$/m)?.[1] ?? "?";
    results.push({
      name,
      about: `${files} files, ${commits} commits (packed ${size}, loose ${loose})`,
      samples: await measureRepo(name, repo, scratch),
    });
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

const lines = [
  "# Git transport benchmark",
  "",
  "Reproduce: `npm run bench -- git-transport` (or `node --import tsx bench/git-transport.bench.ts`;",
  "`BENCH_ITERATIONS=N`, default 5). Writes this file.",
  "",
  "One generation's git work, **over HTTP** (`src/supervisor/git-http`: a per-generation token, `cloneAt` of",
  "main from the Supervisor's `git http-backend` endpoint over loopback, program.md and one work commit on",
  "`lab/gen-N`, `pushBranch`, checked by the endpoint's push rules and `receive.fsckObjects`) against **today's",
  "bind-mounted workspace** (`prepareWorkspace`: a local `git clone --no-hardlinks` of main into the folder,",
  "program.md committed; under docker also `chmod -R a+rwX`; the work commit; `fetchLabBranch` back into the",
  "repository). The git client runs on the host in both (a Lab's container start is the same either way).",
  `One unmeasured round, then ${ITERATIONS} of each, interleaved; p50 per phase. Ratio = HTTP / today (local).`,
  "",
  "Phases: *make the workspace* is `prepareWorkspace` (which also commits program.md) for today, `cloneAt` for HTTP;",
  "*commits* is the work commit for today, program.md and the work commit for HTTP; *branch back* is `fetchLabBranch`",
  "for today, `pushBranch` (the branch lands in the repository through receive-pack) for HTTP. Why HTTP is not",
  "slower: a local clone copies the repository's object folder file by file (loose objects included, reachable or",
  "not), while upload-pack sends one pack of what main reaches; and the HTTP clone runs fewer git processes.",
  "",
];
for (const r of results) {
  const base = median(r.samples["today-local"].map((s) => s.total));
  lines.push(
    `### ${r.name === "demo" ? "Demo repository" : "Loom itself (a clone of main)"}: ${r.about}`,
    "",
  );
  lines.push("| path | make the workspace | commits | branch back | total p50 | min–max | ratio |");
  lines.push("|---|---|---|---|---|---|---|");
  for (const way of WAYS) {
    const xs = r.samples[way];
    const totals = xs.map((s) => s.total);
    lines.push(
      `| ${LABEL[way]} | ${fmt(median(xs.map((s) => s.make)))} | ${fmt(median(xs.map((s) => s.commits)))} | ${fmt(median(xs.map((s) => s.back)))} | ${fmt(median(totals))} | ${fmt(Math.min(...totals))}–${fmt(Math.max(...totals))} | ${(median(totals) / base).toFixed(2)}× |`,
    );
  }
  lines.push("");
}
lines.push(
  `Machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}. Shared machine; \`uptime\` at the start: \`${startLoad}\`; at the end: \`${uptime()}\`.`,
  `Run at ${new Date().toISOString()}.`,
  "",
);
await writeFile(path.join(here, "results", "git-transport.md"), lines.join("\n"));
console.log(lines.join("\n"));
