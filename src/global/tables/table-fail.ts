/*
 * table-fail - fail:name: every lookup is a temporary failure, for testing
 * and for deliberately deferring mail (Postfix's fail table type). It counts
 * as a pattern table, as it answers whole keys only and has no partial keys
 * to search.
 */
import { PetrelError } from '../errors.js';
import type { LookupTable } from './table.js';

/** Opens fail:name. */
export async function openFail(_name: string, spec: string): Promise<LookupTable> {
  return {
    spec,
    pattern: true,
    async lookup() {
      throw new PetrelError('table_lookup', `${spec}: table lookup failed (fail: table)`, { temporary: true });
    },
    close: async () => {},
  };
}
