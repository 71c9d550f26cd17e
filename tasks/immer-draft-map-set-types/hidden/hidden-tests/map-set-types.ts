import { type Draft, enableMapSet, type Immutable, produce } from "../src/immer.ts";

enableMapSet();

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T) {}

interface User {
  readonly name: string;
  readonly roles: readonly string[];
}
interface State {
  readonly users: ReadonlyMap<string, User>;
  readonly tags: ReadonlySet<string>;
}

export function rename(state: State): State {
  return produce(state, (draft) => {
    draft.users.set("b", { name: "B", roles: [] });
    const a = draft.users.get("a");
    if (a) {
      a.name = "renamed";
      a.roles.push("admin");
    }
    draft.tags.add("new");
    draft.tags.delete("old");
  });
}

expectType<Equal<Draft<ReadonlyMap<string, User>>, Map<string, { name: string; roles: string[] }>>>(true);
expectType<Equal<Draft<ReadonlySet<readonly number[]>>, Set<number[]>>>(true);
expectType<Equal<Draft<Map<string, number>>, Map<string, number>>>(true);
expectType<
  Equal<Immutable<Map<string, { n: number[] }>>, ReadonlyMap<string, { readonly n: readonly number[] }>>
>(true);
expectType<Equal<Immutable<Set<number[]>>, ReadonlySet<readonly number[]>>>(true);

declare const frozen: Immutable<Map<string, number>>;
// @ts-expect-error an Immutable map cannot be changed
frozen.set("a", 1);
declare const frozenSet: Immutable<Set<number>>;
// @ts-expect-error an Immutable set cannot be changed
frozenSet.add(1);
