// The usage hot path. Concurrent usage requests are coalesced: while one transaction is being
// committed, new events queue up, and the next transaction applies all of them with a fixed
// handful of set-based statements (group commit). A hot account then pays one row lock and one
// commit per batch, not per event. Every answer is sent only after its debit is committed.
import { eq, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Db, RawSql } from '../../db/client';
import { creditAccounts } from '../../db/schema';
import { fifoOrder, takeFifo, type OpenLot } from '../credits/fifo';
import type { AccountOwner } from '../credits/ledger';
import type { Clock } from '../lib/clock';
import { newId } from '../lib/ids';
import type { Logger } from '../lib/logger';
import { pgArray } from '../lib/pg-array';
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

interface Submission {
  owner: AccountOwner;
  events: UsageEvent[];
  resolve: (results: UsageResult[]) => void;
  reject: (err: unknown) => void;
}

interface AccountState {
  /** '' until the owner has an account. */
  id: string;
  owner: AccountOwner;
  agencyId: string;
  subAccountId: string | null;
  balance: number;
  threshold: number | null;
  notified: boolean;
  agencyStatus: string;
  subStatus: string | null;
  lots: OpenLot[];
  touchedLots: Set<string>;
  changed: boolean;
}

/** Runs one statement of the batch's transaction and returns its rows. */
type Exec = <T>(query: SQL) => Promise<T[]>;
const dialect = new PgDialect();

export interface UsageRecorderDeps {
  db: Db;
  rawSql?: RawSql | undefined;
  clock: Clock;
  queue: Queue;
  logger: Logger;
}

export class UsageRecorder {
  private pending: Submission[] = [];
  private active = 0;
  /** Account ids by owner: creating an account is needed once, then it is only looked up. */
  private readonly knownAccounts = new Map<string, string>();

  constructor(
    private readonly deps: UsageRecorderDeps,
    private readonly opts: { maxEventsPerBatch?: number; concurrency?: number } = {},
  ) {}

  /** Resolves when every submitted event has been applied or refused (graceful shutdown). */
  async whenIdle(): Promise<void> {
    while (this.active > 0 || this.pending.length > 0) await new Promise((r) => setTimeout(r, 10));
  }

