// Root hooks: one database for the whole run (real Postgres when DATABASE_URL is set, in-memory
// PGlite otherwise), migrated from scratch with the real migrations; closed at the end.
import { closeTestDatabase } from './support/db';
import { closeSmtpCapture } from './support/smtp';
// Every /api/v1 answer the tests receive is checked against the OpenAPI document.
import './support/openapi-check';

export const mochaHooks = {
  async afterAll() {
    await closeSmtpCapture();
    await closeTestDatabase();
  },
};
