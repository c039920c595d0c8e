/** Shared by the table-driven unit tests of the pure protocol parsers. */
import { expect } from 'chai';
import { DavError } from '../../src/errors.js';

/** 'ok' when `fn` returns, else the status of the DavError it throws (any other error fails). */
export function status(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    expect(e).to.be.instanceOf(DavError);
    return (e as DavError).status;
  }
}
