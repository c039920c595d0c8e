/** Small concurrency helpers: bounded parallel map that keeps order, and a keyed mutex. */

/**
 * Maps an async iterable with at most `limit` calls of `fn` in flight, yielding results in
 * input order as soon as they are ready (memory stays bounded by `limit`).
 */
export async function* mapBounded<T, R>(source: AsyncIterable<T> | Iterable<T>, limit: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  for await (const item of source) {
    const p = fn(item);
    p.catch(() => undefined); // observed when awaited below; avoids unhandled rejection warnings
    window.push(p);
    if (window.length >= limit) yield await window.shift()!;
  }
  while (window.length) yield await window.shift()!;
}

/** Runs `fn` over items with at most `limit` in flight; resolves when all settle. */
export async function forEachBounded<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  let failure: unknown;
  const worker = async (): Promise<void> => {
    for (let next = it.next(); !next.done; next = it.next()) {
      try {
        await fn(next.value);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failure !== undefined) throw failure;
}

/** Serialises async work per key (e.g. per dead-property file) inside one process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
