import assert from "node:assert/strict";
import { test } from "node:test";
import { enableMapSet, produce } from "../src/immer.ts";

enableMapSet();

test("maps and sets in the state can be changed through the draft", () => {
  const base = {
    users: new Map([["a", { name: "A", roles: ["user"] }]]),
    tags: new Set(["old", "kept"]),
  };
  const next = produce(base, (draft) => {
    draft.users.set("b", { name: "B", roles: [] });
    const a = draft.users.get("a")!;
    a.name = "renamed";
    a.roles.push("admin");
    draft.tags.add("new");
    draft.tags.delete("old");
  });
  assert.deepEqual([...next.users.keys()], ["a", "b"]);
  assert.deepEqual(next.users.get("a"), { name: "renamed", roles: ["user", "admin"] });
  assert.deepEqual([...next.tags], ["kept", "new"]);
  assert.equal(base.users.get("a")!.name, "A");
  assert.deepEqual([...base.tags], ["old", "kept"]);
});
