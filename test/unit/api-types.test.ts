import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateApiTypes, generatedFile } from '../../scripts/gen-api-types';

/** The typed client's types are generated from the route schemas: a schema changed without `npm run gen:api` fails. */
describe('src/client/openapi.ts', () => {
  it('is what npm run gen:api generates from the app’s OpenAPI document', async () => {
    const committed = await readFile(generatedFile, 'utf8');
    expect(committed, 'src/client/openapi.ts is stale: run npm run gen:api').toBe(await generateApiTypes());
  });
});
