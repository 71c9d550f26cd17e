import { createHash } from "node:crypto";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labTools } from "../src/agent/catalog.ts";
import { labToolsAround } from "../src/agent/lab-catalog.ts";
import type { Tool } from "../src/agent/tool.ts";
import { resolveInWorkspace } from "../src/agent/tools/paths.ts";
import { loadConfig } from "../src/shared/config.ts";
import { LocalRuntime } from "../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../src/supervisor/supervisor.ts";
import { fixedPoints, testCountShortfall } from "../src/supervisor/verify/mechanical.ts";

/**
 * The gate's contract for verification, promotion, the Lab's catalog and path confinement, pinned on
 * the candidate's own code in a suite no Lab can change. Real git, a real Supervisor over HTTP.
 */
const git = async (cwd: string, args: string[]): Promise<string> =>
  (
    await execa("git", ["-c", "user.name=Gate", "-c", "user.email=gate@loom.invalid", ...args], {
      cwd,
      stdin: "ignore",
    })
  ).stdout.trim();

async function write(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
}

let root: string;
let repo: string;
/** Commits `files` on a new lab/gen-N off main, as a fetched Lab branch would be; returns its sha. */
async function labBranch(n: number, files: Record<string, string>): Promise<string> {
  await git(repo, ["checkout", "-q", "-b", `lab/gen-${n}`, "main"]);
  await write(repo, { "program.md": `# Task ${n}\n`, ...files });
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "--no-verify", "-m", `gen-${n}`]);
  const sha = await git(repo, ["rev-parse", "HEAD"]);
  await git(repo, ["checkout", "-q", "main"]);
  return sha;
}

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), "loom-gate-")));
  repo = path.join(root, "repo");
  await write(repo, {
    "README.md": "# repo\n",
    "schemas/thing.ts": "export const thing = 1;\n",
    "acceptance/contract.test.ts": "// frozen\n",
    "src/supervisor/verify/fitness.ts": "export const gate = true;\n",
  });
  await git(repo, ["init", "-q", "-b", "main"]);
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "-m", "initial"]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("verification refuses a branch that changes schemas/ or acceptance/, or passes fewer tests", () => {
  it("a change to schemas/ fails the schema fixed point", async () => {
    const sha = await labBranch(1, { "schemas/thing.ts": "export const thing = 2;\n" });
    const failures: string[] = [];
    const fixed = await fixedPoints(repo, 1, sha, failures);
    expect(fixed.schemaFingerprintOk).toBe(false);
    expect(failures.join("\n")).toMatch(/^schemas: /m);
  });

  it("a change to acceptance/, or a file added there, fails the acceptance fixed point", async () => {
    for (const [n, files] of [
      [2, { "acceptance/contract.test.ts": "// weakened\n" }],
      [3, { "acceptance/extra.test.ts": "// added\n" }],
    ] as const) {
      const sha = await labBranch(n, files);
      const failures: string[] = [];
      const fixed = await fixedPoints(repo, n, sha, failures);
      expect(fixed.unchanged).toBe(false);
      expect(fixed.present).toBe(true);
      expect(failures.join("\n")).toMatch(/^acceptance: /m);
    }
  });

  it("a branch changing neither passes both fixed points; one touching the gate is marked, not failed", async () => {
    const clean = await labBranch(4, { "src/other.ts": "export {};\n" });
    const failures: string[] = [];
    expect(await fixedPoints(repo, 4, clean, failures)).toMatchObject({
      schemaFingerprintOk: true,
      unchanged: true,
      gate: { touched: false, files: [] },
    });
    const gate = await labBranch(5, { "src/supervisor/verify/fitness.ts": "export const gate = false;\n" });
    expect(await fixedPoints(repo, 5, gate, failures)).toMatchObject({
      gate: { touched: true, files: ["src/supervisor/verify/fitness.ts"] },
    });
    expect(failures).toEqual([]);
  });

  it("fewer passing tests than main is a failure; as many or more is not", () => {
    const base = "c".repeat(40);
    expect(testCountShortfall(9, 10, base, { summaryMissing: false })).toMatch(
      /9 passing test\(s\), fewer than the 10/,
    );
    expect(testCountShortfall(0, 1, base, { summaryMissing: true })).toMatch(/no test summary/);
    expect(testCountShortfall(10, 10, base, { summaryMissing: false })).toBeUndefined();
    expect(testCountShortfall(11, 10, base, { summaryMissing: false })).toBeUndefined();
  });
});

