// The usage hot path. Concurrent usage requests are coalesced: while one batch is being
// committed, new events queue up, and the next batch applies all of them in one call of the
// usage_apply database function (group commit: one round trip, one row lock and one commit per
// batch, not per event). Accounts are spread over a few lanes, so batches of different accounts
// commit in parallel while one account never has two in flight. Every answer is sent only after
// its debit is committed.
import { eq, sql } from 'drizzle-orm';
import type { Db, RawSql } from '../../db/client';
import { creditAccounts } from '../../db/schema';
import type { AccountOwner } from '../credits/ledger';
import type { Clock } from '../lib/clock';
import { newIds } from '../lib/ids';
import type { Logger } from '../lib/logger';
import { pgArrayLiteral } from '../lib/pg-array';
import { rowsOf } from '../lib/rows';
import { applyLowBalanceRule } from '../credits/low-balance';
import { dispatchEmails } from '../mail/outbox';
import type { Queue } from '../queue';

export interface UsageEvent {
  conversationId: string;
  departmentId: string;
}

export type UsageResult =
  | { status: 200; charged: number; balance: number }
  | { status: 402 | 403 | 404; error: string; message: string };

const failure = (status: 402 | 403 | 404, error: string, message: string): UsageResult => ({ status, error, message });
export const usageErrors = {
  insufficient: () => failure(402, 'insufficient_credits', 'Not enough credits for this conversation.'),
  departmentDisabled: () => failure(403, 'department_disabled', 'This department is not enabled on this account.'),
  departmentNotFound: () => failure(404, 'department_not_found', 'Unknown department.'),
  accountSuspended: () => failure(403, 'account_suspended', 'This account is suspended.'),
  providerSuspended: () => failure(403, 'provider_suspended', 'The agency providing this account is suspended.'),
};

const APPLY_TEXT =
  'select codes, charged, balances, crossed from usage_apply($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz)';

interface Submission {
  owner: AccountOwner;
  events: UsageEvent[];
  resolve: (results: UsageResult[]) => void;
  reject: (err: unknown) => void;
}

/** One queue of submissions; its batches run one after another. */
interface Lane {
  pending: Submission[];
  busy: boolean;
}

/** usage_apply's per-event codes (db/migrations/0006_usage_apply.sql). */
const refusals: Record<number, () => UsageResult> = {
  1: usageErrors.insufficient,
  2: usageErrors.departmentDisabled,
  3: usageErrors.departmentNotFound,
  4: usageErrors.accountSuspended,
  5: usageErrors.providerSuspended,
};

interface ApplyRow {
  codes: number[];
  charged: (number | string)[];
  balances: (number | string)[];
  crossed: string[] | null;
}

export interface UsageRecorderDeps {
  db: Db;
  rawSql?: RawSql | undefined;
  clock: Clock;
  queue: Queue;
  logger: Logger;
}

export interface UsageRecorderOptions {
  /** Events per batch at most (several submissions are coalesced up to this). */
  maxEventsPerBatch?: number;
  /**
   * Batches that may be in flight at once (default 4). An account always maps to the same lane,
   * so its batches never overlap (they would only queue on its row lock); different accounts
   * spread over the lanes and commit in parallel. A batch mostly waits (round trip, commit), so
   * a few more lanes than cores overlap those waits.
   */
  lanes?: number;
}

export class UsageRecorder {
  private readonly lanes: Lane[];

  constructor(
    private readonly deps: UsageRecorderDeps,
    private readonly opts: UsageRecorderOptions = {},
  ) {
    this.lanes = Array.from({ length: Math.max(1, opts.lanes ?? 4) }, () => ({ pending: [], busy: false }));
  }

  /** Resolves when every submitted event has been applied or refused (graceful shutdown). */
  async whenIdle(): Promise<void> {
    while (this.lanes.some((l) => l.busy || l.pending.length > 0)) await new Promise((r) => setTimeout(r, 10));
  }

  /** Records events for one account; results come back in the same order. */
  record(owner: AccountOwner, events: UsageEvent[]): Promise<UsageResult[]> {
    return new Promise((resolve, reject) => {
      const lane = this.lanes[this.lanes.length === 1 ? 0 : laneOf(ownerKey(owner), this.lanes.length)]!;
      lane.pending.push({ owner, events, resolve, reject });
      this.kick(lane);
    });
  }

  private kick(lane: Lane) {
    if (lane.busy || lane.pending.length === 0) return;
    lane.busy = true;
    void this.drain(lane).finally(() => {
      lane.busy = false;
      this.kick(lane);
    });
  }

