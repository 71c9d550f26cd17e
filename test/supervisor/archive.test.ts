import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArchiveResponse, ErrorBody, GenerationDiff, GenerationRecord } from "../../schemas/index.ts";
import { SupervisorClient } from "../../src/prime/supervisor-client.ts";
import { archive, archiveRef } from "../../src/supervisor/git/index.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { GenerationStore, IntentJournal } from "../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { sh } from "./git-repo-fixture.ts";
import {
  makeVerifyFixture,
  tests,
  type VerifyFixture,
  verifyingGeneration as verifyingGenerationIn,
} from "./verify-fixture.ts";

/**
 * POST /archive: a candidate that passed what it ran but was not promoted keeps its work as
 * refs/loom/archive/gen-N (a stepping stone), its record `archived` with the reason; one that failed or
 * was never verified is refused, and an archiving killed halfway is finished on the next start.
 */
const TOKEN = "archive-token";
let fx: VerifyFixture;
let sup: Supervisor;
let store: GenerationStore;

const verifyingGeneration = async (files: Record<string, string | null>): Promise<number> =>
  (await verifyingGenerationIn(fx, store, files)).generation;

beforeAll(async () => {
  fx = await makeVerifyFixture();
  const config = fx.config({ LOOM_RUNTIME: "local", LOOM_SUPERVISOR_TOKEN: TOKEN });
  store = await GenerationStore.open(config.stateDir);
  sup = await startSupervisor({
    config,
    runtime: new LocalRuntime({ stateDir: config.stateDir }),
    port: 0,
    log: () => {},
  });
}, 30_000);
afterAll(async () => {
  await sup?.close();
  await fx?.cleanup();
});

