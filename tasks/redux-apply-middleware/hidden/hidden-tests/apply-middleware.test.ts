import assert from "node:assert/strict";
import { test } from "node:test";
import * as redux from "../src/index.ts";

type State = { n: number; log: string[] };
type Act = { type: string; by?: number };
const reducer = (state: State = { n: 0, log: [] }, action: Act): State =>
  action.type === "add"
    ? { n: state.n + (action.by ?? 1), log: [...state.log, `add ${action.by ?? 1}`] }
    : state;

// biome-ignore lint/suspicious/noExplicitAny: a middleware from plain JavaScript
type AnyMiddleware = (api: any) => (next: (action: any) => any) => (action: any) => any;
const applyMiddleware = (...mws: AnyMiddleware[]) =>
  (redux as unknown as { applyMiddleware: (...m: AnyMiddleware[]) => never }).applyMiddleware(...mws);

test("applyMiddleware is exported from the package entry", () => {
  assert.equal(typeof (redux as Record<string, unknown>).applyMiddleware, "function");
});

test("middlewares see each action in the order given, then the reducer", () => {
  const seen: string[] = [];
  const tagger =
    (tag: string): AnyMiddleware =>
    () =>
    (next) =>
    (action) => {
      seen.push(`${tag}>${action.type}`);
      const result = next(action);
      seen.push(`${tag}<${action.type}`);
      return result;
    };
  const store = redux.createStore(reducer, applyMiddleware(tagger("first"), tagger("second")));
  const returned = store.dispatch({ type: "add", by: 2 });
  assert.deepEqual(returned, { type: "add", by: 2 });
  assert.deepEqual(seen, ["first>add", "second>add", "second<add", "first<add"]);
  assert.equal(store.getState().n, 2);
});

test("a middleware's getState reads the store, and its dispatch runs the whole chain", () => {
  const order: string[] = [];
  const thunk: AnyMiddleware =
    ({ dispatch, getState }) =>
    (next) =>
    (action) => {
      if (typeof action === "function") return action(dispatch, getState);
      return next(action);
    };
  const logger: AnyMiddleware = () => (next) => (action) => {
    order.push(action.type);
    return next(action);
  };
  const store = redux.createStore(reducer, applyMiddleware(thunk, logger));
  const result = (store.dispatch as (a: unknown) => unknown)(
    (dispatch: (a: Act) => void, getState: () => State) => {
      dispatch({ type: "add", by: 5 });
      dispatch({ type: "add", by: getState().n });
      return "done";
    },
  );
  assert.equal(result, "done");
  assert.equal(store.getState().n, 10);
  assert.deepEqual(order, ["add", "add"]);
});

test("a middleware may transform or swallow actions", () => {
  const double: AnyMiddleware = () => (next) => (action) =>
    action.type === "add" ? next({ ...action, by: (action.by ?? 1) * 2 }) : next(action);
  const dropIgnored: AnyMiddleware = () => (next) => (action) =>
    action.type === "ignored" ? undefined : next(action);
  const store = redux.createStore(reducer, applyMiddleware(dropIgnored, double));
  store.dispatch({ type: "add", by: 3 });
  store.dispatch({ type: "ignored" });
  assert.equal(store.getState().n, 6);
});

test("the preloaded state and the other store methods are kept", () => {
  const store = redux.createStore(reducer, { n: 40, log: [] }, applyMiddleware());
  let notified = 0;
  const unsubscribe = store.subscribe(() => notified++);
  store.dispatch({ type: "add", by: 2 });
  unsubscribe();
  store.dispatch({ type: "add" });
  assert.equal(store.getState().n, 43);
  assert.equal(notified, 1);
  assert.equal(typeof store.replaceReducer, "function");
});

test("dispatching while a middleware is being set up throws", () => {
  const eager: AnyMiddleware = ({ dispatch }) => {
    dispatch({ type: "add" });
    return (next) => (action) => next(action);
  };
  assert.throws(() => redux.createStore(reducer, applyMiddleware(eager)), Error);
});

test("each store gets its own chain", () => {
  let setups = 0;
  const counting: AnyMiddleware = () => {
    setups++;
    return (next) => (action) => next(action);
  };
  const enhancer = applyMiddleware(counting);
  const a = redux.createStore(reducer, enhancer);
  const b = redux.createStore(reducer, enhancer);
  a.dispatch({ type: "add" });
  assert.equal(setups, 2);
  assert.equal(a.getState().n, 1);
  assert.equal(b.getState().n, 0);
});
