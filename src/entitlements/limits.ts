// Usage against the countable entitlements (pure: no I/O). An account over a limit (after a
// downgrade or a cancellation) is told exactly how many to delete, or how many to add by upgrading.
import type { Entitlements } from '../billing/entitlements';
import type { ChannelType } from '../../db/schema';

export const countedItems = ['representatives', 'whatsappChannels', 'instagramChannels', 'messengerChannels'] as const;
export type CountedItem = (typeof countedItems)[number];

export const itemOfChannel: Record<ChannelType, CountedItem> = { whatsapp: 'whatsappChannels', instagram: 'instagramChannels', messenger: 'messengerChannels' };

const nouns: Record<CountedItem, [string, string]> = {
  representatives: ['representative', 'representatives'],
  whatsappChannels: ['WhatsApp channel', 'WhatsApp channels'],
  instagramChannels: ['Instagram channel', 'Instagram channels'],
  messengerChannels: ['Messenger channel', 'Messenger channels'],
};
export const noun = (item: CountedItem, n: number) => `${n} ${nouns[item][n === 1 ? 0 : 1]}`;

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

/** "You have 3 representatives and your plan allows 2: delete 1, or add 1 by upgrading." */
export const overLimitGuidance = (l: LimitLine) =>
  `You have ${noun(l.item, l.used)} and your plan allows ${l.limit}: delete ${noun(l.item, l.over)}, or add ${l.over} by upgrading your package.`;

/** The refusal for adding one more at the limit, with the exact numbers. */
export const limitReachedMessage = (item: CountedItem, limit: number, used: number) =>
  `Your plan allows ${noun(item, limit)} and you have ${used}. Upgrade your package or buy more to add another.`;
