/** Per-tab state that survives a reload: sessionStorage, as JSON. */
export function load<T>(key: string): T | undefined {
  const raw = sessionStorage.getItem(key);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    sessionStorage.removeItem(key);
    return undefined;
  }
}

export function save(key: string, value: unknown): void {
  if (value === undefined) sessionStorage.removeItem(key);
  else sessionStorage.setItem(key, JSON.stringify(value));
}
