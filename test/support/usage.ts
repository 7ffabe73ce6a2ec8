// Set-up steps of the usage tests through the API: departments, enabling them, funding pools and balances.
import type { Express } from 'express';
import request from 'supertest';
import { bearer } from './http';

export function usageSetup(app: () => Express, platformKey: string) {
  const api = () => request(app());
  return {
    department: async (agencyKey: string, name: string, creditsPerRequest: number) =>
      (await api().post('/api/v1/departments').set(bearer(agencyKey)).send({ name, creditsPerRequest }).expect(201)).body.id as string,
    enable: (agencyKey: string, subId: string, departmentIds: string[]) =>
      api().put(`/api/v1/sub-accounts/${subId}/departments`).set(bearer(agencyKey)).send({ departmentIds }).expect(200),
    fillPool: (agencyId: string, credits: number) =>
      api().post(`/api/v1/agencies/${agencyId}/adjustments`).set(bearer(platformKey)).send({ credits, reason: 'seed' }).expect(201),
    fund: (agencyKey: string, subId: string, credits: number) =>
      api().post(`/api/v1/sub-accounts/${subId}/adjustments`).set(bearer(agencyKey)).send({ credits, reason: 'seed' }).expect(201),
  };
}
