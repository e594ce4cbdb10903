/** The loader-thread half of module-trace.ts: appends every resolved ES module URL to the trace. */
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const result = await next(specifier, context);
  const file = process.env.DOKKUP_MODULE_TRACE;
  if (file) {
    const where = result.url.startsWith('file:') ? fileURLToPath(result.url) : result.url;
    appendFileSync(file, `${where}\n`);
  }
  return result;
}
