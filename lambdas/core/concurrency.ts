/** Runs `task` over `values` with at most `limit` in flight; rejects with the first error after in-flight work settles. */
export async function mapWithConcurrency<T, R>(values: readonly T[], limit: number, task: (value: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(values.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, values.length) }, async () => {
    while (next < values.length) {
      const index = next++;
      results[index] = await task(values[index]!, index);
    }
  });
  await Promise.all(workers);
  return results;
}
