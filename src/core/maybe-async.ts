/**
 * A value now, or a promise of it. The request path's steps return one where they usually need not wait
 * (a static token, no limit rule, nothing to read before forwarding): an async function allocates its
 * frame and promises on every call, and that was the bulk of what a request allocated in the gateway's own
 * code. Steps that truly wait (a JWT signature, a body, Redis) still return promises.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** `next(value)`: at once when the value is here, once it is otherwise. A throw in `next` stays a throw. */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromise(value) ? value.then(next) : next(value);
}

/**
 * Maybe-async steps written top to bottom, as `await` lines are: a generator that yields each step's value
 * (plain or a promise) and gets it back, `const x = (yield step()) as X` where `await step()` stood. A rejection
 * is thrown at its `yield`, so try/catch around steps works as it does around awaits. The `as` names what the
 * yield gives back: TypeScript types every yield of a generator alike.
 */
export type Steps<T> = Generator<unknown, T, unknown>;

/**
 * Runs `steps`: resumed at once while the values are plain, so a request where nothing waits runs through
 * without a promise (one generator object instead of a closure per step); after the first promise, the rest
 * run as an async function would.
 */
export function runSteps<T>(steps: Steps<T>): MaybePromise<T> {
  let result = steps.next();
  while (result.done !== true) {
    const value = result.value;
    if (value instanceof Promise) return resumeAfter(steps, value);
    result = steps.next(value);
  }
  return result.value;
}

async function resumeAfter<T>(steps: Steps<T>, pending: Promise<unknown>): Promise<T> {
  let result = await pending.then(
    (value) => steps.next(value),
    (error: unknown) => steps.throw(error),
  );
  while (result.done !== true) {
    const value = result.value;
    result =
      value instanceof Promise
        ? await value.then(
            (settled) => steps.next(settled),
            (error: unknown) => steps.throw(error),
          )
        : steps.next(value);
  }
  return result.value;
}
