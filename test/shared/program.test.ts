import { describe, expect, it } from "vitest";
import { LoomError } from "../../src/shared/errors.ts";
import { type ProgramContract, parseProgram, renderProgram } from "../../src/shared/program.ts";

const contract: ProgramContract = {
  task: "Add a cache to the file reader",
  objective: "Repeated reads of an unchanged file should not hit the disk.\n\nKeep the API as is.",
  files: ["src/agent/tools/read-file.ts", "test/read-file.test.ts"],
  acceptanceCriteria: ["A second read of an unchanged file does no I/O", "`npm test` passes"],
  constraints: ["Do not touch schemas/", "No new dependencies"],
};

const errorOf = (fn: () => unknown): LoomError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof LoomError) return err;
    throw err;
  }
  throw new Error("expected a LoomError");
};

describe("renderProgram / parseProgram", () => {
  it("renders the canonical headings in order", () => {
    const md = renderProgram(contract);
    const headings = md.split("\n").filter((l) => l.startsWith("#"));
    expect(headings).toEqual([
      "# Task",
      "## Objective",
      "## Files",
      "## Acceptance criteria",
      "## Constraints",
    ]);
    expect(md).toContain("- src/agent/tools/read-file.ts\n- test/read-file.test.ts\n");
  });

  it("round-trips contracts, including multi-line items and markdown in text", () => {
    const tricky: ProgramContract = {
      task: "Fix `parse()`",
      objective:
        "Some text.\n\n```sh\n# not a heading\nnpm test\n```\n\n### Background\nStill the objective.",
      files: ["a.ts"],
      acceptanceCriteria: ["first line\ncontinued line", "- starts with a dash", "3. looks numbered"],
      constraints: ["none"],
    };
    for (const c of [contract, tricky]) {
      expect(parseProgram(renderProgram(c))).toEqual(c);
    }
  });

  it("is tolerant of heading level, case, trailing colons and list markers", () => {
    const md = [
      "Preamble that belongs to no section.",
      "",
      "## TASK:",
      "Add a cache",
      "",
      "# objective",
      "Fewer reads.",
      "",
      "### files",
      "* src/a.ts",
      "+ src/b.ts",
      "",
      "#### Acceptance Criteria",
      "1. reads are cached",
      "2) the cache is invalidated",
      "   when the mtime changes",
      "",
      "## constraints",
      "- no deps",
    ].join("\r\n");
    expect(parseProgram(md)).toEqual({
      task: "Add a cache",
      objective: "Fewer reads.",
      files: ["src/a.ts", "src/b.ts"],
      acceptanceCriteria: ["reads are cached", "the cache is invalidated\nwhen the mtime changes"],
      constraints: ["no deps"],
    });
  });

  it("accepts the task on the heading line and plain lines as list items", () => {
    const md =
      "# Task: Add a cache\n## Objective\nx\n## Files\nsrc/a.ts\nsrc/b.ts\n## Acceptance criteria\n- y\n## Constraints\n- z\n";
    const c = parseProgram(md);
    expect(c.task).toBe("Add a cache");
    expect(c.files).toEqual(["src/a.ts", "src/b.ts"]);
  });

  it("ends a section at an unknown heading of the same or higher level", () => {
    const md = `${renderProgram(contract)}\n## Notes\n- not a constraint\n`;
    expect(parseProgram(md).constraints).toEqual(contract.constraints);
  });

  it("names every missing section and the accepted headings", () => {
    const err = errorOf(() => parseProgram("# Task\nDo it\n## Files\n- a.ts\n"));
    expect(err.code).toBe("PROGRAM_INVALID");
    expect(err.message).toContain("missing sections: ## Objective, ## Acceptance criteria, ## Constraints");
    expect(err.message).toContain('"# Task"');
    expect(err.message).not.toContain("## Files,");
  });

  it("names empty sections, including a list section with only blank lines", () => {
    const md = renderProgram(contract).replace("- Do not touch schemas/\n- No new dependencies\n", "\n\n");
    const err = errorOf(() => parseProgram(md.replace("Add a cache to the file reader", "   ")));
    expect(err.message).toContain("empty sections: # Task, ## Constraints");
  });

  it("refuses a duplicated section instead of guessing which one counts", () => {
    const md = `${renderProgram(contract)}\n## Files\n- other.ts\n`;
    expect(() => parseProgram(md)).toThrow(/duplicated sections: ## Files/);
  });

  it("refuses to render an invalid contract, naming the field", () => {
    const bad = { ...contract, files: [] };
    expect(() => renderProgram(bad)).toThrow(/files: .*Every section needs/);
    expect(errorOf(() => renderProgram({ ...contract, task: "" })).code).toBe("PROGRAM_INVALID");
  });
});
