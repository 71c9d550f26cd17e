import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/shared/config.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { commitFiles, sh } from "../supervisor/git-repo-fixture.ts";
import { passedVerification } from "../supervisor/passed-verification.ts";

const TOKEN = "held-token";
let root: string;
let repo: string;
let sup: Supervisor;
let store: GenerationStore;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-held-"));
  repo = path.join(root, "repo");
  await sh(root, ["init", "-q", "-b", "main", repo]);
  await commitFiles(
    repo,
    {
      "src/supervisor/verify/fitness.ts": "export const gate = 1;\n",
      "src/other.ts": "export const o = 1;\n",
    },
    "initial",
  );
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
  await rm(root, { recursive: true, force: true });
});

/** A verified, review-approved generation whose branch changes `files`, recorded as verification would. */
async function verified(files: Record<string, string>): Promise<number> {
  const { generation: n } = await store.allocate({
    programHash: createHash("sha256").update(JSON.stringify(files)).digest("hex"),
    parent: null,
  });
  await sh(repo, ["checkout", "-q", "-b", `lab/gen-${n}`, "main"]);
  const commit = await commitFiles(repo, files, `gen-${n}`);
  await sh(repo, ["checkout", "-q", "main"]);
  const base = (await sh(repo, ["rev-parse", "main"])).trim();
  const v = passedVerification(commit, base);
  const gateFiles = Object.keys(files).filter((f) => f === "src/supervisor/verify/fitness.ts");
  await store.update(n, { outcome: "running" });
  await store.update(n, { outcome: "verifying" });
  await store.update(n, {
    verification: {
      ...v,
      mechanical: { ...v.mechanical, gate: { touched: gateFiles.length > 0, files: gateFiles } },
    },
  });
  return n;
}

const page = async (route: string): Promise<string> =>
  (await fetch(`${sup.url}${route}`, { headers: { accept: "text/html" } })).text();
const post = (route: string, body: unknown) =>
  fetch(`${sup.url}${route}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("a generation held for a person, on the pages", () => {
  it("the dashboard shows it as touching the gate, with the diff of the gate's files only, until decided", async () => {
    const held = await verified({
      "src/supervisor/verify/fitness.ts": "export const gate = 2; // relaxed\n",
      "src/other.ts": "export const o = 2; // unrelated\n",
    });
    const plain = await verified({ "src/other.ts": "export const o = 3;\n" });
    const html = await page("/");
    expect(html).toContain("Held for a person: touches the gate");
    expect(html).toContain(`data-generation="${held}"`);
    expect(html).toContain("<code>src/supervisor/verify/fitness.ts</code>");
    expect(html).toContain("+export const gate = 2; // relaxed");
    expect(html).not.toContain("unrelated");
    expect(html).toContain('data-approve-gate="true"');
    expect(html).not.toMatch(new RegExp(`class="held" data-generation="${plain}"`));

    const detail = await page(`/generations/${held}`);
    expect(detail).toContain('id="gate-touched"');
    expect(detail).toContain("Approve gate change and promote");
    expect(await page(`/generations/${plain}`)).not.toContain("gate-touched");

    const refused = await post("/promote", { generation: held });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("GATE_CHANGE_HELD");
    expect((await post("/rollback", { generation: held, reason: "not now" })).status).toBe(200);
    expect(await page("/")).not.toContain("Held for a person");
    expect((await post("/promote", { generation: plain })).status).toBe(200);
  });
});
