// What the seller is told when its webhooks fail: in the app (its people with the billing
// permission) and, for an agency, by email to its billing contacts.
import { sql } from 'drizzle-orm';
import { accountRecipients } from '../credits/low-balance';
import type { Deps } from '../deps';
import { msg } from '../lib/message';
import { rowsOf } from '../lib/rows';
import { mailLanguage, mailWriter } from '../mail/language';
import { notify } from '../notifications/notify';
import { PLATFORM_SELLER } from './emit';

export type WebhookNoticeKind = 'webhook_deliveries_failed' | 'webhook_endpoint_disabled';

/** Returns the queued email's id (dispatch after commit), or null. A failure notice goes out at most once a day per endpoint. */
export async function tellSeller(
  deps: Pick<Deps, 'db'>,
  n: { kind: WebhookNoticeKind; endpointId: string; sellerKey: string; url: string; now: Date },
): Promise<string | null> {
  return deps.db.transaction(async (tx) => {
    if (n.kind === 'webhook_deliveries_failed') {
      const dayAgo = new Date(n.now.getTime() - 24 * 3_600_000).toISOString();
      const won = rowsOf(await tx.execute(sql`
        update webhook_endpoints set failure_notice_at = ${n.now.toISOString()}::timestamptz
        where id = ${n.endpointId} and (failure_notice_at is null or failure_notice_at < ${dayAgo}::timestamptz) returning id`));
      if (!won.length) return null;
    }
    const agencyId = n.sellerKey === PLATFORM_SELLER ? null : n.sellerKey;
    const key = n.kind === 'webhook_endpoint_disabled' ? 'disabled' : 'failed';
    const message = msg(`webhooks:notice.${key}`, { url: n.url });
    const base = { category: 'billing' as const, kind: n.kind, account: { agencyId, subAccountId: null }, at: n.now, inApp: { message, data: { endpointId: n.endpointId } } };
    if (!agencyId) return notify(tx, base);
    const r = await accountRecipients(tx, agencyId, null);
    if (!r.to.length) return notify(tx, base);
    const w = mailWriter(await mailLanguage(tx, agencyId, r.to));
    return notify(tx, {
      ...base,
      email: {
        idempotencyKey: `webhook-${key}:${n.endpointId}:${n.now.toISOString().slice(0, 10)}`,
        message: { to: r.to, cc: r.cc, subject: w.t(`webhooks:notice.${key}Subject`), text: w.t('webhooks:notice.emailBody', { notice: w.text(message) }) },
      },
    });
  });
}
