/**
 * Expected failures are values, in the shape of zod's `safeParse`: parsing and validation return a `Result`;
 * throwing is kept for bugs and infrastructure.
 */
export type Result<T, E> = { success: true; data: T } | { success: false; error: E };

export function ok<T>(data: T): { success: true; data: T } {
  return { success: true, data };
}

export function err<E>(error: E): { success: false; error: E } {
  return { success: false, error };
}
