import { describe, expect, it } from "vitest";
import { LoomError } from "../../src/shared/errors.ts";
import {
  ConflictError,
  generationNotFound,
  InvalidInputError,
  NotFoundError,
  ShuttingDownError,
} from "../../src/supervisor/errors.ts";
import { GitOpError } from "../../src/supervisor/git/git-op-error.ts";
import { HTTP_STATUS, toHttpError } from "../../src/supervisor/server/error-status.ts";
import { StoreError } from "../../src/supervisor/store/store-error.ts";

describe("the one table from domain errors to HTTP", () => {
  it("answers each domain refusal with its status, code and message", () => {
    const cases: [Error, number, string][] = [
      [generationNotFound(7), 404, "GENERATION_NOT_FOUND"],
      [new NotFoundError("DIFF_NOT_FOUND", "no diff"), 404, "DIFF_NOT_FOUND"],
      [new ConflictError("VERIFY_RUNNING", "busy"), 409, "VERIFY_RUNNING"],
      [new ConflictError("GATE_CHANGE_HELD", "held"), 409, "GATE_CHANGE_HELD"],
      [new InvalidInputError("INVALID_GENERATION", "bad"), 400, "INVALID_GENERATION"],
      [new ShuttingDownError("stopping"), 503, "SHUTTING_DOWN"],
      [new StoreError("ILLEGAL_TRANSITION", "final"), 409, "ILLEGAL_TRANSITION"],
      [new StoreError("NOT_FOUND", "gone"), 404, "NOT_FOUND"],
      [new GitOpError("MERGE_CONFLICT", "conflict"), 409, "MERGE_CONFLICT"],
      [new GitOpError("CLONE_FAILED", "clone"), 500, "CLONE_FAILED"],
    ];
    for (const [err, status, code] of cases) {
      expect(toHttpError(err), code).toMatchObject({ status, code, message: err.message });
    }
    expect(generationNotFound(7).message).toBe("generation 7 does not exist; GET /generations lists them");
  });

  it("keeps every conflict code on 409 and every not-found code on 404", () => {
    for (const code of [
      "GENERATION_RUNNING",
      "NOT_VERIFYING",
      "NOT_VERIFIED",
      "GATE_APPROVAL_UNEXPECTED",
    ] as const)
      expect(HTTP_STATUS[code]).toBe(409);
    expect(HTTP_STATUS.DIFF_NOT_FOUND).toBe(404);
  });

  it("answers an unknown failure 500 without its stack, and an unlisted LoomError 500 with its code", () => {
    const plain = toHttpError(new TypeError("x is undefined"));
    expect(plain).toMatchObject({ status: 500, code: "INTERNAL" });
    expect(plain.message).toBe("the Supervisor failed: x is undefined");
    expect(toHttpError(new LoomError("UNSAFE_BIND", "no"))).toMatchObject({
      status: 500,
      code: "UNSAFE_BIND",
    });
    expect(toHttpError(new LoomError("not a code", "no"))).toMatchObject({ status: 500, code: "INTERNAL" });
  });
});
