/**
 * PostGraphile 5.1 declares Node >= 22 and calls Promise.withResolvers (new in Node 22); the machines here run
 * Node 20. This standard-behaviour shim, imported before PostGraphile, lets the peer run here; it is loaded by
 * the load-test peer only, never by Tally.
 */
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const PromiseWithResolvers = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
PromiseWithResolvers.withResolvers ??= <T>() => {
  let resolve!: Resolvers<T>['resolve'];
  let reject!: Resolvers<T>['reject'];
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
