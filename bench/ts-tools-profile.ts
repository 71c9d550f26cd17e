/**
 * Profiling driver for the warm ts_* edit path (not part of the benchmark table).
 * Run: `node --import tsx bench/ts-tools-profile.ts [files] [calls]` (defaults 1000, 20).
 * ONLY=ts_replace_body|ts_insert_member runs one tool; PROFILE=out.cpuprofile writes a CPU profile of
 * the warm calls only (open it in Chrome DevTools).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector";
import os from "node:os";
import path from "node:path";
import type { ToolContext } from "../src/agent/tool.ts";
import { tsInsertMember } from "../src/agent/ts/tools/insert-member.ts";
import { tsReplaceBody } from "../src/agent/ts/tools/replace-body.ts";
import { generateProject } from "./gen-project.ts";

const session = new Session();
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) =>
    session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
  );
/** Profiles only the warm calls (the cold load would drown them). */
async function startProfile(): Promise<void> {
  session.connect();
  await post("Profiler.enable");
  await post("Profiler.start");
}
async function stopProfile(file: string): Promise<void> {
  const { profile } = (await post("Profiler.stop")) as { profile: unknown };
  await writeFile(file, JSON.stringify(profile));
}

const files = Number(process.argv[2] ?? 1000);
const calls = Number(process.argv[3] ?? 20);
const dir = await mkdtemp(path.join(os.tmpdir(), `loom-prof-ts-${files}-`));
try {
  const g = await generateProject(dir, { files, seed: 42 });
  const ctx: ToolContext = { workspace: g.root, signal: new AbortController().signal };
  const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length / 2) - 1]!;
  const body = (i: number) => ({
    path: `${g.sample.file}#${g.sample.functionName}`,
    body: `return items.length + ${i};`,
  });
  const member = (i: number) => ({
    path: `${g.sample.file}#${g.sample.className}`,
    member: `extra${i}(): number {\n  return ${i};\n}`,
  });
  for (const [name, tool, input] of [
    ["ts_replace_body", tsReplaceBody, body],
    ["ts_insert_member", tsInsertMember, member],
  ] as const) {
    if (process.env.ONLY && process.env.ONLY !== name) continue;
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i <= calls; i++) {
      const t = performance.now();
      const c = process.cpuUsage();
      const r = await tool.run(tool.input.parse(input(i)) as never, ctx);
      if (r.isError) throw new Error(r.content);
      const used = process.cpuUsage(c);
      if (i === 0 && process.env.PROFILE) await startProfile();
      if (i > 0) times.push(performance.now() - t);
      if (i > 0) cpu.push((used.user + used.system) / 1000);
    }
    process.stdout.write(
      `${name} ${files} files: p50 ${p50(times).toFixed(1)} ms, CPU p50 ${p50(cpu).toFixed(1)} ms\n`,
    );
  }
  if (process.env.PROFILE) await stopProfile(process.env.PROFILE);
} finally {
  await rm(dir, { recursive: true, force: true });
}
