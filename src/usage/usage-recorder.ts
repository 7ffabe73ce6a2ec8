// The usage hot path. Concurrent usage requests are coalesced: while one batch is being
// committed, new events queue up, and the next batch applies all of them in one call of the
// usage_apply database function (group commit: one round trip, one row lock and one commit per
// batch, not per event). Up to two batches are in flight at once, never two holding the same
// account: a busy account's events wait for its next batch; a big batch of other accounts
// (hundreds of events) goes out meanwhile, small ones wait and coalesce.
// Every answer is sent only after its debit is committed.
import { eq } from 'drizzle-orm';
import type { Db, RawSql } from '../../db/client';
import { creditAccounts } from '../../db/schema';
import type { AccountOwner } from '../credits/ledger';
import type { Clock } from '../lib/clock';
import { newIds } from '../lib/ids';
import type { Logger } from '../lib/logger';
import { pgArrayLiteral } from '../lib/pg-array';
import { applyLowBalanceRule } from '../credits/low-balance';
import { applyUsageBatch } from '../credits/usage-apply';
import { dispatchEmails } from '../mail/outbox';
import type { Queue } from '../queue';

export interface UsageEvent {
  conversationId: string;
  departmentId: string;
  /** One of the account's representatives (checked by usage_apply), kept with the conversation for the reports. */
  representativeId?: string | undefined;
}

export type UsageResult =
  | { status: 200; charged: number; balance: number }
  | { status: 402 | 403 | 404 | 422; error: string; message: string; retryAfterSeconds?: number };

const failure = (status: 402 | 403 | 404 | 422, error: string, message: string): UsageResult => ({ status, error, message });
export const usageErrors = {
  insufficient: () => failure(402, 'insufficient_credits', 'Not enough credits for this conversation.'),
  departmentDisabled: () => failure(403, 'department_disabled', 'This department is not enabled on this account.'),
  departmentNotFound: () => failure(404, 'department_not_found', 'Unknown department.'),
  accountSuspended: () => failure(403, 'account_suspended', 'This account is suspended.'),
  providerSuspended: () => failure(403, 'provider_suspended', 'The agency providing this account is suspended.'),
  representativeNotFound: () => failure(422, 'representative_not_found', 'representativeId names no representative of this account.'),
};

interface Submission {
  owner: AccountOwner;
  key: string;
  events: UsageEvent[];
  resolve: (results: UsageResult[]) => void;
  reject: (err: unknown) => void;
}

/** usage_apply's per-event codes (db/functions/usage_apply.sql). */
const refusals: Record<number, () => UsageResult> = {
  1: usageErrors.insufficient,
  2: usageErrors.departmentDisabled,
  3: usageErrors.departmentNotFound,
  4: usageErrors.accountSuspended,
  5: usageErrors.providerSuspended,
  6: usageErrors.representativeNotFound,
};

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
   * Batches that may be in flight at once (default 2). Two batches never hold the same account:
   * submissions of an account with a batch in flight wait for the next one (so one busy account
   * gets one growing group commit after another), while other accounts' events may go out in a
   * batch of their own meanwhile (see minEventsToOverlap).
   */
  maxInFlight?: number;
  /**
   * Events a batch needs to start while another is in flight (default 100). Single requests
   * then keep coalescing into one group commit after another, which serves them faster than
   * two half-size commits; requests of hundreds of events (the batch endpoint) overlap.
   */
  minEventsToOverlap?: number;
}

