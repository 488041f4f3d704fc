import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_PARAMS, mergeParamTables } from '../../../src/global/params/param-registry.js';
import { defineParams } from '../../../src/global/params/param-types.js';

test('a parameter declared twice is rejected', () => {
  const a = defineParams({ x: { kind: 'int', default: '1', doc: 'x' } });
  const b = defineParams({ x: { kind: 'int', default: '2', doc: 'x again' } });
  assert.throws(() => mergeParamTables(a, b), /parameter x is declared twice/);
});

test('every declaration has a doc line and a default of its kind', () => {
  for (const [name, spec] of Object.entries(ALL_PARAMS)) {
    assert.ok(spec.doc.length > 0 && !spec.doc.includes('\n'), name);
    assert.ok(typeof spec.default === 'string' || typeof spec.default === 'function', name);
  }
});
