/** `<root>/dist/<name>.mjs` when it is built and no source it was built from is newer; else undefined. */
export function freshBundle(root: string, name: "lab" | "supervisor" | "prime"): string | undefined;
