import { pgEnum } from 'drizzle-orm/pg-core';
import { accountStatuses, roles, scopes } from './common';

export const scopeEnum = pgEnum('scope', scopes);
export const roleEnum = pgEnum('role', roles);
export const accountStatusEnum = pgEnum('account_status', accountStatuses);
