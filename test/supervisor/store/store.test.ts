import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GenerationRecord } from "../../../schemas/generation-record.ts";
import { formatGenerations } from "../../../src/supervisor/store/format-generations.ts";
import { GenerationStore } from "../../../src/supervisor/store/generation-store.ts";
import { migrate } from "../../../src/supervisor/store/migrate.ts";
import { StoreError } from "../../../src/supervisor/store/store-error.ts";

const HASH = "a".repeat(64);
let stateDir: string;

beforeEach(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "loom-store-"));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<StoreError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

describe("GenerationStore", () => {
  it("allocates pending records with validated files and a lineage line", async () => {
    const store = await GenerationStore.open(stateDir);
    const rec = await store.allocate({ programHash: HASH, parent: null });
    expect(rec).toMatchObject({ version: 1, generation: 1, branch: "lab/gen-1", outcome: "pending" });
    const onDisk = JSON.parse(await readFile(path.join(stateDir, "generations", "gen-1.json"), "utf8"));
    expect(GenerationRecord.parse(onDisk)).toEqual(rec);
    expect(await store.get(1)).toEqual(rec);
    expect(await store.get(2)).toBeUndefined();
    const lines = (await readFile(store.lineageFile, "utf8")).trim().split("\n");
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { version: 1, at: expect.any(String), generation: 1, outcome: "pending", reason: null },
    ]);
  });

  it("gives concurrent allocations distinct, consecutive numbers, also across two handles", async () => {
    const a = await GenerationStore.open(stateDir);
    const b = await GenerationStore.open(stateDir);
    const recs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).allocate({ programHash: HASH, parent: null })),
    );
    expect(recs.map((r) => r.generation).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await a.list()).map((r) => r.generation)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("survives a reopen and never reuses a number, even when the record file was deleted", async () => {
    const first = await GenerationStore.open(stateDir);
    await first.allocate({ programHash: HASH, parent: null });
    await first.allocate({ programHash: HASH, parent: null });
    await unlink(path.join(stateDir, "generations", "gen-2.json"));
    const reopened = await GenerationStore.open(stateDir);
    expect((await reopened.list()).map((r) => r.generation)).toEqual([1]);
    expect((await reopened.allocate({ programHash: HASH, parent: 1 })).generation).toBe(3);
  });

  it("continues after the highest record when the counter file is missing", async () => {
    const store = await GenerationStore.open(stateDir);
    for (let i = 0; i < 3; i++) await store.allocate({ programHash: HASH, parent: null });
    await unlink(path.join(stateDir, "next-generation"));
    expect((await store.allocate({ programHash: HASH, parent: null })).generation).toBe(4);
  });

  it("walks a generation through its life and logs each state change", async () => {
    const store = await GenerationStore.open(stateDir);
    await store.allocate({ programHash: HASH, parent: null });
    await store.update(1, { outcome: "running", containerId: "c1" });
    await store.update(1, { tokens: { input: 5, output: 7, cacheRead: 0, cacheWrite: 0 } });
    await store.update(1, { outcome: "verifying" });
    const done = await store.update(1, { outcome: "promoted", fitness: 0.9 });
    expect(done.finishedAt).not.toBeNull();
    expect(done.containerId).toBe("c1");
    expect((await store.latestPromoted())?.generation).toBe(1);
    expect((await store.lineage()).map((e) => e.outcome)).toEqual([
      "pending",
      "running",
      "verifying",
      "promoted",
    ]);
  });

  it("refuses illegal transitions and leaves the record unchanged", async () => {
    const store = await GenerationStore.open(stateDir);
    await store.allocate({ programHash: HASH, parent: null });
    const skip = await rejection(store.update(1, { outcome: "promoted" }));
    expect(skip.code).toBe("ILLEGAL_TRANSITION");
    expect(skip.message).toMatch(/pending to promoted; allowed: pending, running/);
    await store.update(1, { outcome: "failed", reason: "lab crashed" });
    const frozen = await rejection(store.update(1, { outcome: "running" }));
    expect(frozen.code).toBe("ILLEGAL_TRANSITION");
    expect(frozen.message).toMatch(/is failed, which is final/);
    const noChange = await rejection(store.update(1, { fitness: 1 }));
    expect(noChange.code).toBe("ILLEGAL_TRANSITION");
    expect((await store.get(1))?.outcome).toBe("failed");
  });

  it("reverts a promotion only through revertPromotion, with a reason, and logs it", async () => {
    const store = await GenerationStore.open(stateDir);
    await store.allocate({ programHash: HASH, parent: null });
    await store.update(1, { outcome: "running" });
    await store.update(1, { outcome: "verifying" });
    // Not yet promoted: nothing to revert.
    expect((await rejection(store.revertPromotion(1, "why"))).code).toBe("ILLEGAL_TRANSITION");
    await store.update(1, { outcome: "promoted" });
    // The ordinary update still treats promoted as final.
    expect((await rejection(store.update(1, { outcome: "rolled_back", reason: "x" }))).code).toBe(
      "ILLEGAL_TRANSITION",
    );
    expect((await rejection(store.revertPromotion(1, "  "))).code).toBe("INVALID_INPUT");
    const reverted = await store.revertPromotion(1, "Prime on the new main failed its health check");
    expect(reverted.outcome).toBe("rolled_back");
    expect(reverted.reason).toBe("Prime on the new main failed its health check");
    expect(GenerationRecord.parse(await store.get(1))).toEqual(reverted);
    expect(await store.latestPromoted()).toBeUndefined();
    expect((await store.lineage()).map((e) => e.outcome)).toEqual([
      "pending",
      "running",
      "verifying",
      "promoted",
      "rolled_back",
    ]);
    // Reverted once is final.
    expect((await rejection(store.revertPromotion(1, "again"))).code).toBe("ILLEGAL_TRANSITION");
  });

  it("validates the patched result and the patch keys", async () => {
    const store = await GenerationStore.open(stateDir);
    await store.allocate({ programHash: HASH, parent: null });
    await store.update(1, { outcome: "running" });
    const noReason = await rejection(store.update(1, { outcome: "rolled_back" }));
    expect(noReason.code).toBe("RECORD_INVALID");
    expect(noReason.message).toMatch(/needs a reason/);
    const identity = await rejection(store.update(1, { generation: 5 } as never));
    expect(identity.code).toBe("RECORD_INVALID");
    expect(identity.message).toMatch(/patchable: outcome/);
    expect((await rejection(store.update(9, { outcome: "running" }))).code).toBe("NOT_FOUND");
    expect((await rejection(store.update(0, { outcome: "running" }))).code).toBe("INVALID_GENERATION");
    expect((await store.get(1))?.outcome).toBe("running");
    expect((await store.lineage()).map((e) => e.outcome)).toEqual(["pending", "running"]);
  });

  it("refuses a bad allocation without spending a number", async () => {
    const store = await GenerationStore.open(stateDir);
    const bad = await rejection(store.allocate({ programHash: "nope", parent: null }));
    expect(bad.code).toBe("RECORD_INVALID");
    expect(bad.message).toMatch(/programHash/);
    expect((await store.allocate({ programHash: HASH, parent: null })).generation).toBe(1);
  });

  it("allocates a round: consecutive generations, one round number, candidates in order; rounds only grow", async () => {
    const store = await GenerationStore.open(stateDir);
    await store.allocate({ programHash: HASH, parent: null });
    const candidates = [
      { index: 1, of: 2, model: "a" },
      { index: 2, of: 2, model: "b", hint: "smaller" },
    ];
    const first = await store.allocateRound({ programHash: HASH, parent: null, candidates });
    expect(first.round).toBe(1);
    expect(first.records.map((r) => [r.generation, r.round, r.candidate])).toEqual([
      [2, 1, candidates[0]],
      [3, 1, candidates[1]],
    ]);
    for (const r of first.records) expect(await store.get(r.generation)).toEqual(r);
    // A reopened store, and one whose round counter was lost, still never reuses a round.
    const again = await GenerationStore.open(stateDir);
    const one = [{ index: 1, of: 1 }];
    expect((await again.allocateRound({ programHash: HASH, parent: null, candidates: one })).round).toBe(2);
    await unlink(path.join(stateDir, "next-round"));
    expect((await again.allocateRound({ programHash: HASH, parent: null, candidates: one })).round).toBe(3);
    await writeFile(path.join(stateDir, "next-round"), "zero\n");
    const corrupt = await rejection(
      again.allocateRound({ programHash: HASH, parent: null, candidates: one }),
    );
    expect(corrupt.code).toBe("COUNTER_CORRUPT");
    expect(corrupt.message).toMatch(/expected the next round number/);
  });

  it("refuses a bad round before writing anything", async () => {
    const store = await GenerationStore.open(stateDir);
    const empty = await rejection(store.allocateRound({ programHash: HASH, parent: null, candidates: [] }));
    expect(empty.code).toBe("INVALID_INPUT");
    const gap = await rejection(
      store.allocateRound({
        programHash: HASH,
        parent: null,
        candidates: [
          { index: 1, of: 2 },
          { index: 1, of: 2 },
        ],
      }),
    );
    expect(gap.message).toMatch(/candidate 2 is given as 1 of 2/);
    const invalid = await rejection(
      store.allocateRound({ programHash: HASH, parent: null, candidates: [{ index: 1, of: 1, hint: " " }] }),
    );
    expect(invalid).toMatchObject({ code: "RECORD_INVALID" });
    expect(invalid.message).toMatch(/hint: a hint must not be empty/);
    expect(await store.list()).toEqual([]);
    expect(
      (await store.allocateRound({ programHash: HASH, parent: null, candidates: [{ index: 1, of: 1 }] }))
        .round,
    ).toBe(1);
  });

  it("lists in-progress records for restart reaping", async () => {
    const store = await GenerationStore.open(stateDir);
    for (let i = 0; i < 3; i++) await store.allocate({ programHash: HASH, parent: null });
    await store.update(2, { outcome: "aborted", reason: "stopped" });
    await store.update(3, { outcome: "running" });
    expect((await store.inProgress()).map((r) => [r.generation, r.outcome])).toEqual([
      [1, "pending"],
      [3, "running"],
    ]);
    expect(await store.latestPromoted()).toBeUndefined();
  });

  it("fails loudly, naming the file, on a torn record, an unknown version or a garbage counter", async () => {
    const store = await GenerationStore.open(stateDir);
    await store.allocate({ programHash: HASH, parent: null });
    const file = path.join(stateDir, "generations", "gen-1.json");
    const good = await readFile(file, "utf8");

    await writeFile(file, good.slice(0, 40));
    const torn = await rejection(store.list());
    expect(torn.code).toBe("RECORD_CORRUPT");
    expect(torn.message).toContain(file);

    await writeFile(file, JSON.stringify({ ...JSON.parse(good), version: 2 }));
    const newer = await rejection(store.get(1));
    expect(newer.code).toBe("RECORD_VERSION_UNSUPPORTED");
    expect(newer.message).toMatch(/version 2 .*upgrade Loom/);

    await writeFile(file, JSON.stringify({ ...JSON.parse(good), outcome: "exploded" }));
    const invalid = await rejection(store.inProgress());
    expect(invalid.code).toBe("RECORD_CORRUPT");
    expect(invalid.message).toMatch(/outcome/);

    await writeFile(file, good);
    await writeFile(path.join(stateDir, "next-generation"), "banana");
    const counter = await rejection(store.allocate({ programHash: HASH, parent: null }));
    expect(counter.code).toBe("COUNTER_CORRUPT");
    expect(counter.message).toContain("next-generation");
  });

  it("reports a torn lineage line with its line number", async () => {
    const store = await GenerationStore.open(stateDir);
    await store.allocate({ programHash: HASH, parent: null });
    await writeFile(store.lineageFile, `${await readFile(store.lineageFile, "utf8")}{"version":1,"at`);
    const err = await rejection(store.lineage());
    expect(err.code).toBe("LINEAGE_CORRUPT");
    expect(err.message).toContain("line 2");
  });
});

