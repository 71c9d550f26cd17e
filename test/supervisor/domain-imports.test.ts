import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SUPERVISOR = fileURLToPath(new URL("../../src/supervisor/", import.meta.url));
const DOMAIN = ["lifecycle", "verify", "store", "git"];
/** The transport: the domain throws its own errors (src/supervisor/errors.ts) and never these. */
const FORBIDDEN = [
  path.resolve(SUPERVISOR, "server"),
  path.resolve(fileURLToPath(new URL("../../src/shared/http", import.meta.url))),
];

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Every module specifier of a file: static imports and re-exports (type-only ones too) and dynamic imports. */
function specifiers(text: string): string[] {
  const found = [
    ...text.matchAll(/\b(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']/g),
    ...text.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g),
    ...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
  ];
  return found.map((m) => m[1] as string);
}

describe("the Supervisor's domain knows nothing of HTTP", () => {
  it("finds the specifiers the scan relies on (type-only, re-export, dynamic, multi-line)", () => {
    const text = [
      'import type { A } from "../server/api.ts";',
      "import {\n  B,\n  C,\n} from '../server/x.ts';",
      'export { D } from "../server/d.ts";',
      'const m = await import("../server/e.ts");',
      'import "../server/side.ts";',
    ].join("\n");
    expect(specifiers(text)).toEqual([
      "../server/api.ts",
      "../server/x.ts",
      "../server/d.ts",
      "../server/e.ts",
      "../server/side.ts",
    ]);
  });

  it(`no module under ${DOMAIN.join(", ")} imports from server/ or shared/http/`, async () => {
    const offenders: string[] = [];
    let scanned = 0;
    for (const folder of DOMAIN) {
      for (const file of await sources(path.join(SUPERVISOR, folder))) {
        scanned++;
        for (const spec of specifiers(await readFile(file, "utf8"))) {
          if (!spec.startsWith(".")) continue;
          const target = path.resolve(path.dirname(file), spec);
          if (FORBIDDEN.some((dir) => target === dir || target.startsWith(`${dir}${path.sep}`))) {
            offenders.push(`${path.relative(SUPERVISOR, file)} imports ${spec}`);
          }
        }
      }
    }
    expect(scanned).toBeGreaterThan(20);
    expect(offenders).toEqual([]);
  });
});
