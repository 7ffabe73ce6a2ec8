// The report pages (DESIGN section 11) of the three consoles: usage and credit flow for an
// agency (its clients and its pool) and a client (its own account), sales for an agency (with
// the billing permission) and the platform (by agency). Each page: filters, a chart drawn by
// /assets/js/report-chart.js from a data attribute (no inline script: CSP), a table, a CSV link.
import { Router, type Request, type Response } from 'express';
import type { Deps } from '../../deps';
import type { Translate } from '../../i18n/i18n';
import type { Formatter } from '../../i18n/format';
import { ValidationError } from '../../lib/errors';
import { creditFlowReport, flowColumns, type CreditFlowReport } from '../../reports/credit-flow-report';
import { flowCsv, salesCsv, usageCsv, writeCsv } from '../../reports/report-csv';
import { filterChoices, filterQuery, type ReportScope } from '../../reports/report-filters';
import { salesReport, type SalesReport } from '../../reports/sales-report';
import { usageGroupings, usageReport, type UsageReport, type UsageRow } from '../../reports/usage-report';
import { actorOf, requireUser } from '../middleware';
import { page } from '../render';

type Console = 'agency' | 'portal' | 'platform';
type Kind = 'usage' | 'credit-flow' | 'sales';

/** The sales table shows this many rows at most; the CSV has them all. (Usage by sub-account or representative and credit flow by account come a page of groups at a time.) */
const PAGE_ROWS = 500;
/** Bars in a chart of names (departments, sub-accounts, representatives): the biggest ones. */
const CHART_BARS = 20;

interface Dataset {
  label: string;
  data: number[];
  stack?: string;
}
interface ChartSpec {
  type: 'line' | 'bar';
  labels: string[];
  datasets: Dataset[];
  stacked?: boolean;
}

/** Reports a console offers, in the order of its tabs. */
function kindsOf(console: Console, billing: boolean): Kind[] {
  if (console === 'platform') return ['sales'];
  if (console === 'portal') return ['usage', 'credit-flow'];
  return billing ? ['usage', 'credit-flow', 'sales'] : ['usage', 'credit-flow'];
}

const usageLabel = (t: Translate, fmt: Formatter, by: UsageReport['by'], r: UsageRow) => {
  if (by === 'day') return fmt.day(r.key);
  if (by === 'subAccount' && r.key === '') return t('reports:pool');
  if (by === 'representative' && r.key === '') return t('reports:noRepresentative');
  return r.name ?? t('reports:removed');
};

function usageChart(t: Translate, fmt: Formatter, r: UsageReport): ChartSpec {
  const rows = r.by === 'day' ? r.rows : r.rows.slice(0, CHART_BARS);
  return {
    type: r.by === 'day' ? 'line' : 'bar',
    labels: rows.map((x) => usageLabel(t, fmt, r.by, x)),
    datasets: [{ label: t('reports:col.credits'), data: rows.map((x) => x.credits) }, { label: t('reports:col.conversations'), data: rows.map((x) => x.conversations) }],
  };
}

function flowChart(t: Translate, fmt: Formatter, r: CreditFlowReport): ChartSpec {
  const rows = r.by === 'day' ? r.rows : r.rows.slice(0, CHART_BARS);
  return {
    type: 'bar',
    stacked: true,
    labels: rows.map((x) => (r.by === 'day' ? fmt.day(x.key) : x.key === '' ? t('reports:pool') : x.name ?? t('reports:removed'))),
    datasets: [
      { label: t('reports:flow.in'), data: rows.map((x) => x.in), stack: 'in' },
      { label: t('reports:flow.out'), data: rows.map((x) => -x.out), stack: 'out' },
    ],
  };
}

function salesChart(t: Translate, fmt: Formatter, r: SalesReport): ChartSpec {
  // One currency per chart: the one with the most sales (the table shows every currency).
  const currency = [...r.totals].sort((a, b) => b.paidMinor + b.openMinor - (a.paidMinor + a.openMinor))[0]?.currency;
  const sum = (m: string, k: 'paidMinor' | 'openMinor') => r.rows.filter((x) => x.month === m && x.currency === currency).reduce((s, x) => s + x[k], 0) / 100;
  return {
    type: 'bar',
    stacked: true,
    labels: r.months.map((m) => fmt.month(m)),
    datasets: currency
      ? [{ label: t('reports:sales.paidIn', { currency }), data: r.months.map((m) => sum(m, 'paidMinor')) }, { label: t('reports:sales.openIn', { currency }), data: r.months.map((m) => sum(m, 'openMinor')) }]
      : [],
  };
}