describe("promote refuses an unverified generation, and a gate change without a person's approval", () => {
  let sup: Supervisor;
  let store: GenerationStore;
  const TOKEN = "gate-token";
  beforeAll(async () => {
    const config = loadConfig({
      cwd: root,
      env: {
        LOOM_REPO_PATH: repo,
        LOOM_STATE_DIR: path.join(root, "state"),
        LOOM_RUNTIME: "local",
        LOOM_SUPERVISOR_TOKEN: TOKEN,
      },
    });
    store = await GenerationStore.open(config.stateDir);
    sup = await startSupervisor({
      config,
      runtime: new LocalRuntime({ stateDir: config.stateDir }),
      port: 0,
      log: () => {},
    });
  });
  afterAll(async () => {
    await sup?.close();
  });

  async function verifying(n: number): Promise<void> {
    const rec = await store.allocate({
      programHash: createHash("sha256").update(`p${n}`).digest("hex"),
      parent: null,
    });
    expect(rec.generation).toBe(n);
    await store.update(n, { outcome: "running" });
    await store.update(n, { outcome: "verifying" });
  }
  async function verified(n: number, passed: boolean): Promise<void> {
    const commit = await git(repo, ["rev-parse", `lab/gen-${n}`]);
    const base = await git(repo, ["merge-base", "main", commit]);
    const step = { passed: true, exitCode: 0, output: "", durationMs: 1 };
    await store.update(n, {
      verification: {
        passed,
        mechanical: {
          passed,
          commit,
          base,
          install: null,
          check: step,
          tests: { ...step, testCount: 1 },
          baselineTestCount: 1,
          schemaFingerprintOk: true,
          acceptance: { present: true, unchanged: true, run: step },
          failures: passed ? [] : ["tests: made to fail"],
          durationMs: 1,
        },
        review: {
          verdict: { approved: passed, issues: [], confidence: 1, summary: "s" },
          error: null,
          durationMs: 1,
        },
        fitness: null,
      },
    });
  }
  const promote = async (body: unknown) => {
    const res = await fetch(`${sup.url}/promote`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
  };

  it("409 NOT_VERIFIED without a verification, with a failed one, and with an approval; main unmoved", async () => {
    // Generations 1–5 exist as branches above; their records are made here.
    for (const n of [1, 2, 3, 4, 5]) await verifying(n);
    const main = await git(repo, ["rev-parse", "main"]);
    for (const body of [{ generation: 4 }, { generation: 4, approveGateChange: true }]) {
      const r = await promote(body);
      expect(r.status).toBe(409);
      expect(r.body.error?.code).toBe("NOT_VERIFIED");
    }
    await verified(4, false);
    expect((await promote({ generation: 4 })).body.error?.code).toBe("NOT_VERIFIED");
    expect(await git(repo, ["rev-parse", "main"])).toBe(main);
    expect((await store.get(4))?.outcome).toBe("verifying");
  });

  it("a verified gate change: 409 GATE_CHANGE_HELD until approved; an approval for no gate change: 409", async () => {
    await verified(5, true);
    const held = await promote({ generation: 5 });
    expect(held.status).toBe(409);
    expect(held.body.error?.code).toBe("GATE_CHANGE_HELD");
    expect(held.body.error?.message).toContain("src/supervisor/verify/fitness.ts");
    expect((await promote({ generation: 5, approveGateChange: false })).body.error?.code).toBe(
      "GATE_CHANGE_HELD",
    );
    await verified(4, true);
    const unneeded = await promote({ generation: 4, approveGateChange: true });
    expect(unneeded.status).toBe(409);
    expect(unneeded.body.error?.code).toBe("GATE_APPROVAL_UNEXPECTED");
    const approved = await promote({ generation: 5, approveGateChange: true });
    expect(approved.status).toBe(200);
    expect((await store.get(5))?.outcome).toBe("promoted");
  });
});

describe("a Lab's catalog has no self-modify tool", () => {
  it("no tool of a Lab has the self-modify effect, and the filter drops one handed to it", () => {
    for (const t of labTools()) expect(t.effect, t.name).not.toBe("self-modify");
    const sneaky = { ...labTools()[0], name: "promote_generation", effect: "self-modify" } as Tool;
    const names = labToolsAround([sneaky]).map((t) => t.name);
    expect(names).not.toContain("promote_generation");
    expect(names).toContain("write_file");
  });
});

describe("writes under schemas/ are refused by every path spelling", () => {
  let ws: string;
  beforeAll(async () => {
    ws = path.join(root, "ws");
    await write(ws, {
      "schemas/thing.ts": "export {};\n",
      "src/a.ts": "export {};\n",
      "elsewhere/x.ts": "export {};\n",
    });
    await symlink(path.join(ws, "schemas"), path.join(ws, "alias"));
    await symlink("schemas", path.join(ws, "rel-alias"));
    await symlink(path.join(ws, "schemas", "thing.ts"), path.join(ws, "file-alias.ts"));
  });

  const spellings = (ws: string): string[] => [
    "schemas/thing.ts",
    "schemas/new.ts",
    "schemas",
    "schemas/",
    "schemas/sub/",
    "./schemas/thing.ts",
    "src/../schemas/thing.ts",
    "schemas//thing.ts",
    "schemas/./thing.ts",
    "Schemas/thing.ts",
    "SCHEMAS/new.ts",
    path.join(ws, "schemas", "thing.ts"),
    `${ws}/./schemas/new.ts`,
    "alias/thing.ts",
    "rel-alias/new.ts",
    "file-alias.ts",
  ];

  it("write access: refused with PATH_PROTECTED, whatever the spelling", async () => {
    for (const p of spellings(ws)) {
      await expect(resolveInWorkspace(ws, p, "write"), p).rejects.toMatchObject({ code: "PATH_PROTECTED" });
    }
  });

  it("a schemas/ that is itself a symlink to a folder inside the workspace is refused as written", async () => {
    const other = path.join(root, "ws2");
    await write(other, { "real/thing.ts": "export {};\n" });
    await symlink(path.join(other, "real"), path.join(other, "schemas"));
    for (const p of ["schemas/thing.ts", "./schemas/new.ts", "schemas"]) {
      await expect(resolveInWorkspace(other, p, "write"), p).rejects.toMatchObject({
        code: "PATH_PROTECTED",
      });
    }
    expect((await resolveInWorkspace(other, "real/thing.ts", "read")).relative).toBe("real/thing.ts");
  });

  it("reads stay allowed, and names that only start like schemas are not refused", async () => {
    expect((await resolveInWorkspace(ws, "schemas/thing.ts", "read")).relative).toBe("schemas/thing.ts");
    expect((await resolveInWorkspace(ws, "schemas-notes.md", "write")).relative).toBe("schemas-notes.md");
    expect((await resolveInWorkspace(ws, "src/schemas/x.ts", "write")).relative).toBe("src/schemas/x.ts");
  });
});
