/**
 * The JSONPath subset the local mode reads (ItemReader/ItemBatcher parameters, EventBridge input paths). Its own
 * module so event routing, which the CLI uses to check a --template before anything starts, imports no runner.
 */

/** Simple JSONPath (`$`, `$.a.b`, `$.a[0]`) — what the ItemReader/ItemBatcher parameters use. */
export function selectPath(input: unknown, jsonPath: string): unknown {
  if (!jsonPath.startsWith('$')) throw new Error(`unsupported JSONPath "${jsonPath}"`);
  const parts = jsonPath.slice(1).match(/\.[^.[\]]+|\[\d+\]/g) ?? [];
  let current: unknown = input;
  for (const part of parts) {
    const key = part.startsWith('[') ? Number(part.slice(1, -1)) : part.slice(1);
    current = current === null || typeof current !== 'object' ? undefined : (current as Record<string | number, unknown>)[key];
  }
  return current;
}
