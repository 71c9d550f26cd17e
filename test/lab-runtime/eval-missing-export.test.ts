import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabServer, startLabServer } from "../../lab-runtime/server.ts";
import type { EvalResponse, LabStatus } from "../../schemas/index.ts";
import { makeWorkspace } from "./workspace.ts";

const status: LabStatus = { status: "running", progress: "evaluating", error: null, toolCalls: {} };

let ws: Awaited<ReturnType<typeof makeWorkspace>>;
let server: LabServer;

beforeAll(async () => {
  ws = await makeWorkspace({
    "src/x.ts": "export const gone = (): string => 'here';\nexport const other = 1;\n",
    "src/uses-x.ts": 'import { gone } from "./x.ts";\nexport const viaUse = (): string => gone();\n',
    "src/legacy.cjs": "exports.hello = () => 'cjs';\n",
    "src/ring-a.ts": 'import { bee } from "./ring-b.ts";\nexport const ay = (): string => "a" + bee();\n',
    "src/ring-b.ts":
      'import { ay } from "./ring-a.ts";\nexport const bee = (): string => "b";\nexport const both = () => ay();\n',
  });
  server = await startLabServer({ workspace: ws.root, port: 0, status: () => status, evalTimeoutMs: 5_000 });
});

afterAll(async () => {
  await server?.close();
  await ws?.remove();
});

/** POST /eval over real HTTP to the Lab's server. */
async function evalForm(form: string): Promise<EvalResponse> {
  const res = await fetch(`${server.url}/eval`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ form }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as EvalResponse;
}

describe("POST /eval: an import of an export that does not exist fails, as Node's loader does", () => {
  it("fails at import time after the export was renamed, naming the export and the module", async () => {
    expect(await evalForm(`import { gone } from "./src/x"; gone()`)).toEqual({ status: "ok", value: "here" });
    await ws.write("src/x.ts", "export const renamed = (): string => 'here';\nexport const other = 1;\n");
    const form = `import { gone } from "./src/x";\n(globalThis as any).__formRan = true;\ngone`;
    const res = await evalForm(form);
    expect(res.status).toBe("error");
    expect(res.message).toContain("SyntaxError");
    expect(res.message).toContain("does not provide an export named 'gone'");
    expect(res.message).toContain("'./src/x'");
    expect(res.message).toContain("renamed");
    // Linking fails before the form runs: none of its statements did.
    expect(await evalForm("(globalThis as any).__formRan")).toEqual({ status: "ok" });
  });

  it("fails the same way for a module deeper in the graph that imports the missing name", async () => {
    const res = await evalForm(`import { viaUse } from "./src/uses-x"; viaUse()`);
    expect(res.status).toBe("error");
    expect(res.message).toContain("The requested module './x.ts'");
    expect(res.message).toContain("does not provide an export named 'gone'");
  });

  it("still runs what links: named imports that exist, import cycles and CommonJS modules", async () => {
    expect(await evalForm(`import { renamed, other } from "./src/x"; [renamed(), other]`)).toEqual({
      status: "ok",
      value: ["here", 1],
    });
    expect(await evalForm(`import { both } from "./src/ring-b"; both()`)).toEqual({
      status: "ok",
      value: "ab",
    });
    expect(await evalForm(`import { hello } from "./src/legacy.cjs"; hello()`)).toEqual({
      status: "ok",
      value: "cjs",
    });
  });
});
