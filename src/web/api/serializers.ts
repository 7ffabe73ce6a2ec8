import type { ApiKeySummary } from '../../api-keys/api-keys.usecases';
import type { PackageState } from '../../purchases/purchases.usecases';
import type { Agency } from '../../tenancy/agencies.usecases';
import type { SubAccount } from '../../tenancy/sub-accounts.usecases';
import type * as A from './schemas';
import type { Answer } from './schemas';

// The API's shapes: camelCase, opaque string ids, ISO dates. Internal columns never leak.
export const agencyJson = (a: Agency): Answer<typeof A.Agency> => ({
  id: a.id,
  name: a.name,
  status: a.status,
  suspension: { manual: a.manualSuspended, overdueSince: a.overdueSuspendedAt?.toISOString() ?? null },
  resellingModule: a.resellingModule,
  planCode: a.planCode,
  billingEmail: a.billingEmail,
  timeZone: a.timeZone,
  ccEmails: a.ccEmails,
  locale: a.locale,
  restrictDepartmentsToPackages: a.restrictDepartmentsToPackages,
  chatbotSlots: a.chatbotSlots,
  invoiceDueDays: a.invoiceDueDays,
  createdAt: a.createdAt.toISOString(),
});

export const subAccountJson = (s: SubAccount): Answer<typeof A.SubAccount> => ({
  id: s.id,
  agencyId: s.agencyId,
  name: s.name,
  status: s.status,
  billingEmail: s.billingEmail,
  createdAt: s.createdAt.toISOString(),
});

export const apiKeyJson = (k: ApiKeySummary): Answer<typeof A.ApiKey> => ({
  id: k.id,
  scope: k.scope === 'sub_account' ? 'sub-account' : k.scope,
  agencyId: k.agencyId,
  subAccountId: k.subAccountId,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

export const packageStateJson = (s: PackageState): Answer<typeof A.PackageState> => ({
  using: s.using,
  chatbots: s.chatbots,
  subscription: s.subscription && {
    id: s.subscription.id,
    packageId: s.subscription.packageId,
    startsAt: s.subscription.startsAt.toISOString(),
    endsAt: s.subscription.endsAt.toISOString(),
    nextGrantAt: s.subscription.nextGrantAt?.toISOString() ?? null,
    monthlyCredits: s.subscription.monthlyCredits,
  },
});
