import type { Principal } from '../accounts/model';
import type { Clock } from '../clock';
import { fail } from '../errors';
import type { Page, Store } from '../store';
import type { InboxItem } from './model';

/** The in-app inbox of the calling user: nobody reads or marks another user's items. */
export class Inbox {
  constructor(private readonly o: { store: Store; clock: Clock }) {}

  async list(p: Principal, q: { unread?: boolean | undefined; limit: number; offset: number }): Promise<Page<InboxItem>> {
    const page = await this.o.store.notifications.listInbox({ userId: p.userId, unreadOnly: q.unread === true, limit: q.limit, offset: q.offset });
    return { ...page, limit: q.limit, offset: q.offset };
  }

  async unreadCount(p: Principal): Promise<{ count: number }> {
    return { count: await this.o.store.notifications.countUnread(p.userId) };
  }

  async markRead(p: Principal, id: string): Promise<void> {
    if (!(await this.o.store.notifications.markRead(p.userId, id, this.o.clock.now()))) fail('NOT_FOUND', 'Notification not found.');
  }

  async markAllRead(p: Principal): Promise<{ updated: number }> {
    return { updated: await this.o.store.notifications.markAllRead(p.userId, this.o.clock.now()) };
  }
}
