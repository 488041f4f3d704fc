/*
 * addr-parts - splits a mail address into local part, domain and address
 * extension (user+foo@domain with recipient_delimiter "+"). Used by the table
 * search orders in addr-search-keys.ts and later by cleanup, trivial-rewrite
 * and local. Follows postconf(5) recipient_delimiter: every character of the
 * parameter is a delimiter, and the extension starts at the first one found.
 */

/** An address taken apart at its last "@". */
export interface AddressParts {
  /** Everything before the last "@" (the whole address when there is none). */
  readonly local: string;
  /** Everything after the last "@", or undefined when the address has no "@". */
  readonly domain: string | undefined;
}

/** Splits at the last "@", as Postfix does for the domain part. */
export function splitAddress(address: string): AddressParts {
  const at = address.lastIndexOf('@');
  if (at < 0) return { local: address, domain: undefined };
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** A local part with its extension removed. */
export interface ExtensionParts {
  /** The local part without the delimiter and extension. */
  readonly base: string;
  /** The delimiter character and the extension after it ("+foo"), or undefined. */
  readonly extension: string | undefined;
}

/**
 * Removes the address extension from a local part. delimiters is the
 * recipient_delimiter value; an empty value means no extensions, and a
 * delimiter at the very start does not count (the base would be empty).
 */
export function splitExtension(local: string, delimiters: string): ExtensionParts {
  if (delimiters === '') return { base: local, extension: undefined };
  for (let i = 1; i < local.length; i++) {
    if (delimiters.includes(local[i] as string)) {
      return { base: local.slice(0, i), extension: local.slice(i) };
    }
  }
  return { base: local, extension: undefined };
}

/** Joins a local part and optional domain back into an address. */
export function joinAddress(local: string, domain: string | undefined): string {
  return domain === undefined ? local : `${local}@${domain}`;
}