export class UsageRecorder {
  /** Default for `maxInFlight` (bench/usage-server.ts changes it for experiments). */
  static defaultMaxInFlight = 2;
  private pending: Submission[] = [];
  private inFlight = 0;
  /** Accounts (owner keys) in a batch that has not finished yet. */
  private readonly busy = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly deps: UsageRecorderDeps,
    private readonly opts: UsageRecorderOptions = {},
  ) {}

  /** Resolves when every submitted event has been applied or refused (graceful shutdown). */
  async whenIdle(): Promise<void> {
    while (this.inFlight > 0 || this.pending.length > 0) await new Promise((r) => setTimeout(r, 10));
  }

  /** Records events for one account; results come back in the same order. */
  record(owner: AccountOwner, events: UsageEvent[]): Promise<UsageResult[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ owner, key: ownerKey(owner), events, resolve, reject });
      this.kick();
    });
  }

  /**
   * Starts a batch when one may start: at once when nothing is in flight (an idle recorder adds
   * no delay), otherwise after the requests of the current event-loop turn have queued up, so a
   * second batch carries all of them rather than the first one alone.
   */
  private kick() {
    if (this.pending.length === 0 || !this.roomInFlight()) return;
    if (this.inFlight === 0) {
      this.startBatch();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.roomInFlight()) this.startBatch();
    });
  }

  private roomInFlight(): boolean {
    return this.inFlight < (this.opts.maxInFlight ?? UsageRecorder.defaultMaxInFlight);
  }

  /** Takes the pending submissions of accounts not in flight, in order, up to the batch size. */
  private startBatch() {
    const max = this.opts.maxEventsPerBatch ?? 5000;
    const batch: Submission[] = [];
    const rest: Submission[] = [];
    const taken = new Set<string>();
    const left = new Set<string>(); // an account's submissions stay in order: once one waits, the later ones wait too
    let n = 0;
    for (const s of this.pending) {
      if (this.busy.has(s.key) || left.has(s.key) || (n > 0 && n + s.events.length > max)) {
        rest.push(s);
        left.add(s.key);
        continue;
      }
      batch.push(s);
      taken.add(s.key);
      n += s.events.length;
    }
    // Beside a batch in flight, only a big one is worth its own commit; small ones grow meanwhile.
    if (batch.length === 0 || (this.inFlight > 0 && n < (this.opts.minEventsToOverlap ?? 100))) return;
    this.pending = rest;
    this.inFlight++;
    for (const k of taken) this.busy.add(k);
    void this.applyWithRetry(batch).finally(() => {
      this.inFlight--;
      for (const k of taken) this.busy.delete(k);
      this.kick();
    });
    this.kick(); // room for another batch: the accounts left behind wait, others may go meanwhile
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
        // Retried (the statement rolled back, so nothing was applied): a deadlock or serialization
        // failure between processes, and a conversation remembered by another batch that created
        // the same new account at the same moment (unique violation; the retry finds the account,
        // locks it and sees the conversation).
        const code = (err as { cause?: { code?: string }; code?: string })?.cause?.code ?? (err as { code?: string })?.code;
        if (attempt < 3 && (code === '40P01' || code === '40001' || code === '23505')) continue;
        // One tenant's submission must never fail another's: the statement rolled back as a
        // whole, so the batch is split in halves and each half applied on its own, down to the
        // one submission that fails, which alone gets the error.
        if (batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          await this.applyWithRetry(batch.slice(0, half));
          await this.applyWithRetry(batch.slice(half));
          return;
        }
        this.deps.logger.error('usage batch failed', { error: String(err), events: batch.reduce((n, s) => n + s.events.length, 0) });
        batch.forEach((s) => s.reject(err));
        return;
      }
    }
  }

  private async apply(batch: Submission[]): Promise<{ results: UsageResult[][]; mailIds: (string | null)[] }> {
    const now = this.deps.clock.now();
    const ownerIndex = new Map<string, number>();
    const owners: AccountOwner[] = [];
    const eventOwner: number[] = [];
    const conversations: string[] = [];
    const departments: string[] = [];
    const representatives: string[] = [];
    for (const s of batch) {
      const key = s.key;
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
        representatives.push(e.representativeId ?? '');
      }
    }
    // Account ids for owners that have none yet (used only by those that record something).
    const row = await applyUsageBatch(this.deps, [
      pgArrayLiteral(owners.map((o) => o.agencyId)), pgArrayLiteral(owners.map((o) => o.subAccountId ?? '')), pgArrayLiteral(newIds('cra', owners.length)),
      pgArrayLiteral(eventOwner), pgArrayLiteral(conversations), pgArrayLiteral(departments), pgArrayLiteral(representatives), now.toISOString(),
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
