// Baseline of bench/usage.ts: the cheapest Express JSON endpoint. It parses the body like the
// API does and answers {ok:true}, with no authentication and no database.
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});
app.post('/api/v1/usage', express.json({ limit: '100kb' }), (_req, res) => {
  res.json({ ok: true });
});
const server = app.listen(Number(process.env.PORT ?? 3001), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
