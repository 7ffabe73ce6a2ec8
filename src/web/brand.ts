import type { NextFunction, Request, Response } from 'express';
import { PLATFORM_BRAND, brandByPortalDomain, brandCss, type Brand } from '../branding/brand';
import type { Deps } from '../deps';

/**
 * The brand a request is shown under (res.locals.brand, read by the layout):
 * - a signed-in client: its agency's (loaded with the session's principal, no extra query);
 * - anyone else signed in (agency and platform staff): the platform's;
 * - nobody signed in, on an agency's portal domain, when the deployment trusts the Host header
 *   (TRUST_HOST_HEADER): that agency's; otherwise the platform's.
 */
export async function requestBrand(deps: Deps, req: Request): Promise<Brand> {
  if (req.user) return req.user.brand ?? PLATFORM_BRAND;
  if (deps.config.trustHostHeader) return (await brandByPortalDomain(deps.db, req.hostname ?? '')) ?? PLATFORM_BRAND;
  return PLATFORM_BRAND;
}

/** Shows the page under this brand; a logo is an image from its own https origin, which the CSP then allows. */
export function useBrand(res: Response, brand: Brand): void {
  res.locals.brand = brand;
  if (!brand.logoUrl) return;
  const csp = res.getHeader('content-security-policy');
  if (typeof csp !== 'string') return;
  try {
    const origin = new URL(brand.logoUrl).origin;
    res.setHeader('content-security-policy', csp.replace(/img-src ([^;]*)/, (_m, list: string) => `img-src ${list} ${origin}`));
  } catch {
    // A logo URL is checked when saved; an unreadable one is simply not allowed.
  }
}

export function brandLocals(deps: Deps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    useBrand(res, await requestBrand(deps, req));
    next();
  };
}

/** GET /brand/<rrggbb>.css: a brand colour as a stylesheet (no inline styles under the CSP). */
export function brandStylesheet(req: Request, res: Response, next: NextFunction) {
  const css = brandCss(String(req.params.hex ?? ''));
  if (!css) return next();
  res.type('text/css').set('Cache-Control', 'public, max-age=31536000, immutable').send(css);
}

/**
 * GET /manifest.webmanifest: the web app manifest, so the portal can be installed on a phone (and
 * get push notices there, docs/i18n.md). It is the brand's app: its name, its colour, its logo as
 * the icon (the platform's own icon for platform and agency staff; an agency without a logo gets
 * the phone's default icon, never the platform's). The layout links it with credentials, so a
 * signed-in client gets its agency's brand; the language is the reader's.
 */
export function webManifest(req: Request, res: Response) {
  const brand = (res.locals.brand as Brand | undefined) ?? PLATFORM_BRAND;
  const icons = brand.logoUrl ? [{ src: brand.logoUrl, sizes: 'any', purpose: 'any' }] : brand.agencyId ? [] : [{ src: '/assets/favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }];
  res
    .type('application/manifest+json')
    .set('Cache-Control', 'private, no-cache')
    .send(JSON.stringify({ name: brand.name, short_name: brand.name, lang: req.lang ?? 'en', start_url: '/', scope: '/', display: 'standalone', theme_color: brand.color ?? '#1095c1', background_color: '#ffffff', icons }));
}