  /** Records events for one account; results come back in the same order. */
  record(owner: AccountOwner, events: UsageEvent[]): Promise<UsageResult[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ owner, events, resolve, reject });
      this.kick();
    });
  }

  private kick() {
    while (this.active < (this.opts.concurrency ?? 1) && this.pending.length > 0) {
      this.active++;
      void this.drain().finally(() => {
        this.active--;
        this.kick();
      });
    }
  }

  private async drain() {
    const max = this.opts.maxEventsPerBatch ?? 5000;
    while (this.pending.length > 0) {
      const batch: Submission[] = [];
      let n = 0;
      while (this.pending.length > 0 && (batch.length === 0 || n + this.pending[0]!.events.length <= max)) {
        const s = this.pending.shift()!;
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
        await dispatchEmails(this.deps.queue, mailIds).catch((err) => this.deps.logger.error('low-balance mail dispatch failed', { error: String(err) }));
        return;
      } catch (err) {
        // A deadlock or serialization failure between processes is retried; the transaction
        // rolled back, so nothing was applied.
        const code = (err as { cause?: { code?: string }; code?: string })?.cause?.code ?? (err as { code?: string })?.code;
        if (attempt < 3 && (code === '40P01' || code === '40001')) continue;
        this.deps.logger.error('usage batch failed', { error: String(err), events: batch.reduce((n, s) => n + s.events.length, 0) });
        batch.forEach((s) => s.reject(err));
        return;
      }
    }
  }

  private ownerKey = (o: AccountOwner) => `${o.agencyId}|${o.subAccountId ?? ''}`;

  /**
   * The batch's transaction. On Postgres the statements go through postgres.js as prepared
   * statements (drizzle's raw execute would parse, describe and plan each one again: two round
   * trips instead of one); on PGlite through drizzle. Same SQL either way.
   */
  private inTransaction<R>(fn: (exec: Exec) => Promise<R>): Promise<R> {
    const raw = this.deps.rawSql;
    if (raw) {
      return raw.begin((t) =>
        fn(async <T>(query: SQL) => {
          const { sql: text, params } = dialect.sqlToQuery(query);
          return (await t.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
        }),
      ) as Promise<R>;
    }
    return this.deps.db.transaction((tx) => fn(async <T>(query: SQL) => rowsOf<T>(await tx.execute(query))));
  }

  /** Existing account ids by owner key; owners without an account are absent (nothing to lock). */
  private async existingAccountIds(exec: Exec, owners: AccountOwner[]): Promise<Map<string, string>> {
    const unknown = owners.filter((o) => !this.knownAccounts.has(this.ownerKey(o)));
    if (unknown.length > 0) {
      const rows = await exec<{ id: string; agency_id: string; sub_account_id: string | null }>(sql`
          select a.id, a.agency_id, a.sub_account_id from credit_accounts a
          join unnest(${pgArray(unknown.map((o) => o.agencyId))}::text[], ${pgArray(unknown.map((o) => o.subAccountId ?? ''))}::text[]) as v(agency_id, sub)
            on a.agency_id = v.agency_id and coalesce(a.sub_account_id, '') = v.sub`);
      for (const r of rows) this.knownAccounts.set(`${r.agency_id}|${r.sub_account_id ?? ''}`, r.id);
    }
    const ids = new Map<string, string>();
    for (const o of owners) {
      const id = this.knownAccounts.get(this.ownerKey(o));
      if (id) ids.set(this.ownerKey(o), id);
    }
    return ids;
  }

  /**
   * Creates the accounts of owners that had none but now have something to record (a free
   * conversation). A refused request never creates one: bad input writes nothing.
   */
  private async createAccounts(exec: Exec, owners: AccountOwner[], now: Date): Promise<Map<string, string>> {
    await exec(sql`
      insert into credit_accounts (id, agency_id, sub_account_id, created_at, updated_at)
      select v.id, v.agency_id, v.sub_account_id, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
      from unnest(${pgArray(owners.map(() => newId('cra')))}::text[], ${pgArray(owners.map((o) => o.agencyId))}::text[], ${pgArray(owners.map((o) => o.subAccountId))}::text[]) as v(id, agency_id, sub_account_id)
      on conflict do nothing`);
    // Not cached yet: the transaction may still roll back. Cached after commit.
    const rows = await exec<{ id: string; agency_id: string; sub_account_id: string | null }>(sql`
      select a.id, a.agency_id, a.sub_account_id from credit_accounts a
      join unnest(${pgArray(owners.map((o) => o.agencyId))}::text[], ${pgArray(owners.map((o) => o.subAccountId ?? ''))}::text[]) as v(agency_id, sub)
        on a.agency_id = v.agency_id and coalesce(a.sub_account_id, '') = v.sub`);
    return new Map(rows.map((r) => [`${r.agency_id}|${r.sub_account_id ?? ''}`, r.id]));
  }

  private async apply(batch: Submission[]): Promise<{ results: UsageResult[][]; mailIds: (string | null)[] }> {
    const now = this.deps.clock.now();
    const owners = [...new Map(batch.map((s) => [this.ownerKey(s.owner), s.owner])).values()];
    const deptIds = [...new Set(batch.flatMap((s) => s.events.map((e) => e.departmentId)))];

    const newAccounts = new Map<string, string>();
    const outcome = await this.inTransaction(async (exec) => {
      const idByOwner = await this.existingAccountIds(exec, owners);
      const accountIds = [...new Set(idByOwner.values())].sort();

      const agencyIds = [...new Set(owners.map((o) => o.agencyId))];
      const subIds = owners.filter((o) => o.subAccountId).map((o) => o.subAccountId!);
      const flat = batch.flatMap((s) => s.events.map((e) => ({ accountId: idByOwner.get(this.ownerKey(s.owner)), ...e }))).filter((f) => f.accountId);
      const none = Promise.resolve([]);
      // The reads are independent: they are sent at once and pipelined on the connection. The
      // account row lock is first in line, so every later read runs after it is granted.
      // Row locks in id order: concurrent batches in other processes cannot deadlock.
      const [accountRows, statusRows, lotRows, deptRows, enabledRows, seenRows] = await Promise.all([
        accountIds.length === 0 ? none : exec<{ id: string; agency_id: string; sub_account_id: string | null; balance: number; low_balance_threshold: number | null; low_balance_notified: boolean }>(sql`
          select id, agency_id, sub_account_id, balance, low_balance_threshold, low_balance_notified
          from credit_accounts where id = any(${pgArray(accountIds)}::text[]) order by id for update`),
        exec<{ id: string; status: string }>(sql`
          select id, status from agencies where id = any(${pgArray(agencyIds)}::text[])
          union all select id, status from sub_accounts where id = any(${pgArray(subIds)}::text[])`),
        accountIds.length === 0 ? none : exec<{ id: string; account_id: string; remaining: number; expires_ms: number | null; created_ms: number }>(sql`
          select id, account_id, remaining,
                 (extract(epoch from expires_at) * 1000)::bigint as expires_ms,
                 (extract(epoch from created_at) * 1000)::bigint as created_ms
          from credit_lots where account_id = any(${pgArray(accountIds)}::text[]) and remaining > 0`),
        exec<{ id: string; agency_id: string; credits_per_request: number; archived: boolean }>(sql`
          select id, agency_id, credits_per_request, archived_at is not null as archived
          from departments where id = any(${pgArray(deptIds)}::text[])`),
        subIds.length === 0 ? none : exec<{ sub_account_id: string; department_id: string }>(sql`
          select sub_account_id, department_id from sub_account_departments
          where sub_account_id = any(${pgArray(subIds)}::text[]) and department_id = any(${pgArray(deptIds)}::text[])`),
        // One index probe per event (LATERAL): a plain join switches to a sequential scan of the
        // whole, ever-growing table once batches are large.
        flat.length === 0 ? none : exec<{ account_id: string; conversation_id: string; department_id: string }>(sql`
          select v.account_id, v.conversation_id, v.department_id
          from unnest(${pgArray(flat.map((f) => f.accountId!))}::text[], ${pgArray(flat.map((f) => f.conversationId))}::text[], ${pgArray(flat.map((f) => f.departmentId))}::text[])
            as v(account_id, conversation_id, department_id)
          cross join lateral (
            select 1 from usage_conversations u
            where u.account_id = v.account_id and u.conversation_id = v.conversation_id and u.department_id = v.department_id
            limit 1
          ) hit`),
      ]);

      const status = new Map(statusRows.map((r) => [r.id, r.status]));
      const byId = new Map(accountRows.map((r) => [r.id, r]));
      // One state per owner; an owner without an account yet starts empty.
      const accounts = new Map<string, AccountState>();
      for (const o of owners) {
        const key = this.ownerKey(o);
        const r = idByOwner.has(key) ? byId.get(idByOwner.get(key)!) : undefined;
        accounts.set(key, {
          id: r?.id ?? '', owner: o, agencyId: o.agencyId, subAccountId: o.subAccountId, balance: Number(r?.balance ?? 0),
          threshold: r?.low_balance_threshold == null ? null : Number(r.low_balance_threshold), notified: r?.low_balance_notified ?? false,
          agencyStatus: status.get(o.agencyId) ?? 'active', subStatus: o.subAccountId ? (status.get(o.subAccountId) ?? null) : null,
          lots: [], touchedLots: new Set(), changed: false,
        });
      }
      const stateByAccountId = new Map([...accounts.values()].filter((a) => a.id).map((a) => [a.id, a]));
      for (const l of lotRows) {
        stateByAccountId.get(l.account_id)!.lots.push({
          id: l.id, remaining: Number(l.remaining), expiresAt: l.expires_ms === null ? null : new Date(Number(l.expires_ms)), createdAt: new Date(Number(l.created_ms)),
        });
      }
      const departments = new Map(deptRows.map((d) => [d.id, d]));
      const enabled = new Set(enabledRows.map((r) => `${r.sub_account_id}|${r.department_id}`));
      const seen = new Set(seenRows.map((r) => `${this.ownerKey(stateByAccountId.get(r.account_id)!.owner)}|${r.conversation_id}|${r.department_id}`));

      const ledger: { accountId: string; agencyId: string; subAccountId: string | null; delta: number; balanceAfter: number; reason: string; reference: string; at: Date; departmentId: string | null }[] = [];
      const conversations: { state: AccountState; conversationId: string; departmentId: string; agencyId: string; charged: number }[] = [];

      // Expired lots stop counting at their expiry instant: sweep them with an "expire" entry first.
      for (const a of accounts.values()) {
        a.lots.sort(fifoOrder);
        for (const lot of a.lots) {
          if (lot.expiresAt && lot.expiresAt <= now && lot.remaining > 0) {
            a.balance -= lot.remaining;
            ledger.push({ accountId: a.id, agencyId: a.agencyId, subAccountId: a.subAccountId, delta: -lot.remaining, balanceAfter: a.balance, reason: 'expire', reference: lot.id, at: lot.expiresAt, departmentId: null });
            lot.remaining = 0;
            a.touchedLots.add(lot.id);
            a.changed = true;
          }
        }
      }

      const results = batch.map((s) => {
        const a = accounts.get(this.ownerKey(s.owner))!;
        return s.events.map((e): UsageResult => {
          const dept = departments.get(e.departmentId);
          if (!dept || dept.agency_id !== a.agencyId || dept.archived) return usageErrors.departmentNotFound();
          if (a.subAccountId) {
            if (a.agencyStatus === 'suspended') return usageErrors.providerSuspended();
            if (a.subStatus === 'suspended') return usageErrors.accountSuspended();
            if (!enabled.has(`${a.subAccountId}|${e.departmentId}`)) return usageErrors.departmentDisabled();
          } else if (a.agencyStatus === 'suspended') return usageErrors.accountSuspended();
          const key = `${this.ownerKey(a.owner)}|${e.conversationId}|${e.departmentId}`;
          if (seen.has(key)) return { status: 200, charged: 0, balance: a.balance };
          const cost = Number(dept.credits_per_request);
          if (cost > a.balance) return usageErrors.insufficient();
          seen.add(key);
          conversations.push({ state: a, conversationId: e.conversationId, departmentId: e.departmentId, agencyId: a.agencyId, charged: cost });
          if (cost > 0) {
            for (const t of takeFifo(a.lots, cost)) a.touchedLots.add(t.lotId);
            a.balance -= cost;
            a.changed = true;
            ledger.push({ accountId: a.id, agencyId: a.agencyId, subAccountId: a.subAccountId, delta: -cost, balanceAfter: a.balance, reason: 'consume', reference: e.conversationId, at: now, departmentId: e.departmentId });
          }
          return { status: 200, charged: cost, balance: a.balance };
        });
      });

      const toCreate = [...new Set(conversations.filter((c) => !c.state.id).map((c) => c.state))];
      if (toCreate.length > 0) {
        const created = await this.createAccounts(exec, toCreate.map((a) => a.owner), now);
        for (const a of toCreate) {
          a.id = created.get(this.ownerKey(a.owner))!;
          newAccounts.set(this.ownerKey(a.owner), a.id);
        }
      }
      const changed = [...accounts.values()].filter((a) => a.changed);
      // The writes touch different tables and rows: pipelined too.
      const writes: Promise<unknown>[] = [];
      if (conversations.length > 0) {
        writes.push(exec(sql`
          insert into usage_conversations (account_id, conversation_id, department_id, agency_id, charged, created_at)
          select v.*, ${now.toISOString()}::timestamptz from unnest(
            ${pgArray(conversations.map((c) => c.state.id))}::text[], ${pgArray(conversations.map((c) => c.conversationId))}::text[],
            ${pgArray(conversations.map((c) => c.departmentId))}::text[], ${pgArray(conversations.map((c) => c.agencyId))}::text[],
            ${pgArray(conversations.map((c) => c.charged))}::bigint[]) as v
          on conflict do nothing`));
      }
      if (ledger.length > 0) {
        writes.push(exec(sql`
          insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, created_at, data)
          select v.account_id, v.agency_id, v.sub_account_id, v.delta, v.balance_after, v.reason, v.reference, v.at,
                 case when v.department_id is null then null else jsonb_build_object('departmentId', v.department_id) end
          from unnest(
            ${pgArray(ledger.map((l) => l.accountId))}::text[], ${pgArray(ledger.map((l) => l.agencyId))}::text[], ${pgArray(ledger.map((l) => l.subAccountId))}::text[],
            ${pgArray(ledger.map((l) => l.delta))}::bigint[], ${pgArray(ledger.map((l) => l.balanceAfter))}::bigint[], ${pgArray(ledger.map((l) => l.reason))}::text[],
            ${pgArray(ledger.map((l) => l.reference))}::text[], ${pgArray(ledger.map((l) => l.at))}::timestamptz[], ${pgArray(ledger.map((l) => l.departmentId))}::text[])
            as v(account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, at, department_id)`));
      }
      const lotUpdates = changed.flatMap((a) => a.lots.filter((l) => a.touchedLots.has(l.id)));
      if (lotUpdates.length > 0) {
        writes.push(exec(sql`
          update credit_lots set remaining = v.remaining
          from unnest(${pgArray(lotUpdates.map((l) => l.id))}::text[], ${pgArray(lotUpdates.map((l) => l.remaining))}::bigint[]) as v(id, remaining)
          where credit_lots.id = v.id`));
      }
      if (changed.length > 0) {
        writes.push(exec(sql`
          update credit_accounts set balance = v.balance, updated_at = ${now.toISOString()}::timestamptz
          from unnest(${pgArray(changed.map((a) => a.id))}::text[], ${pgArray(changed.map((a) => a.balance))}::bigint[]) as v(id, balance)
          where credit_accounts.id = v.id`));
      }
      await Promise.all(writes);

      // A cached id the database no longer has (rolled back elsewhere, or removed) is forgotten.
      const locked = new Set(accountRows.map((r) => r.id));
      for (const [key, id] of idByOwner) if (!locked.has(id)) this.knownAccounts.delete(key);
      return { results, crossed: changed.filter((a) => a.threshold !== null && a.balance < a.threshold && !a.notified).map((a) => a.id) };
    });

    for (const [key, id] of newAccounts) this.knownAccounts.set(key, id);

    // Low-balance notice (rare): once per downward crossing. Applied after commit under the
    // account's lock, from the state then; the notified flag makes a racing batch skip it.
    const mailIds: (string | null)[] = [];
    for (const accountId of outcome.crossed) {
      mailIds.push(
        await this.deps.db.transaction(async (tx) => {
          const [a] = await tx.select().from(creditAccounts).where(eq(creditAccounts.id, accountId)).for('update');
          if (!a) return null;
          return applyLowBalanceRule(tx, { id: a.id, agencyId: a.agencyId, subAccountId: a.subAccountId, balance: a.balance, threshold: a.lowBalanceThreshold, notified: a.lowBalanceNotified }, now);
        }),
      );
    }
    return { results: outcome.results, mailIds };
  }
}
