// Usage against the countable entitlements (pure: no I/O). An account over a limit (after a
// downgrade or a cancellation) is told exactly how many to delete, or how many to add by upgrading.
import type { Entitlements } from '../billing/entitlements';
import type { ChannelType } from '../../db/schema';
import { msg } from '../lib/message';

export const countedItems = ['representatives', 'whatsappChannels', 'instagramChannels', 'messengerChannels'] as const;
export type CountedItem = (typeof countedItems)[number];

export const itemOfChannel: Record<ChannelType, CountedItem> = { whatsapp: 'whatsappChannels', instagram: 'instagramChannels', messenger: 'messengerChannels' };

/** "3 representatives", "1 WhatsApp channel": a message with the count (errors:limits.item.*). */
export const noun = (item: CountedItem, n: number) => msg(`errors:limits.item.${item}`, { count: n });

export type Usage = Record<CountedItem, number>;

export interface LimitLine {
  item: CountedItem;
  limit: number;
  used: number;
  /** How many over the limit (0 when within it). */
  over: number;
}

export const limitLines = (e: Pick<Entitlements, CountedItem>, used: Usage): LimitLine[] =>
  countedItems.map((item) => ({ item, limit: e[item], used: used[item], over: Math.max(0, used[item] - e[item]) }));

/** "You have 3 representatives and your plan allows 2: delete 1, or add 1 by upgrading." (a message) */
export const overLimitGuidance = (l: LimitLine) =>
  msg('errors:limits.over', { have: noun(l.item, l.used), limit: l.limit, remove: noun(l.item, l.over), over: l.over });

/** The refusal for adding one more at the limit, with the exact numbers. */
export const limitReachedMessage = (item: CountedItem, limit: number, used: number) =>
  msg('errors:limits.reached', { allowed: noun(item, limit), used });
