/** A lot as the consumption order sees it. */
export interface OpenLot {
  id: string;
  remaining: number;
  expiresAt: Date | null;
  createdAt: Date;
}

/** Consumption order: the lot that expires first, then the oldest; lots without expiry last. */
export function fifoOrder(a: OpenLot, b: OpenLot): number {
  const ea = a.expiresAt?.getTime() ?? Infinity;
  const eb = b.expiresAt?.getTime() ?? Infinity;
  if (ea !== eb) return ea < eb ? -1 : 1;
  if (a.createdAt.getTime() !== b.createdAt.getTime()) return a.createdAt.getTime() - b.createdAt.getTime();
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Takes `amount` from lots already in FIFO order, mutating their `remaining`. Returns what was
 * taken from each lot. The caller has checked that the lots cover the amount.
 */
export function takeFifo(lots: OpenLot[], amount: number): { lotId: string; taken: number }[] {
  const taken: { lotId: string; taken: number }[] = [];
  let left = amount;
  for (const lot of lots) {
    if (left === 0) break;
    if (lot.remaining === 0) continue;
    const t = Math.min(lot.remaining, left);
    lot.remaining -= t;
    left -= t;
    taken.push({ lotId: lot.id, taken: t });
  }
  if (left !== 0) throw new Error(`lots do not cover ${amount} credits`);
  return taken;
}
