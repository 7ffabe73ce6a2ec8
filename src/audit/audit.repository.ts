import type { DbOrTx } from '../../db/client';
import { auditLog } from '../../db/schema';
import type { Actor } from '../auth/actor';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId: string | null;
  agencyId?: string | null;
  subAccountId?: string | null;
  data?: Record<string, unknown>;
}

/** Written inside the transaction of the change it describes. */
export async function recordAudit(db: DbOrTx, actor: Actor, entry: AuditEntry, at: Date): Promise<void> {
  await db.insert(auditLog).values({
    agencyId: entry.agencyId ?? actor.agencyId,
    subAccountId: entry.subAccountId ?? actor.subAccountId,
    actorType: actor.kind,
    actorId: actor.id,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    data: entry.data ?? {},
    createdAt: at,
  });
}
