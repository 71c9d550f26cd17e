import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalEngine } from "../lab-runtime/eval/engine.ts";
import { MATH, workspace } from "./workspace.ts";

let ws: Awaited<ReturnType<typeof workspace>>;
let engine: EvalEngine;

beforeAll(async () => {
  ws = await workspace({
    "src/math.ts": MATH,
    "src/sum.ts":
      'import { add } from "./math.ts";\nexport const sum = (xs: number[]): number => xs.reduce(add, 0);\n',
  });
  engine = new EvalEngine({ workspace: ws.root });
});
afterAll(async () => {
  await engine?.close();
  await ws?.remove();
});

describe("the eval engine evaluates TypeScript forms against the workspace", () => {
  it("imports a module and returns the value of the last expression", async () => {
    expect(await engine.eval('import { sum } from "./src/sum.ts";\nsum([1, 2, 3, 4])')).toEqual({
      status: "ok",
      value: 10,
    });
  });

  it("reports a thrown error as data, not as a crash", async () => {
    const res = await engine.eval('throw new RangeError("out of range")');
    expect(res.status).toBe("error");
    expect(JSON.stringify(res)).toContain("out of range");
    expect(await engine.eval("1 + 1")).toEqual({ status: "ok", value: 2 });
  });
});
