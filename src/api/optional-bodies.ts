const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/**
 * Marks not required every request body whose schema accepts `null`. Fastify validates a request without a
 * body as `null`, so such a route takes no body at all (POST /v1/carts: an anonymous cart sends none), but
 * @fastify/swagger marks every body required, and the generated client would then demand one.
 */
export function optionalNullableBodies(document: { readonly paths?: unknown }): void {
  if (!isRecord(document.paths)) return;
  for (const item of Object.values(document.paths)) {
    if (!isRecord(item)) continue;
    for (const operation of Object.values(item)) {
      const body = isRecord(operation) ? operation.requestBody : undefined;
      if (!isRecord(body) || !isRecord(body.content)) continue;
      const media = Object.values(body.content);
      if (media.length > 0 && media.every((m) => isRecord(m) && isRecord(m.schema) && m.schema.nullable === true)) {
        body.required = false;
      }
    }
  }
}