describe("migrate", () => {
  it("passes v1 through and rejects non-objects and bad versions", () => {
    expect(migrate({ version: 1, x: 1 })).toEqual({ version: 1, x: 1 });
    expect(() => migrate([])).toThrow(/not a JSON object/);
    expect(() => migrate({ version: "1" })).toThrow(/expected an integer from 1 to 1/);
  });
});

describe("formatGenerations", () => {
  it("renders aligned rows with flattened, shortened reasons", async () => {
    const store = await GenerationStore.open(stateDir);
    await store.allocate({ programHash: HASH, parent: null });
    await store.allocate({ programHash: HASH, parent: 1 });
    await store.update(2, { outcome: "failed", reason: `tests\nfailed ${"x".repeat(100)}` });
    const text = formatGenerations(await store.list());
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^GEN\s+OUTCOME\s+PARENT\s+CREATED\s+DURATION\s+TOKENS\s+FITNESS\s+REASON$/);
    expect(lines[1]).toMatch(/^1\s+pending\s+-\s/);
    expect(lines[2]).toMatch(/^2\s+failed\s+1\s.*tests failed x+…$/);
    expect(lines[1]?.indexOf("pending")).toBe(lines[0]?.indexOf("OUTCOME"));
    expect(formatGenerations([])).toBe("No generations yet.\n");
  });
});