  private async drain(lane: Lane) {
    const max = this.opts.maxEventsPerBatch ?? 5000;
    while (lane.pending.length > 0) {
      const batch: Submission[] = [];
      let n = 0;
      while (lane.pending.length > 0 && (batch.length === 0 || n + lane.pending[0]!.events.length <= max)) {
        const s = lane.pending.shift()!;
        batch.push(s);
        n += s.events.length;
      }
      await this.applyWithRetry(batch);
    }
  }

  private async applyWithRetry(batch: Submission[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        const { results, mailIds } = await this.apply(batch);
        batch.forEach((s, i) => s.resolve(results[i]!));
        if (mailIds.length > 0) {
          await dispatchEmails(this.deps.queue, mailIds).catch((err) => this.deps.logger.error('low-balance mail dispatch failed', { error: String(err) }));
        }
        return;
      } catch (err) {
        // A deadlock or serialization failure between processes is retried; the statement
        // rolled back, so nothing was applied.
        const code = (err as { cause?: { code?: string }; code?: string })?.cause?.code ?? (err as { code?: string })?.code;
        if (attempt < 3 && (code === '40P01' || code === '40001')) continue;
        this.deps.logger.error('usage batch failed', { error: String(err), events: batch.reduce((n, s) => n + s.events.length, 0) });
        batch.forEach((s) => s.reject(err));
        return;
      }
    }
  }

  /**
   * One statement: usage_apply locks, checks, debits and writes the whole batch and commits on
   * its own (no transaction block, so no BEGIN/COMMIT round trips). On Postgres it goes through
   * postgres.js as a prepared statement with a constant text (parsed and planned once per
   * connection); on PGlite through drizzle. Same SQL either way; every argument is one array.
   */
  private async run(args: string[]): Promise<ApplyRow> {
    const raw = this.deps.rawSql;
    if (raw) return ((await raw.unsafe(APPLY_TEXT, args, { prepare: true })) as unknown as ApplyRow[])[0]!;
    const [a, b, c, d, e, f, g] = args;
    return rowsOf<ApplyRow>(await this.deps.db.execute(sql`
      select codes, charged, balances, crossed from usage_apply(${a}::text[], ${b}::text[], ${c}::text[], ${d}::int[], ${e}::text[], ${f}::text[], ${g}::timestamptz)`))[0]!;
  }

  private async apply(batch: Submission[]): Promise<{ results: UsageResult[][]; mailIds: (string | null)[] }> {
    const now = this.deps.clock.now();
    const ownerIndex = new Map<string, number>();
    const owners: AccountOwner[] = [];
    const eventOwner: number[] = [];
    const conversations: string[] = [];
    const departments: string[] = [];
    for (const s of batch) {
      const key = ownerKey(s.owner);
      let o = ownerIndex.get(key);
      if (o === undefined) {
        owners.push(s.owner);
        o = owners.length; // 1-based, as SQL arrays
        ownerIndex.set(key, o);
      }
      for (const e of s.events) {
        eventOwner.push(o);
        conversations.push(e.conversationId);
        departments.push(e.departmentId);
      }
    }
    // Account ids for owners that have none yet (used only by those that record something).
    const row = await this.run([
      pgArrayLiteral(owners.map((o) => o.agencyId)), pgArrayLiteral(owners.map((o) => o.subAccountId ?? '')), pgArrayLiteral(newIds('cra', owners.length)),
      pgArrayLiteral(eventOwner), pgArrayLiteral(conversations), pgArrayLiteral(departments), now.toISOString(),
    ]);

    let k = 0;
    const results = batch.map((s) =>
      s.events.map((): UsageResult => {
        const i = k++;
        const code = row.codes[i]!;
        if (code !== 0) return refusals[code]!();
        return { status: 200, charged: Number(row.charged[i]), balance: Number(row.balances[i]) };
      }),
    );

    // Low-balance notice (rare): once per downward crossing. Applied after commit under the
    // account's lock, from the state then; the notified flag makes a racing batch skip it.
    const mailIds: (string | null)[] = [];
    for (const accountId of row.crossed ?? []) {
      mailIds.push(
        await this.deps.db.transaction(async (tx) => {
          const [a] = await tx.select().from(creditAccounts).where(eq(creditAccounts.id, accountId)).for('update');
          if (!a) return null;
          return applyLowBalanceRule(tx, { id: a.id, agencyId: a.agencyId, subAccountId: a.subAccountId, balance: a.balance, threshold: a.lowBalanceThreshold, notified: a.lowBalanceNotified }, now);
        }),
      );
    }
    return { results, mailIds };
  }
}

const ownerKey = (o: AccountOwner) => `${o.agencyId}|${o.subAccountId ?? ''}`;

/** FNV-1a: a stable lane per account. */
function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}
