import { Router, type Request, type Response } from 'express';
import { creditFlowReport, type CreditFlowReport } from '../../reports/credit-flow-report';
import { flowCsv, salesCsv, usageCsv, writeCsv } from '../../reports/report-csv';
import type { ReportFilters } from '../../reports/report-filters';
import { salesReport } from '../../reports/sales-report';
import { usageReport } from '../../reports/usage-report';
import type { Deps } from '../../deps';
import { actorOf } from '../middleware';

const filtersJson = (f: ReportFilters) => ({
  from: f.from, to: f.to, departmentId: f.departmentId,
  subAccountId: f.account.kind === 'sub' ? f.account.subAccountId : f.account.kind === 'pool' ? 'pool' : null,
});
const wantsCsv = (req: Request) => req.query.format === 'csv';
const sendCsv = (res: Response, name: string, body: string) => res.type('text/csv').attachment(`${name}.csv`).send(body);
const streamCsv = (res: Response, name: string, chunks: Iterable<string>) => writeCsv(res.type('text/csv').attachment(`${name}.csv`), chunks);
const flowJson = (r: CreditFlowReport) => ({ zone: r.scope.zone, filters: filtersJson(r.filters), by: r.by, data: r.rows, totals: r.totals, ...(r.paging ? { paging: r.paging } : {}) });

/**
 * GET /reports/usage, /reports/credit-flow, /reports/sales (DESIGN section 11): the caller's
 * tenant's figures; `?format=csv` for the CSV export. Filters: from, to (YYYY-MM-DD in the
 * seller's zone), department, subAccount ('pool' for the agency's own), by. Usage by sub-account
 * or representative and credit flow by account answer a page of groups (largest first; `page`
 * from 1, `limit` up to 1000, default 100) with the range's totals and `paging` (the number of
 * groups and pages, and `others`: what the groups not on the page add up to); their CSV holds
 * every group.
 */
export function reportApiRoutes(deps: Deps): Router {
  const r = Router();
  r.get('/reports/usage', async (req, res) => {
    const report = await usageReport(deps, { actor: actorOf(req), query: req.query, all: wantsCsv(req) });
    if (wantsCsv(req)) return streamCsv(res, `usage-by-${report.by}-${report.filters.from}-${report.filters.to}`, usageCsv(report));
    res.json({ zone: report.scope.zone, filters: filtersJson(report.filters), by: report.by, data: report.rows, totals: report.totals, ...(report.paging ? { paging: report.paging } : {}) });
  });
  r.get('/reports/credit-flow', async (req, res) => {
    const report = await creditFlowReport(deps, { actor: actorOf(req), query: req.query, all: wantsCsv(req) });
    if (wantsCsv(req)) return streamCsv(res, `credit-flow-by-${report.by}-${report.filters.from}-${report.filters.to}`, flowCsv(report));
    res.json(flowJson(report));
  });
  r.get('/reports/sales', async (req, res) => {
    const report = await salesReport(deps, { actor: actorOf(req), query: req.query });
    if (wantsCsv(req)) return void sendCsv(res, `sales-${report.filters.from}-${report.filters.to}`, salesCsv(report));
    res.json({ zone: report.scope.zone, filters: filtersJson(report.filters), data: report.rows, totals: report.totals });
  });
  return r;
}
