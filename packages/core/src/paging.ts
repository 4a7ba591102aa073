import { fail } from './errors';
import type { PageQuery } from './store';

export interface PageInput {
  limit?: number | undefined;
  offset?: number | undefined;
  sort?: string | undefined;
  order?: 'asc' | 'desc' | undefined;
  search?: string | undefined;
}

export const maxPageLimit = 1000;
/** Bounded so an offset always reaches the store as an integer (1e20 once became a float and a 500). */
export const maxPageOffset = 1_000_000_000;

/** Validates paging against the fields a list may be sorted by; the first allowed field is the default. */
export function pageQuery(input: PageInput, sortable: readonly [string, ...string[]]): PageQuery {
  const limit = input.limit ?? 50;
  const offset = input.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageLimit)
    fail('VALIDATION', `limit must be an integer from 1 to ${maxPageLimit}.`, { field: 'limit' });
  if (!Number.isInteger(offset) || offset < 0 || offset > maxPageOffset)
    fail('VALIDATION', `offset must be an integer from 0 to ${maxPageOffset}.`, { field: 'offset' });
  const sort = input.sort ?? sortable[0];
  if (!sortable.includes(sort)) fail('VALIDATION', `sort must be one of ${sortable.join(', ')}.`, { field: 'sort' });
  const q: PageQuery = { limit, offset, sort, order: input.order ?? 'asc' };
  if (input.search !== undefined && input.search !== '') {
    if (input.search.length > 255) fail('VALIDATION', 'search must be at most 255 characters.', { field: 'search' });
    q.search = input.search;
  }
  return q;
}
