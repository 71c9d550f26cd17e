import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { Metafile } from "esbuild";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BuiltBundle,
  buildBundles,
  bundleProblems,
  LOOM_ROOT,
  runtimeFileImports,
  selfModifyInputs,
} from "../../scripts/build.ts";
import { INLINED_PACKAGES, packageOf } from "../../src/build/bundles.ts";
import { startScriptedModel } from "../../src/shared/scripted-model/index.ts";

const temps: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

let bundles: BuiltBundle[];
/** A directory outside the repository holding only the Lab bundle and a node_modules link, as in the image. */
let labHome: string;

/** Runs the Lab bundle with plain node (no tsx, no loader) from `labHome`. */
function runLab(args: string[]) {
  return execa(process.execPath, [join(labHome, "lab.mjs"), ...args], {
    cwd: labHome,
    reject: false,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
    extendEnv: false,
    timeout: 20_000,
    stdin: "ignore",
  });
}

function bundle(name: string): BuiltBundle {
  const b = bundles.find((x) => x.name === name);
  if (!b) throw new Error(`no bundle named ${name}`);
  return b;
}

beforeAll(async () => {
  const outdir = await tempDir("loom-dist-");
  bundles = await buildBundles({ outdir });
  // The bundle is its entry plus the chunks it loads lazily; copied together, away from the sources.
  labHome = await tempDir("loom-lab-home-");
  await cp(outdir, labHome, { recursive: true });
  await symlink(join(LOOM_ROOT, "node_modules"), join(labHome, "node_modules"), "dir");
}, 60_000);

afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe("process bundles", () => {
  it("builds lab, supervisor and prime with a metafile each", async () => {
    expect(bundles.map((b) => b.name).sort()).toEqual(["lab", "prime", "supervisor"]);
    for (const b of bundles) {
      expect(b.bytes, b.name).toBeGreaterThan(10_000);
      const onDisk = JSON.parse(await readFile(b.metafileFile, "utf8")) as Metafile;
      expect(Object.keys(onDisk.inputs), b.name).toContain(`src/entries/${b.name}.ts`);
      expect(runtimeFileImports(onDisk), b.name).toEqual([]);
    }
  });

  it("bundles zod into each process's code and loads every other package from node_modules", async () => {
    for (const b of bundles) {
      const inputs = Object.keys(b.metafile.inputs);
      const packages = new Set(
        inputs
          .filter((f) => f.startsWith("node_modules/"))
          .map((f) => packageOf(f.slice("node_modules/".length))),
      );
      expect([...packages], b.name).toEqual(["zod"]);
      const externals = new Set(
        Object.values(b.metafile.outputs).flatMap((o) =>
          o.imports.filter((i) => i.external && !i.path.startsWith("node:")).map((i) => packageOf(i.path)),
        ),
      );
      expect(externals.has("zod"), b.name).toBe(false);
      expect(externals.has("commander"), b.name).toBe(true);
    }
    expect(packageOf("zod/v4/core")).toBe("zod");
    expect(packageOf("@anthropic-ai/sdk/resources")).toBe("@anthropic-ai/sdk");
    expect(packageOf("./x.ts")).toBeUndefined();
    expect(packageOf("node:fs")).toBeUndefined();
    expect(INLINED_PACKAGES).toEqual(["zod"]);
  });

  it("reaches no self-modify module from the Lab bundle", async () => {
    const lab = JSON.parse(await readFile(bundle("lab").metafileFile, "utf8")) as Metafile;
    const inputs = Object.keys(lab.inputs);
    // The check sees the Lab's real code, including modules only reached by a literal dynamic import.
    expect(inputs).toContain("src/cli/commands/tool.ts");
    expect(inputs).toContain("src/lab/run-lab.ts");
    expect(inputs).toContain("lab-runtime/server.ts");
    expect(selfModifyInputs(lab)).toEqual([]);
    expect(bundleProblems("lab", lab)).toEqual([]);
    // The same check on the full CLI does flag something: the Supervisor's own entry.
    const supervisor = JSON.parse(await readFile(bundle("supervisor").metafileFile, "utf8")) as Metafile;
    expect(selfModifyInputs(supervisor)).toContain("src/entries/supervisor.ts");
  });

  it("flags a self-modify module reached from a Lab entry (negative control)", async () => {
    const root = await tempDir("loom-bad-lab-");
    await mkdir(join(root, "src", "agent", "self-modify"), { recursive: true });
    await mkdir(join(root, "src", "entries"), { recursive: true });
    await writeFile(
      join(root, "src", "agent", "self-modify", "spawn.ts"),
      'export const spawnGeneration = () => "gen";\n',
    );
    await writeFile(join(root, "src", "agent", "harmless.ts"), "export const one = 1;\n");
    // Reached only through a literal dynamic import, like the CLI commands load their parts.
    await writeFile(
      join(root, "src", "entries", "lab.ts"),
      'import { one } from "../agent/harmless.ts";\nexport const later = () => import("../agent/self-modify/spawn.ts");\nconsole.log(one);\n',
    );
    const [bad] = await buildBundles({
      outdir: join(root, "dist"),
      bundles: [{ name: "lab", entry: join(root, "src", "entries", "lab.ts") }],
      workingDir: root,
    });
    const meta = JSON.parse(await readFile(bad!.metafileFile, "utf8")) as Metafile;
    expect(selfModifyInputs(meta)).toEqual(["src/agent/self-modify/spawn.ts"]);
    expect(bundleProblems("lab", meta)).toEqual([
      "lab: self-modify module reachable: src/agent/self-modify/spawn.ts",
    ]);
    // Relative to the repository instead, the path still counts from its own src/.
    const fromRepo = await buildBundles({
      outdir: join(root, "dist2"),
      bundles: [{ name: "lab", entry: join(root, "src", "entries", "lab.ts") }],
    });
    expect(selfModifyInputs(fromRepo[0]!.metafile)).toEqual([
      `${relative(LOOM_ROOT, root).replaceAll("\\", "/")}/src/agent/self-modify/spawn.ts`,
    ]);
  });

  it("flags imports the bundle would load from files at run time", () => {
    const meta: Metafile = {
      inputs: {},
      outputs: {
        "out.mjs": {
          bytes: 1,
          inputs: {},
          exports: [],
          imports: [
            { path: "zod", kind: "import-statement", external: true },
            { path: "@anthropic-ai/sdk/core", kind: "import-statement", external: true },
            { path: "node:fs", kind: "import-statement", external: true },
            { path: "path", kind: "import-statement", external: true },
            { path: "../src/agent/loop.ts", kind: "dynamic-import", external: true },
            { path: "/work/src/x.ts", kind: "import-statement", external: true },
            { path: "file:///work/src/y.ts", kind: "import-statement", external: true },
          ],
        },
      },
    };
    expect(runtimeFileImports(meta)).toEqual([
      "../src/agent/loop.ts",
      "/work/src/x.ts",
      "file:///work/src/y.ts",
    ]);
    expect(bundleProblems("prime", meta)).toHaveLength(3);
  });

  it("refuses a missing entry, a broken entry and a bad bundle name with a clear message", async () => {
    const root = await tempDir("loom-build-errors-");
    await writeFile(join(root, "broken.ts"), "export const x = ;\n");
    const outdir = join(root, "dist");
    await expect(
      buildBundles({ outdir, bundles: [{ name: "x", entry: join(root, "nope.ts") }] }),
    ).rejects.toMatchObject({
      code: "BUILD_ENTRY_MISSING",
      message: expect.stringContaining("nope.ts is not a file"),
    });
    await expect(
      buildBundles({ outdir, bundles: [{ name: "x", entry: join(root, "broken.ts") }] }),
    ).rejects.toMatchObject({
      code: "BUILD_FAILED",
      message: expect.stringMatching(/broken\.ts:1:\d+: Unexpected ";"/),
    });
    await expect(
      buildBundles({ outdir, bundles: [{ name: "../x", entry: join(root, "broken.ts") }] }),
    ).rejects.toMatchObject({
      code: "BUILD_BAD_NAME",
    });
    const twice = { name: "x", entry: join(root, "broken.ts") };
    await expect(buildBundles({ outdir, bundles: [twice, twice] })).rejects.toMatchObject({
      code: "BUILD_DUPLICATE_NAME",
    });
  });
});

