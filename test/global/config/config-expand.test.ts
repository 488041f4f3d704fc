import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandText, referencedNames } from '../../../src/global/config/config-expand.js';
import { PetrelError } from '../../../src/global/errors.js';

const values: Record<string, string> = {
  myhostname: 'mx.example.com',
  mydomain: 'example.com',
  empty: '',
  chain: '$myhostname and $mydomain',
  level: '3.6',
  loop_a: '$loop_b',
  loop_b: '$loop_a',
};
const source = (name: string): string | undefined => values[name];

const cases: [string, string][] = [
  ['$myhostname', 'mx.example.com'],
  ['${myhostname}', 'mx.example.com'],
  ['$(myhostname)', 'mx.example.com'],
  ['a$$b', 'a$b'],
  ['x $chain y', 'x mx.example.com and example.com y'],
  ['$undefined_name!', '!'],
  ['${myhostname?set}', 'set'],
  ['${empty?set}', ''],
  ['${undefined?set}', ''],
  ['${myhostname:unset}', ''],
  ['${empty:unset $mydomain}', 'unset example.com'],
  ['${myhostname?{yes}:{no}}', 'yes'],
  ['${empty?{yes}:{no}}', 'no'],
  ['${empty?{yes} : {no $mydomain}}', 'no example.com'],
  ['${myhostname:{fallback}}', ''],
  ['${empty:{fallback}}', 'fallback'],
  ['${{$level} <level {2} ? {old} : {new}}', 'new'],
  ['${{$level} >=level {3.6} ? {yes} : {no}}', 'yes'],
  ['${{2} <level {3.6} ? {older}}', 'older'],
  ['${{$mydomain} == {example.com} ? {same} : {other}}', 'same'],
  ['${{$mydomain} != {example.com} ? {same} : {other}}', 'other'],
  ['${{10} < {9} ? {less} : {more}}', 'more'],
  ['${stress?{10}:{300}}s', '300s'],
  ['price $ 5', 'price $ 5'],
];

test('expansion forms', () => {
  for (const [text, want] of cases) assert.equal(expandText(text, source), want, text);
});

test('a reference loop is an error, not a hang', () => {
  assert.throws(() => expandText('$loop_a', source), (err: unknown) => {
    assert.ok(err instanceof PetrelError);
    assert.match(err.message, /unreasonable macro call nesting/);
    return true;
  });
});

test('syntax errors are reported', () => {
  for (const bad of ['${myhostname', '${myhostname?{a}:b}', '${{1} ~ {2} ? {x}}', '${{a} < {b} ? {x}}']) {
    assert.throws(() => expandText(bad, source), PetrelError, bad);
  }
});

test('referenced names are found in every form', () => {
  assert.deepEqual(referencedNames('$a ${b} $(c) ${d?x} $$e ${{$f} == {1} ? {x}}'), ['a', 'b', 'c', 'd', 'f']);
});
