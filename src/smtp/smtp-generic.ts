/*
 * smtp-generic - smtp_generic_maps: the address rewriting mail gets as it
 * leaves by SMTP (generic(5)), for hosts whose local names mean nothing
 * outside ("user@box.localdomain" becomes "someone@isp.example"). The
 * envelope sender, each recipient and the addresses in the sender and
 * recipient headers are looked up in generic(5) order (user@domain,
 * user@domain without its extension, user and user without extension when
 * the domain is this machine's, then @domain); the header part of the
 * content is rewritten as it streams, the body passes untouched.
 */
import type { Readable } from 'node:stream';
import { findFirst } from '../global/addr/addr-find.js';
import { headerAddressClass, headerAddresses, rewriteHeaderAddresses } from '../global/addr/addr-header.js';
import { splitAddress } from '../global/addr/addr-parts.js';
import type { AddressResolver } from '../global/addr/addr-resolve.js';
import { mailAddrKeys } from '../global/addr/addr-search-keys.js';
import type { Params } from '../global/params/param-registry.js';
import type { TableList } from '../global/tables/table-list.js';

/** Rewrites addresses with smtp_generic_maps. */
export class GenericMapper {
  constructor(
    private readonly tables: TableList,
    private readonly resolver: AddressResolver,
    private readonly params: Params,
  ) {}

  /** address as generic(5) maps it (unchanged when no entry matches; the null sender stays null). */
  async address(address: string): Promise<string> {
    if (address === '') return address;
    const { domain } = splitAddress(address);
    const local = domain === undefined ? true : await this.resolver.isLocalDomain(domain);
    const found = await findFirst(this.tables, mailAddrKeys(address.toLowerCase(), { delimiters: this.params.recipient_delimiter, isLocalDomain: () => local }));
    if (found === undefined) return address;
    const value = found.value.trim();
    return value.includes('@') ? value : `${value}@${this.params.myorigin}`;
  }

  private async header(header: string): Promise<string> {
    if (headerAddressClass(header) === undefined) return header;
    const mapped = new Map<string, string>();
    for (const address of headerAddresses(header.slice(header.indexOf(':') + 1))) mapped.set(address, await this.address(address));
    return rewriteHeaderAddresses(header, (address) => mapped.get(address) ?? address);
  }

  /** The content with its header addresses rewritten. */
  async *content(source: Readable): AsyncGenerator<Buffer> {
    let inBody = false;
    let pending = '';
    let header = '';
    const flushHeader = async (): Promise<string> => {
      const out = header === '' ? '' : await this.header(header);
      header = '';
      return out;
    };
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (inBody) {
        yield chunk;
        continue;
      }
      pending += chunk.toString('latin1');
      let out = '';
      for (let nl = pending.indexOf('\n'); nl >= 0 && !inBody; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl + 1);
        pending = pending.slice(nl + 1);
        if (line.startsWith(' ') || line.startsWith('\t')) {
          header += line;
          continue;
        }
        out += await flushHeader();
        if (line === '\n') {
          out += line;
          inBody = true;
        } else {
          header = line;
        }
      }
      if (inBody) {
        out += pending;
        pending = '';
      }
      if (out !== '') yield Buffer.from(out, 'latin1');
    }
    const rest = (await flushHeader()) + pending;
    if (rest !== '') yield Buffer.from(rest, 'latin1');
  }
}
