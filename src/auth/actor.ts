import type { Role, Scope } from '../../db/schema';

/** Who is calling: a signed-in user (through one membership) or an API key. */
export interface Actor {
  kind: 'user' | 'api_key' | 'system';
  /** user id, api key id, or a job name for the system. */
  id: string;
  scope: Scope;
  agencyId: string | null;
  subAccountId: string | null;
  role: Role;
  billing: boolean;
  membershipId?: string;
}

const rank: Record<Role, number> = { member: 1, admin: 2, owner: 3 };
export const roleAtLeast = (actor: Actor, role: Role) => rank[actor.role] >= rank[role];

export const systemActor = (job: string): Actor => ({
  kind: 'system', id: job, scope: 'platform', agencyId: null, subAccountId: null, role: 'owner', billing: true,
});
