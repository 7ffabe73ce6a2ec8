import type { Express } from 'express';
import request from 'supertest';
import { PASSWORD } from './world';

export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token in page');
  return m[1]!;
}

/** A signed-in browser-like agent (cookie jar), plus the page's CSRF token for forms. */
export async function signIn(app: Express, email: string, password = PASSWORD) {
  const agent = request.agent(app);
  const loginPage = await agent.get('/login').expect(200);
  const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(loginPage.text), email, password });
  if (res.status !== 302) throw new Error(`login failed for ${email}: ${res.status}`);
  const home = await agent.get(res.headers.location as string).redirects(2);
  return { agent, csrf: csrfFrom(home.text) };
}

export const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
