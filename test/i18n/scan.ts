import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Finds text people would read that does not come from the catalogs:
 * - in views: text between tags, and the attributes people read (placeholder, title, aria-label,
 *   alt), outside <% %>; inside <% %>, string literals that look like words for people;
 * - in TypeScript: string literals that are English sentences (a capital letter, a space, and a
 *   final . ! or ?), which must then be keys of the `messages` catalog, and template literals
 *   that build a sentence (they must use a catalog key with parameters instead).
 */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function filesUnder(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, ext));
    else if (name.endsWith(ext)) out.push(p);
  }
  return out.sort();
}

export const rel = (p: string) => relative(ROOT, p).split('\\').join('/');

const WORDS_FOR_PEOPLE = /[A-Z][a-z]{2,}|\b(never|yes|no|none|and|or|the|of|per|until|since|credits?|days?|months?)\b/;

export function viewFindings(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const found: string[] = [];
  // Code inside <% %>: literals that read as words.
  for (const m of src.matchAll(/<%[-=_]?([\s\S]*?)[-_]?%>/g)) {
    // An EJS comment (<%# %>) is for developers and never reaches the page.
    if (m[0].startsWith('<%#')) continue;
    // A catalog key ("billing:title", "autoBilling:status."), named as localize() reads them.
    for (const lit of literalsIn(m[1]!)) if (WORDS_FOR_PEOPLE.test(lit) && !/^[a-z][a-zA-Z]*:[\w.]+$/.test(lit) && !/^[\w./-]+$/.test(lit.replace(/[A-Z]/g, 'x')) ) found.push(`code: ${lit}`);
  }
  const html = src.replace(/<%[\s\S]*?%>/g, ' ').replace(/<script\b[\s\S]*?<\/script>/g, ' ').replace(/<style\b[\s\S]*?<\/style>/g, ' ');
  for (const m of html.matchAll(/\b(placeholder|title|aria-label|alt)="([^"]*)"/g)) if (/[A-Za-z]{2,}/.test(m[2]!)) found.push(`${m[1]}: ${m[2]}`);
  const text = html.replace(/<[^>]*>/g, '\n').replace(/&[a-z]+;|&#\d+;/g, ' ');
  for (const line of text.split('\n')) {
    const s = line.trim();
    if (/[A-Za-z]{2,}/.test(s)) found.push(`text: ${s}`);
  }
  return found;
}

/** String literals in a snippet of JavaScript (a view's code), read with TypeScript's scanner. */
function literalsIn(code: string): string[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, code);
  const out: string[] = [];
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (k === ts.SyntaxKind.StringLiteral || k === ts.SyntaxKind.NoSubstitutionTemplateLiteral || k === ts.SyntaxKind.TemplateHead) out.push(scanner.getTokenValue());
  }
  return out;
}

export const isSentence = (s: string) => /^[A-Z][^\n]*\s[^\n]*[.!?]$/.test(s.trim()) && /[a-z]{2,}/.test(s);

/**
 * Text that is never shown to people, by where it is written (narrow rules, never by wording):
 * - what is logged: the arguments of a logger's call (`logger.warn(...)`, `log.error(...)`);
 * - the message of an error that is not an AppError (`new Error(...)`, `new GatewayError(...)`):
 *   the error handler answers people with "Something went wrong" for those, and a gateway's
 *   protocol diagnostics (a wrong signature, an unexpected answer) are for the operator and the
 *   logs; when a refusal quotes one, the refusal itself is a catalog sentence.
 */
const LOGGER = /^(?:[\w.]*\.)?(?:logger|log)\.(?:debug|info|warn|error|fatal)$/;
const PEOPLES_ERRORS = new Set(['AppError', 'ValidationError']);
function forOperators(n: ts.Node): boolean {
  for (let p: ts.Node | undefined = n.parent; p && !ts.isBlock(p) && !ts.isSourceFile(p); p = p.parent) {
    if (ts.isCallExpression(p) && LOGGER.test(p.expression.getText())) return true;
    if (ts.isNewExpression(p) && ts.isIdentifier(p.expression) && /Error$/.test(p.expression.text) && !PEOPLES_ERRORS.has(p.expression.text)) return true;
    if (ts.isFunctionLike(p)) return false;
  }
  return false;
}

/** Sentences in a TypeScript file, from its syntax tree (comments are not literals). */
export function sourceSentences(file: string): { fixed: string[]; built: string[] } {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const fixed: string[] = [];
  const built: string[] = [];
  const visit = (n: ts.Node) => {
    if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n)) && forOperators(n)) return;
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) {
      if (isSentence(n.text)) fixed.push(n.text);
    } else if (ts.isTemplateExpression(n)) {
      const whole = n.head.text + n.templateSpans.map((s) => 'X' + s.literal.text).join('');
      if (isSentence(whole)) built.push(whole);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { fixed, built };
}
