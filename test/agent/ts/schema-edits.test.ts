import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disposeProjects } from "../../../src/agent/ts/tools/index.ts";
import { copyFixture, refusedEdit } from "./helpers.ts";

/** schemas/ is Loom's fixed points: no structural edit may change it, however the path is spelled. */
let ws: string;
const refused = (name: string, input: unknown, code: string) => refusedEdit(ws, name, input, code);

beforeAll(async () => {
  ws = await copyFixture();
});
afterAll(async () => {
  disposeProjects();
  await rm(ws, { recursive: true, force: true });
});

describe("structural edits under schemas/", () => {
  it("refuses edits to files under schemas/", async () => {
    await mkdir(path.join(ws, "schemas"), { recursive: true });
    await writeFile(
      path.join(ws, "schemas/point.ts"),
      "export function origin(): number {\n  return 0;\n}\n",
    );
    const msg = await refused(
      "ts_replace_body",
      { path: "schemas/point.ts#origin", body: "return 1;" },
      "TS_SCHEMA_FIXED",
    );
    expect(msg).toContain("fixed points");
    await refused("ts_remove_declaration", { path: "schemas/point.ts#origin" }, "TS_SCHEMA_FIXED");
  });

  it("refuses edits to schemas/ through a symlinked alias of the folder", async () => {
    await mkdir(path.join(ws, "schemas"), { recursive: true });
    await writeFile(
      path.join(ws, "schemas/point.ts"),
      "export function origin(): number {\n  return 0;\n}\n",
    );
    await symlink("schemas", path.join(ws, "shapes-alias"));
    await refused(
      "ts_replace_body",
      { path: "shapes-alias/point.ts#origin", body: "return 1;" },
      "TS_SCHEMA_FIXED",
    );
    expect(await readFile(path.join(ws, "schemas/point.ts"), "utf8")).toContain("return 0;");
  });
});
