/**
 * aws-local-stepfunctions 3.0.0 targets Node 22 and calls Promise.withResolvers, which Node 20 lacks. Without this
 * polyfill every Task throws a TypeError that a CDK `addCatch(States.ALL)` silently routes to a Fail state, so it
 * must be imported before the interpreter (the runner imports it first; a test guards against TypeErrors).
 */
interface PromiseWithResolversShape<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const PromiseCtor = Promise as unknown as { withResolvers?: <T>() => PromiseWithResolversShape<T> };
if (typeof PromiseCtor.withResolvers !== 'function') {
  PromiseCtor.withResolvers = function withResolvers<T>(): PromiseWithResolversShape<T> {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
