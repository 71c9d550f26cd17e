import { describe, expect, it } from "vitest";
import { allTools, LAB_EFFECTS, labTools } from "../../src/agent/catalog.ts";
import { labCatalog, labToolsAround } from "../../src/agent/lab-catalog.ts";
import type { Tool, ToolEffect, ToolRole } from "../../src/agent/tool.ts";
import { toolManifest } from "../../src/agent/tool-manifest.ts";
import { filterByEffect } from "../../src/agent/tool-registry.ts";

const tool = (name: string, effect: ToolEffect, roles?: readonly ToolRole[]): Tool => ({
  ...labTools()[0]!,
  name,
  effect,
  ...(roles ? { roles } : {}),
});
const names = (tools: readonly Tool[]) => tools.map((t) => t.name);

describe("the Lab's catalog: a filter on effects", () => {
  it("allows read, edit and exec, never self-modify", () => {
    expect([...LAB_EFFECTS].sort()).toEqual(["edit", "exec", "read"]);
  });

  it("keeps each allowed effect and drops self-modify tools handed to it", () => {
    const given = [tool("r", "read"), tool("e", "edit"), tool("x", "exec"), tool("spawn_lab", "self-modify")];
    const names = labToolsAround(given).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["r", "e", "x", "write_file", "read_file", "bash", "eval"]));
    expect(names).not.toContain("spawn_lab");
  });

  it("the Lab's tools are every tool of this build but none of them self-modify", () => {
    const lab = labTools()
      .map((t) => t.name)
      .sort();
    expect(lab).toEqual(
      allTools()
        .map((t) => t.name)
        .sort(),
    );
    expect(lab.length).toBeGreaterThan(5);
    for (const t of labTools()) expect(LAB_EFFECTS).toContain(t.effect);
    expect(labTools({ ts: [] }).some((t) => t.name.startsWith("ts_"))).toBe(false);
    expect(labTools({ ts: [tool("ts_x", "edit")] }).map((t) => t.name)).toContain("ts_x");
  });
});

describe("the Lab's catalog: a filter of the tool manifest on the lab role", () => {
  it("a tool added to the manifest with role lab appears in it; without the role, or self-modify, it does not", () => {
    const manifest = [
      ...toolManifest,
      tool("lab_probe", "read", ["lab"]),
      tool("prime_probe", "read", ["prime"]),
      tool("no_role", "read", []),
      tool("sneaky_spawn", "self-modify", ["lab"]),
    ];
    expect(names(labCatalog(manifest))).toEqual([...names(toolManifest), "lab_probe"]);
    expect(names(labCatalog())).toEqual(names(toolManifest));
  });

  it("the worker-hosted tools are the ones replaced by the twins handed to it", () => {
    const twin = tool("ts_outline", "read", ["lab", "worker"]);
    const around = labToolsAround([twin]);
    expect(around).toContain(twin);
    expect(names(around)).toEqual(["read_file", "write_file", "edit_file", "bash", "eval", "ts_outline"]);
    const foreign = tool("ts_x", "edit", ["prime"]);
    expect(names(labToolsAround([foreign]))).not.toContain("ts_x");
    expect(names(labToolsAround([], [...toolManifest, tool("lab_probe", "read", ["lab"])]))).toContain(
      "lab_probe",
    );
  });
});

describe("filterByEffect", () => {
  it("keeps exactly the tools whose effect is allowed, in order", () => {
    const tools = [tool("a", "read"), tool("b", "self-modify"), tool("c", "exec")];
    expect(filterByEffect(tools, ["read", "exec"]).map((t) => t.name)).toEqual(["a", "c"]);
    expect(filterByEffect(tools, [])).toEqual([]);
    expect(filterByEffect(tools, ["self-modify"]).map((t) => t.name)).toEqual(["b"]);
  });
});