describe("scripts/build.ts", () => {
  it("builds into --outdir and prints each bundle's size; refuses an unknown flag", async () => {
    const outdir = await tempDir("loom-build-cli-");
    const script = join(LOOM_ROOT, "scripts", "build.ts");
    const run = (args: string[]) =>
      execa(process.execPath, ["--import", "tsx", script, ...args], {
        cwd: LOOM_ROOT,
        reject: false,
        // The whole build, compile cache included: seconds alone, over 30 s beside the suite's heaviest
        // files in a CI run on two cores.
        timeout: 150_000,
      });
    const [ok, bad] = await Promise.all([run(["--outdir", outdir]), run(["--out", outdir])]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    for (const name of ["lab", "supervisor", "prime"]) {
      expect(ok.stdout).toMatch(
        new RegExp(`^${name} +[\\d.]+ KB +\\d+ ms  ${join(outdir, `${name}.mjs`)}$`, "m"),
      );
    }
    expect(ok.stdout).toMatch(/^built 3 bundles in \d+ ms$/m);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--out'; accepted: --outdir <dir>");
  }, 180_000);
});

describe("the Lab bundle run with plain node outside the repository", () => {
  it("--help lists only the Lab's commands", async () => {
    const [{ exitCode, stdout }, unknown] = await Promise.all([runLab(["--help"]), runLab(["demo"])]);
    expect(exitCode).toBe(0);
    const section = stdout.slice(stdout.indexOf("Commands:"));
    const commands = [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]);
    expect(commands.sort()).toEqual(["help", "lab", "lab-relay", "lab-server", "lab-standby", "tool"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'demo'");
  });

  it("has no self-modify tool in its catalog", async () => {
    const { exitCode, stdout } = await runLab(["tool", "--list"]);
    expect(exitCode).toBe(0);
    const tools = stdout
      .trim()
      .split("\n")
      .map((line) => line.trim().split(/\s+/));
    expect(tools.map((t) => t[0])).toContain("read_file");
    expect(tools.map((t) => t[1])).not.toContain("self-modify");
    for (const [name, effect] of tools) expect(["read", "edit", "exec"], name).toContain(effect);
  });

  it("runs a tool on a workspace", async () => {
    const ws = await tempDir("loom-bundle-ws-");
    await writeFile(join(ws, "note.txt"), "first line\nsecond line\n");
    const [ok, missing] = await Promise.all([
      runLab(["tool", "read_file", "--workspace", ws, "--input", '{"path":"note.txt"}']),
      runLab(["tool", "read_file", "--workspace", ws, "--input", '{"path":"absent.txt"}']),
    ]);
    expect(ok.exitCode).toBe(0);
    const result = JSON.parse(ok.stdout) as { tool: string; content: string; isError?: boolean };
    expect(result.tool).toBe("read_file");
    expect(result.isError).toBe(false);
    expect(result.content).toContain("second line");
    expect(missing.exitCode).toBe(1);
    expect((JSON.parse(missing.stdout) as { isError?: boolean }).isError).toBe(true);
  });

  it("runs the ts_* tools of `lab` in its worker thread, built beside the bundle's chunks", async () => {
    const lab = JSON.parse(await readFile(bundle("lab").metafileFile, "utf8")) as Metafile;
    const worker = Object.entries(lab.outputs).find(([out]) => out.endsWith("/chunks/lab-ts-worker.mjs"));
    expect(worker?.[1].entryPoint).toBe("src/agent/ts/worker/ts-worker-main.ts");
    const ws = await tempDir("loom-bundle-ts-");
    await mkdir(join(ws, "src"));
    await writeFile(
      join(ws, "src", "greet.ts"),
      "export const greet = (n: string): string => n.toUpperCase();\n",
    );
    await writeFile(
      join(ws, "src", "main.ts"),
      'import { greet } from "./greet.ts";\nconsole.log(greet("a"));\n',
    );
    await writeFile(join(ws, "program.md"), "# Task: rename greet\n");
    const git = (args: string[]) => execa("git", args, { cwd: ws });
    await git(["init", "-q", "-b", "main"]);
    await git(["add", "."]);
    await git(["-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "init"]);
    const model = await startScriptedModel([
      // A first turn that takes a while, as a real model's does: the Lab warms its TypeScript thread
      // meanwhile, and the rename queues behind that warm-up in the thread.
      { tool: "ts_rename", input: { path: "src/greet.ts#greet", newName: "greetUser" }, thinkMs: 600 },
      { text: "renamed", when: { lastToolResultIncludes: "renamed" } },
    ]);
    try {
      const result = await execa(
        process.execPath,
        [join(labHome, "lab.mjs"), "lab", "--workspace", ws, "--generation", "4", "--port", "0", "--exit"],
        {
          cwd: ws,
          reject: false,
          env: {
            PATH: process.env.PATH ?? "",
            HOME: ws,
            ANTHROPIC_API_KEY: "k",
            LOOM_LAB_API_BASE: model.url,
          },
          extendEnv: false,
          timeout: 60_000,
          stdin: "ignore",
        },
      );
      expect(result.exitCode, result.stderr).toBe(0);
      // Warmed in the worker thread (in-process tools log nothing of the kind).
      expect(result.stderr).toMatch(/^lab: TypeScript tools warmed in \d+ ms \(worker thread\)$/m);
      expect((await git(["show", "HEAD:src/main.ts"])).stdout).toContain(
        'import { greetUser } from "./greet.ts";',
      );
    } finally {
      await model.close();
    }
  }, 90_000);

  it("serves /eval with the eval worker embedded in the bundle", async () => {
    const ws = await tempDir("loom-bundle-eval-");
    await mkdir(join(ws, "src"));
    await writeFile(join(ws, "src", "double.ts"), "export const double = (n: number): number => n * 2;\n");
    const child = spawn(process.execPath, [join(labHome, "lab.mjs"), "lab-server", "--workspace", ws], {
      cwd: labHome,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", PORT: "0" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = "";
        const timer = setTimeout(() => reject(new Error(`lab-server did not start in 15 s: ${err}`)), 15_000);
        child.stderr.on("data", (chunk: Buffer) => {
          err += chunk.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`lab-server exited with ${code}: ${err}`));
        });
      });
      const res = await fetch(`${url}/eval`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          form: 'import { double } from "./src/double.ts";\ndouble(21)',
          timeout: 10_000,
        }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "ok", value: 42 });
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      if (child.exitCode === null) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
