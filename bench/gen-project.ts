import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Synthetic TypeScript projects for benchmarks: modules of interfaces, classes and branchy functions
 * importing each other (an acyclic graph), one shared function called from half the files, per-folder
 * index files re-exporting their modules. Deterministic for a given seed, and type-checks cleanly.
 */

export interface GenerateOptions {
  /** Number of module files (index files, the shared util and config files come on top). */
  files: number;
  seed?: number;
  /** Module files per folder. */
  perFolder?: number;
}

export interface GeneratedProject {
  root: string;
  /** Module files, relative to root (posix). */
  modules: string[];
  /** The function called from half the modules: the rename target. */
  shared: { file: string; name: string; usedBy: string[] };
  /**
   * A typical module (the middle one) to edit: every module has `export class Service{i}` and
   * `export function compute{i}`; `importers` counts the modules importing it directly.
   */
  sample: { file: string; className: string; functionName: string; importers: number };
}

const SHARED_NAME = "formatLabel";

export async function generateProject(dir: string, opts: GenerateOptions): Promise<GeneratedProject> {
  if (!Number.isInteger(opts.files) || opts.files < 2) {
    throw new Error(`generateProject: files must be an integer ≥ 2, got ${opts.files}`);
  }
  const random = mulberry32(opts.seed ?? 1);
  const perFolder = opts.perFolder ?? 20;
  const root = path.resolve(dir);
  const modules: string[] = [];
  for (let i = 0; i < opts.files; i++) modules.push(`src/mod${Math.floor(i / perFolder)}/file${i}.ts`);
  const usedBy: string[] = [];
  const sampleIndex = Math.floor(modules.length / 2);
  let sampleImporters = 0;

  const writes: Promise<void>[] = [];
  const put = (rel: string, text: string): void => {
    writes.push(
      mkdir(path.dirname(path.join(root, rel)), { recursive: true }).then(() =>
        writeFile(path.join(root, rel), text),
      ),
    );
  };

  put("package.json", `${JSON.stringify({ name: "generated", private: true, type: "module" }, null, 2)}\n`);
  put(
    "tsconfig.json",
    `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          skipLibCheck: true,
          types: [],
        },
        include: ["src"],
      },
      null,
      2,
    )}\n`,
  );
  put("src/shared/format.ts", sharedModule());

  for (let i = 0; i < modules.length; i++) {
    const file = modules[i]!;
    // Imports only point backwards, so the graph stays acyclic like most real code.
    const deps = new Set<number>();
    const wanted = i === 0 ? 0 : 1 + Math.floor(random() * 3);
    for (let k = 0; k < wanted; k++) deps.add(Math.floor(random() * i));
    if (deps.has(sampleIndex)) sampleImporters++;
    const usesShared = i % 2 === 0;
    if (usesShared) usedBy.push(file);
    put(
      file,
      moduleText(
        i,
        file,
        [...deps].sort((a, b) => a - b),
        modules,
        usesShared,
        random,
      ),
    );
  }
  const folders = Math.ceil(modules.length / perFolder);
  for (let f = 0; f < folders; f++) {
    const members = modules
      .filter((m) => m.startsWith(`src/mod${f}/`))
      .map((m) => `./${path.posix.basename(m)}`);
    put(`src/mod${f}/index.ts`, members.map((m) => `export * from "${m}";\n`).join(""));
  }
  await Promise.all(writes);
  return {
    root,
    modules,
    shared: { file: "src/shared/format.ts", name: SHARED_NAME, usedBy },
    sample: {
      file: modules[sampleIndex]!,
      className: `Service${sampleIndex}`,
      functionName: `compute${sampleIndex}`,
      importers: sampleImporters,
    },
  };
}

function sharedModule(): string {
  return `/** Formats a labelled value the same way everywhere. */
export function ${SHARED_NAME}(label: string, value: number): string {
  if (!Number.isFinite(value)) return \`\${label}: n/a\`;
  return \`\${label}: \${value.toFixed(2)}\`;
}

export const DEFAULT_PRECISION = 2;
`;
}

function moduleText(
  i: number,
  file: string,
  deps: number[],
  modules: string[],
  usesShared: boolean,
  random: () => number,
): string {
  const dir = path.posix.dirname(file);
  const lines: string[] = [];
  if (usesShared) lines.push(`import { ${SHARED_NAME} } from "${relative(dir, "src/shared/format.ts")}";`);
  for (const d of deps) {
    lines.push(`import { compute${d}, type Item${d}, Service${d} } from "${relative(dir, modules[d]!)}";`);
  }
  const threshold = 1 + Math.floor(random() * 50);
  const label = usesShared ? `${SHARED_NAME}("item${i}", total)` : `"item${i}: " + String(total)`;
  lines.push(
    "",
    `export interface Item${i} {`,
    `  readonly id: number;`,
    `  readonly name: string;`,
    `  readonly weight: number;`,
    `  readonly tags: readonly string[];`,
    `}`,
    "",
    `export type Mode${i} = "fast" | "careful" | "off";`,
    "",
    `export function compute${i}(items: readonly Item${i}[], mode: Mode${i} = "fast"): number {`,
    `  let total = 0;`,
    `  for (const item of items) {`,
    `    if (mode === "off") break;`,
    `    if (item.weight > ${threshold} && item.tags.length > 0) {`,
    `      total += mode === "careful" ? item.weight / 2 : item.weight;`,
    `    } else if (item.tags.includes("bonus")) {`,
    `      total += ${(i % 7) + 1};`,
    `    }`,
    `  }`,
    ...deps.map((d) => `  total += compute${d}([]);`),
    `  return total;`,
    `}`,
    "",
    `export function label${i}(items: readonly Item${i}[]): string {`,
    `  const total = compute${i}(items);`,
    `  return ${label};`,
    `}`,
    "",
    `export class Service${i} {`,
    `  private readonly items: Item${i}[] = [];`,
    ...deps.map((d) => `  private readonly dep${d} = new Service${d}();`),
    "",
    `  add(item: Item${i}): void {`,
    `    if (this.items.some((x) => x.id === item.id)) throw new Error(\`duplicate item \${item.id}\`);`,
    `    this.items.push(item);`,
    `  }`,
    "",
    `  describe(): string {`,
    `    const parts = this.items.map((x) => x.name);`,
    ...deps.map((d) => `    parts.push(this.dep${d}.describe());`),
    `    return parts.length === 0 ? "empty" : parts.join(", ");`,
    `  }`,
    "",
    `  find(name: string): Item${i} | undefined {`,
    `    return this.items.find((x) => x.name === name);`,
    `  }`,
    `}`,
    "",
    ...deps.map((d) => `export const defaultItem${i}from${d}: Item${d} | undefined = undefined;`),
  );
  return `${lines.join("\n")}\n`;
}

function relative(fromDir: string, to: string): string {
  const rel = path.posix.relative(fromDir, to);
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/** Small seeded PRNG: the same seed gives the same project on every machine. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
