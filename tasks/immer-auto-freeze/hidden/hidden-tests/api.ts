import { Immer, produce, setAutoFreeze } from "../src/immer.ts";

setAutoFreeze(false);
setAutoFreeze(true);
// @ts-expect-error the switch takes a boolean
setAutoFreeze("no");

const immer = new Immer({ autoFreeze: false, useStrictShallowCopy: true });
immer.setAutoFreeze(true);
// @ts-expect-error the option is a boolean
new Immer({ autoFreeze: 1 });

export const next: { a: number } = produce({ a: 1 }, (draft) => {
  draft.a = 2;
});
