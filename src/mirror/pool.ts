// SPDX-License-Identifier: Apache-2.0
// A small bounded-concurrency map: at most `concurrency` calls of `fn` run at once. On the first
// failure no new item starts; the calls already running finish, then that first error is thrown.

export async function mapPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (e) {
        if (!failed) firstError = e;
        failed = true;
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.max(1, Math.min(concurrency, items.length)); w++) workers.push(worker());
  await Promise.all(workers);
  if (failed) throw firstError;
  return results;
}
