import { describe, expect, it } from "vitest";
import { cyclicComponents, loopThrough, reachable, stronglyConnected } from "../../src/analyze/graph.ts";

describe("graph helpers", () => {
  it("finds each strongly connected component and a concrete loop through it", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c", "d"]],
      ["c", ["a"]],
      ["d", ["e"]],
      ["e", ["d", "f"]],
      ["f", []],
    ]);
    const components = cyclicComponents(graph).sort((x, y) => x[0]!.localeCompare(y[0]!));
    expect(components).toEqual([
      ["a", "b", "c"],
      ["d", "e"],
    ]);
    expect(loopThrough(graph, ["a", "b", "c"])).toEqual(["a", "b", "c", "a"]);
    expect(loopThrough(graph, ["d", "e"])).toEqual(["d", "e", "d"]);
    expect(stronglyConnected(graph)).toEqual([["f"], ["d", "e"], ["a", "b", "c"]]);
    expect([...reachable(graph, "d")].sort()).toEqual(["d", "e", "f"]);
    expect(reachable(graph, "f").size).toBe(0);
  });

  it("handles a 20 000-node chain and ring without recursion", () => {
    const n = 20_000;
    const chain = new Map<string, string[]>();
    for (let i = 0; i < n; i++) chain.set(`n${i}`, i + 1 < n ? [`n${i + 1}`] : []);
    expect(cyclicComponents(chain)).toEqual([]);
    chain.set(`n${n - 1}`, ["n0"]);
    const [ring] = cyclicComponents(chain);
    expect(ring).toHaveLength(n);
    expect(loopThrough(chain, ring!)).toHaveLength(n + 1);
  });
});
