/*
 * table-redis - redis:/etc/petrel/redis-users.cf, Petrel's own table type
 * (Postfix has none): a key looked up in Redis with GET, or with HGET in the
 * hash named by "hash". The configuration file is in the style of
 * mysql_table(5): hosts (tried in order, a failed one skipped for a minute
 * while another answers), username, password, db, key_format (the Redis
 * key, or the hash field, with %s %u %d %1..%9 of the lookup key), hash,
 * result_format, domain and timeout; see table-expand.ts for the
 * %-expansion and the domain filter. Keys are lower-cased unless postmap -f
 * says otherwise, as Postfix does for its SQL tables. One connection per
 * server set (redis-servers.ts) is shared by the process's redis tables;
 * a server that is down answers every lookup at once with a temporary
 * PetrelError, never "not found" and never a hang.
 */
import { PetrelError } from '../errors.js';
import { defineParams } from '../params/param-types.js';
import { REDIS_SERVER_PARAMS, RedisServers, redisServerSet } from '../redis-servers.js';
import { SharedResources } from '../../util/shared-resources.js';
import { TableConfig } from './table-config.js';
import { expandKey, expandResult, openDomainFilter, parseTemplate } from './table-expand.js';
import type { LookupTable, TableOpenContext } from './table.js';

/** The lookup settings of a redis: configuration file, besides the connection settings of redis-servers.ts. */
export const REDIS_TABLE_PARAMS = defineParams({
  key_format: { kind: 'string', default: '%s', doc: 'the Redis key (or hash field) for a lookup key, with %s %u %d %1..%9' },
  hash: { kind: 'string', default: '', doc: 'when set, look the key up as a field of this hash (HGET) instead of GET; %-codes allowed' },
  result_format: { kind: 'string', default: '%s', doc: 'the answer made from the value found, with %s %u %d of the value and %S %U %D %1..%9 of the key' },
  domain: { kind: 'list', default: '', doc: 'when set, only user@domain keys with a domain in this list are looked up' },
});

/** Server sets shared by the process's redis tables. */
const servers = new SharedResources<RedisServers>((shared) => shared.close());

/** Opens redis:/path/to/file.cf; no connection is made before the first lookup. */
export async function openRedis(path: string, spec: string, ctx: TableOpenContext): Promise<LookupTable> {
  const file = TableConfig.read('redis', path, [REDIS_SERVER_PARAMS, REDIS_TABLE_PARAMS]);
  const cf = file.values(REDIS_TABLE_PARAMS);
  const set = redisServerSet(file.values(REDIS_SERVER_PARAMS), path);
  const keyFormat = parseTemplate(cf.key_format, `${path}: key_format`);
  const hash = cf.hash === '' ? undefined : parseTemplate(cf.hash, `${path}: hash`);
  const resultFormat = parseTemplate(cf.result_format, `${path}: result_format`);
  const domains = await openDomainFilter(cf.domain, ctx, path);
  const shared = servers.acquire(JSON.stringify(set), () => new RedisServers(set));
  const fold = ctx.foldKeys ?? true;
  return {
    spec,
    pattern: false,
    async lookup(given) {
      const key = fold ? given.toLowerCase() : given;
      if (!(await domains.eligible(key))) return undefined;
      const redisKey = expandKey(keyFormat, key);
      const hashName = hash === undefined ? undefined : expandKey(hash, key);
      if (redisKey === undefined || (hash !== undefined && hashName === undefined)) return undefined;
      let value: string | null;
      try {
        value = await shared.resource.run((redis) => (hashName === undefined ? redis.get(redisKey) : redis.hget(hashName, redisKey)));
      } catch (err) {
        throw new PetrelError('table_lookup', `${spec}: lookup error: ${(err as Error).message}`, { temporary: true, cause: err });
      }
      return value === null ? undefined : expandResult(resultFormat, value, key);
    },
    async close() {
      shared.release();
      await domains.close();
    },
  };
}
