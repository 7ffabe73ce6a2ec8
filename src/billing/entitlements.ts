// What an account may use on a given day, from its subscriptions (pure: no I/O). A subscription
// counts on the days its periods cover; on a change day the higher-priced of the old and the new
// package is in effect (DESIGN section 6), the new price being billed from the next day.
import { addDays, packageInEffectOnChangeDay, type CalendarDay } from './proration';

export interface EntitlementSubscription {
  id: string;
  name: string;
  kind: 'package' | 'addon' | 'quantity' | 'extra_sessions' | 'plan';
  status: string;
  monthlyPriceMinor: number;
  quantity: number;
  chatbotSessions: number;
  representatives: number;
  whatsappChannels: number;
  instagramChannels: number;
  messengerChannels: number;
  modules: string[];
  unit: string | null;
  changedFromId: string | null;
  periods: { fromDay: CalendarDay; throughDay: CalendarDay | null }[];
}

export interface Entitlements {
  /** Every account has one representative free. */
  representatives: number;
  chatbotSessions: number;
  extraSessions: number;
  whatsappChannels: number;
  instagramChannels: number;
  messengerChannels: number;
  modules: string[];
  /** The subscriptions in effect, after the change-day rule. */
  inEffect: string[];
}

export const FREE_REPRESENTATIVES = 1;

export const covers = (s: Pick<EntitlementSubscription, 'periods'>, day: CalendarDay) =>
  s.periods.some((p) => p.fromDay <= day && (p.throughDay === null || p.throughDay >= day));

const priceOf = (s: EntitlementSubscription) => ({ ...s, priceMinor: s.monthlyPriceMinor * s.quantity });

/** The subscriptions in effect on `day` (refunded ones never are). */
export function subscriptionsInEffect<S extends EntitlementSubscription>(subs: readonly S[], day: CalendarDay): S[] {
  const live = subs.filter((s) => s.status !== 'refunded');
  const byId = new Map(live.map((s) => [s.id, s]));
  const inEffect = new Map(live.filter((s) => covers(s, day)).map((s) => [s.id, s]));
  // A change made on `day`: the new subscription starts tomorrow; today the dearer one applies.
  for (const next of live) {
    if (!next.changedFromId || !covers(next, addDays(day, 1)) || covers(next, day)) continue;
    const old = byId.get(next.changedFromId);
    if (!old || !inEffect.has(old.id)) continue;
    const winner = packageInEffectOnChangeDay(priceOf(old), priceOf(next));
    if (winner.id === next.id) {
      inEffect.delete(old.id);
      inEffect.set(next.id, next);
    }
  }
  return [...inEffect.values()];
}

export function entitlementsOn(subs: readonly EntitlementSubscription[], day: CalendarDay, extraSessions = 0): Entitlements {
  const inEffect = subscriptionsInEffect(subs, day);
  const e: Entitlements = {
    representatives: FREE_REPRESENTATIVES, chatbotSessions: 0, extraSessions, whatsappChannels: 0, instagramChannels: 0, messengerChannels: 0, modules: [], inEffect: inEffect.map((s) => s.id),
  };
  const modules = new Set<string>();
  for (const s of inEffect) {
    const n = s.quantity;
    e.representatives += s.representatives * n + (s.unit === 'representative' ? n : 0);
    e.chatbotSessions += s.chatbotSessions * n;
    e.whatsappChannels += s.whatsappChannels * n + (s.unit === 'whatsapp_channel' ? n : 0);
    e.instagramChannels += s.instagramChannels * n + (s.unit === 'instagram_channel' ? n : 0);
    e.messengerChannels += s.messengerChannels * n + (s.unit === 'messenger_channel' ? n : 0);
    for (const m of s.modules) modules.add(m);
  }
  e.modules = [...modules].sort();
  return e;
}

/** A chatbot package in effect on `day`: what extra sessions need. */
export const hasChatbotPackage = (subs: readonly EntitlementSubscription[], day: CalendarDay) =>
  subscriptionsInEffect(subs, day).some((s) => s.kind === 'package' && s.chatbotSessions > 0);
