import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * A synthetic workspace for the eval benchmark: `count` modules `src/mNNN.ts` in a binary tree of
 * imports (module i imports 2i+1 and 2i+2, written with `.js` specifiers as TS projects do), all
 * importing a shared `src/config.ts`. `value{i}()` sums its own constant with its subtree's values.
 */
export interface EvalWorkspace {
  root: string;
  count: number;
  /** Rewrite module i with a new own constant (the only thing an edit changes). */
  edit(i: number, own: number): Promise<void>;
  /** The value `value{i}()` must return given the current constants. */
  expected(i: number): number;
}

const WEIGHT = 3;
const pad = (i: number) => String(i).padStart(3, "0");

function moduleSource(i: number, own: number, count: number): string {
  const children = [2 * i + 1, 2 * i + 2].filter((c) => c < count);
  const imports = children.map((c) => `import { value${c} } from "./m${pad(c)}.js";`).join("\n");
  const sum = children.map((c) => ` + value${c}()`).join("");
  return `import { weight } from "./config.js";
${imports}

export interface Node${i} {
  id: number;
  total: number;
}

export const own${i}: number = ${own};

export function value${i}(): number {
  return own${i} * weight${sum};
}

export function describe${i}(): Node${i} {
  return { id: ${i}, total: value${i}() };
}
`;
}

export async function generateEvalWorkspace(root: string, count: number): Promise<EvalWorkspace> {
  const src = path.join(root, "src");
  await mkdir(src, { recursive: true });
  const owns = Array.from({ length: count }, (_, i) => i + 1);
  await writeFile(path.join(src, "config.ts"), `export const weight: number = ${WEIGHT};\n`);
  await Promise.all(
    owns.map((own, i) => writeFile(path.join(src, `m${pad(i)}.ts`), moduleSource(i, own, count))),
  );
  await writeFile(path.join(src, "main.ts"), `import { value0 } from "./m000.js";\nconsole.log(value0());\n`);
  await writeFile(path.join(root, "package.json"), `{ "type": "module", "private": true }\n`);
  await writeFile(
    path.join(root, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: true,
        types: [],
        rootDir: "src",
        outDir: "out",
      },
      include: ["src"],
    }),
  );
  const memo = new Map<number, number>();
  const expected = (i: number): number => {
    const hit = memo.get(i);
    if (hit !== undefined) return hit;
    const children = [2 * i + 1, 2 * i + 2].filter((c) => c < count);
    const value = (owns[i] ?? 0) * WEIGHT + children.reduce((sum, c) => sum + expected(c), 0);
    memo.set(i, value);
    return value;
  };
  return {
    root,
    count,
    expected,
    async edit(i, own) {
      owns[i] = own;
      memo.clear();
      await writeFile(path.join(src, `m${pad(i)}.ts`), moduleSource(i, own, count));
    },
  };
}