const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
async function post(path: string, body: unknown) {
  const res = await fetch(`${sup.url}${path}`, { method: "POST", headers: auth, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as unknown };
}
async function refused(path: string, body: unknown, status: number, code: string): Promise<string> {
  const r = await post(path, body);
  expect(r.status, r.text).toBe(status);
  const e = ErrorBody.parse(r.json).error;
  expect(e.code).toBe(code);
  return e.message;
}
const refsOf = async () =>
  (await sh(fx.repo, ["for-each-ref", "--format=%(refname) %(objectname)"])).split("\n");

describe("POST /archive", () => {
  it("refuses bad bodies, unknown and unverified generations, naming what is accepted", async () => {
    expect(await refused("/archive", { generation: 1 }, 400, "INVALID_BODY")).toMatch(/reason/);
    expect(await refused("/archive", { generation: 0, reason: "x" }, 400, "INVALID_BODY")).toMatch(
      /generation/,
    );
    expect(
      await refused("/archive", { generation: 999, reason: "x" }, 404, "GENERATION_NOT_FOUND"),
    ).toContain("generation 999 does not exist");
    const n = await verifyingGeneration({ "test/never.test.ts": tests(1) });
    expect(await refused("/archive", { generation: n, reason: "x" }, 409, "NOT_ARCHIVABLE")).toBe(
      `generation ${n} has not been verified; only a candidate that passed every stage it ran is archived — roll it back instead (POST /rollback)`,
    );
    expect((await store.get(n))?.outcome).toBe("verifying");
  });

  it("keeps a candidate that passed only its cheap stages as screened (branch kept); verified in full, it is archived: branch moved to refs/loom/archive/gen-N in one step, diff still served", async () => {
    const n = await verifyingGeneration({
      "test/kept.test.ts": tests(2).replaceAll('test("add', 'test("kept'),
    });
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    await client.verify(n, undefined, { through: "reachable" });
    const lab = (await sh(fx.repo, ["rev-parse", `lab/gen-${n}`])).trim();
    const reason = "not promoted: round 1 promoted gen-9; it passed the cheap stages";
    expect(ArchiveResponse.parse(await client.archive(n, reason))).toEqual({
      generation: n,
      outcome: "screened",
      ref: `refs/heads/lab/gen-${n}`,
      reason,
    });
    expect(await refsOf()).toContain(`refs/heads/lab/gen-${n} ${lab}`);
    expect(GenerationRecord.parse(await store.get(n))).toMatchObject({
      outcome: "screened",
      reason,
      finishedAt: null,
    });
    // Not promotable, and not archived before its verification is finished.
    await refused("/promote", { generation: n }, 409, "NOT_VERIFYING");
    expect(await refused("/archive", { generation: n, reason }, 409, "NOT_VERIFYING")).toContain(
      "archived before it is verified in full",
    );

    // Verified in full where it is (what a draw as a parent does), then archived.
    const full = await client.verify(n);
    expect(full).toMatchObject({ passed: true, complete: true });
    const kept = "drawn as a parent: verified in full";
    const answer = ArchiveResponse.parse(await client.archive(n, kept));
    expect(answer).toEqual({
      generation: n,
      outcome: "archived",
      ref: `refs/loom/archive/gen-${n}`,
      reason: kept,
    });
    const refs = await refsOf();
    expect(refs).toContain(`refs/loom/archive/gen-${n} ${lab}`);
    expect(refs.some((r) => r.startsWith(`refs/heads/lab/gen-${n} `))).toBe(false);
    const record = GenerationRecord.parse(await store.get(n));
    expect(record).toMatchObject({ outcome: "archived", reason: kept });
    expect(record.finishedAt).not.toBeNull();
    // Its work can still be read: the diff comes from the archive ref.
    const diff = GenerationDiff.parse(await client.diff(n));
    expect(diff.head).toBe(lab);
    expect(diff.diff).toContain("+++ b/test/kept.test.ts");
    // Final: neither promoted nor archived again.
    await refused("/promote", { generation: n }, 409, "NOT_VERIFYING");
    await refused("/archive", { generation: n, reason }, 409, "NOT_VERIFYING");
  }, 120_000);

  it("refuses a candidate that failed verification: a failure is rolled back, not kept", async () => {
    const n = await verifyingGeneration({
      "test/broken.test.ts": tests(1).replace("add(0, 1), 1", "add(0, 1), 2"),
    });
    const client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
    const v = await client.verify(n);
    expect(v.passed).toBe(false);
    expect(await refused("/archive", { generation: n, reason: "x" }, 409, "NOT_ARCHIVABLE")).toContain(
      `generation ${n} failed verification;`,
    );
  }, 120_000);
});

describe("git archive and an interrupted archiving", () => {
  it("is idempotent and says when there is nothing to archive", async () => {
    const n = await verifyingGeneration({ "test/twice.test.ts": tests(1) });
    const sha = (await sh(fx.repo, ["rev-parse", `lab/gen-${n}`])).trim();
    expect(await archive({ repo: fx.repo, generation: n })).toEqual({ ref: archiveRef(n), commit: sha });
    expect(await archive({ repo: fx.repo, generation: n })).toEqual({ ref: archiveRef(n), commit: sha });
    await expect(archive({ repo: fx.repo, generation: 4242 })).rejects.toMatchObject({
      code: "BRANCH_NOT_FOUND",
      message: expect.stringContaining("neither lab/gen-4242 nor refs/loom/archive/gen-4242"),
    });
    // Leave the record consistent for the restart below: this one is rolled back by hand.
    await store.update(n, { outcome: "rolled_back", reason: "moved by the git test" });
  });

  it("a Supervisor killed after journaling an archiving finishes it on its next start", async () => {
    const n = await verifyingGeneration({ "test/restart.test.ts": tests(1) });
    const journal = await IntentJournal.open(fx.config({}).stateDir);
    await journal.write({ op: "archive", generation: n, reason: "not promoted: killed halfway" });
    await sup.close();
    sup = await startSupervisor({
      config: fx.config({ LOOM_RUNTIME: "local", LOOM_SUPERVISOR_TOKEN: TOKEN }),
      port: 0,
      log: () => {},
    });
    expect(sup.reconciled.actions).toContain(`gen-${n}: the interrupted archiving was completed`);
    expect(await store.get(n)).toMatchObject({ outcome: "archived", reason: "not promoted: killed halfway" });
    expect((await refsOf()).some((r) => r.startsWith(`refs/loom/archive/gen-${n} `))).toBe(true);
  }, 60_000);
});