export function reportRoutes(deps: Deps, console: Console): Router {
  const r = Router();
  const base = `/${console}/reports`;
  r.use('/reports', requireUser(console === 'portal' ? 'sub_account' : console));

  r.get('/reports', (req, res) => res.redirect(`${base}/${kindsOf(console, actorOf(req).billing)[0]}`));

  /** Runs a report; filters that do not hold are shown on the form, with the default range's figures. */
  async function run<T>(req: Request, fn: (query: unknown) => Promise<T>): Promise<{ report: T; errors: Record<string, string> }> {
    try {
      return { report: await fn(req.query), errors: {} };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const by = typeof req.query.by === 'string' ? { by: req.query.by } : {};
      return { report: await fn(by), errors: err.fields };
    }
  }

  async function render(req: Request, res: Response, kind: Kind, report: UsageReport | CreditFlowReport | SalesReport, errors: Record<string, string>, chart: ChartSpec, extra: Record<string, unknown>) {
    const scope: ReportScope = report.scope;
    const by = 'by' in report ? report.by : null;
    await page(res, 'reports/report', {
      title: req.t(`reports:title.${kind}`),
      kind, kinds: kindsOf(console, actorOf(req).billing), base, scope, filters: report.filters, errors,
      choices: await filterChoices(deps, scope), console,
      csvHref: `${base}/${kind}.csv?${filterQuery(report.filters, by ? { by } : {})}`,
      pageHref: (n: number) => `${base}/${kind}?${filterQuery(report.filters, { ...(by ? { by } : {}), page: String(n) })}`,
      chart, pageRows: PAGE_ROWS, form: req.query,
      ...extra,
    }, Object.keys(errors).length ? 422 : 200);
  }

  if (console !== 'platform') {
    r.get('/reports/usage', async (req, res) => {
      const { report, errors } = await run(req, (query) => usageReport(deps, { actor: actorOf(req), query }));
      await render(req, res, 'usage', report, errors, usageChart(req.t, req.fmt, report), {
        usage: report, groupings: usageGroupings, label: (x: UsageRow) => usageLabel(req.t, req.fmt, report.by, x),
      });
    });
    r.get('/reports/usage.csv', async (req, res) => {
      const report = await usageReport(deps, { actor: actorOf(req), query: req.query, all: true });
      await writeCsv(res.type('text/csv').attachment(`usage-by-${report.by}-${report.filters.from}-${report.filters.to}.csv`), usageCsv(report));
    });
    r.get('/reports/credit-flow', async (req, res) => {
      const { report, errors } = await run(req, (query) => creditFlowReport(deps, { actor: actorOf(req), query }));
      await render(req, res, 'credit-flow', report, errors, flowChart(req.t, req.fmt, report), { flow: report, flowColumns });
    });
    r.get('/reports/credit-flow.csv', async (req, res) => {
      const report = await creditFlowReport(deps, { actor: actorOf(req), query: req.query, all: true });
      await writeCsv(res.type('text/csv').attachment(`credit-flow-by-${report.by}-${report.filters.from}-${report.filters.to}.csv`), flowCsv(report));
    });
  }
  if (console !== 'portal') {
    r.get('/reports/sales', async (req, res) => {
      const { report, errors } = await run(req, (query) => salesReport(deps, { actor: actorOf(req), query }));
      await render(req, res, 'sales', report, errors, salesChart(req.t, req.fmt, report), { sales: report });
    });
    r.get('/reports/sales.csv', async (req, res) => {
      const report = await salesReport(deps, { actor: actorOf(req), query: req.query });
      res.type('text/csv').attachment(`sales-${report.filters.from}-${report.filters.to}.csv`).send(salesCsv(report));
    });
  }
  return r;
}
