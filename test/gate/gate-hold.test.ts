import { describe, expect, it } from "vitest";
import type { GenerationRecord } from "../../schemas/generation-record.ts";
import { ConflictError } from "../../src/supervisor/errors.ts";
import { toHttpError } from "../../src/supervisor/server/error-status.ts";
import { assertGateRule, isHeldForPerson } from "../../src/supervisor/verify/gate-hold.ts";
import { passedVerification } from "../supervisor/passed-verification.ts";

const touched = {
  touched: true,
  files: ["src/supervisor/verify/fitness.ts", "test/supervisor/verify/fitness.test.ts"],
};
const untouched = { touched: false, files: [] };

const record = (over: Partial<GenerationRecord> = {}, gate = touched): GenerationRecord => {
  const v = passedVerification("a".repeat(40), "b".repeat(40));
  return {
    version: 1,
    generation: 3,
    parent: null,
    branch: "lab/gen-3",
    programHash: "c".repeat(64),
    outcome: "verifying",
    reason: null,
    createdAt: "2026-01-01T00:00:00.000Z",
    finishedAt: null,
    containerId: null,
    tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    fitness: null,
    verification: { ...v, mechanical: { ...v.mechanical, gate } },
    ...over,
  };
};

describe("assertGateRule", () => {
  it("holds a gate change without approval (undefined or false), naming the files and the way out", () => {
    for (const approval of [undefined, false]) {
      let caught: unknown;
      try {
        assertGateRule(3, touched, approval);
      } catch (err) {
        caught = err;
      }
      // The domain's refusal, which the HTTP edge answers with 409.
      expect(caught, String(approval)).toBeInstanceOf(ConflictError);
      expect(caught, String(approval)).toMatchObject({ code: "GATE_CHANGE_HELD" });
      expect(toHttpError(caught)).toMatchObject({ status: 409, code: "GATE_CHANGE_HELD" });
      const message = (caught as Error).message;
      expect(message).toContain("src/supervisor/verify/fitness.ts, test/supervisor/verify/fitness.test.ts");
      expect(message).toContain('"approveGateChange": true');
      expect(message).toContain("POST /rollback");
    }
  });

  it("lets an approved gate change and an unapproved ordinary one through", () => {
    expect(() => assertGateRule(3, touched, true)).not.toThrow();
    expect(() => assertGateRule(3, untouched, undefined)).not.toThrow();
  });

  it("refuses any approval field for a generation that does not touch the gate", () => {
    for (const approval of [true, false]) {
      expect(() => assertGateRule(4, untouched, approval)).toThrow(
        expect.objectContaining({ code: "GATE_APPROVAL_UNEXPECTED" }),
      );
      try {
        assertGateRule(4, untouched, approval);
      } catch (err) {
        expect(toHttpError(err).status).toBe(409);
      }
    }
    expect(() => assertGateRule(4, untouched, true)).toThrow(/generation 4 does not change the gate/);
  });
});

describe("isHeldForPerson", () => {
  it("is a verifying, passed generation whose verified diff touches the gate", () => {
    expect(isHeldForPerson(record())).toBe(true);
    expect(isHeldForPerson(record({}, untouched))).toBe(false);
    expect(isHeldForPerson(record({ outcome: "promoted", finishedAt: "2026-01-01T00:00:01.000Z" }))).toBe(
      false,
    );
    const r = record();
    expect(isHeldForPerson({ ...r, verification: { ...r.verification!, passed: false } })).toBe(false);
    expect(isHeldForPerson({ ...r, verification: null })).toBe(false);
    const { gate: _, ...withoutGate } = r.verification!.mechanical;
    expect(isHeldForPerson({ ...r, verification: { ...r.verification!, mechanical: withoutGate } })).toBe(
      false,
    );
  });
});
