// Reading a server-rendered page's forms the way a browser would post them (fetch-driven flows).

/** Decodes the HTML entities EJS escapes with (named and numeric). */
export const decode = (s: string) =>
  s.replace(/&(#\d+|#x[\da-f]+|amp|lt|gt|quot|apos);/gi, (_m, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (e[0] !== '#') return named[e.toLowerCase()]!;
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? decode(m[1]!) : undefined;
};

export interface HtmlForm { action: string; fields: Record<string, string> }

/** The form marked data-testid=`testId`: its action and hidden fields. */
export function formIn(html: string, testId: string): HtmlForm {
  const m = new RegExp(`<form[^>]*data-testid="${testId}"[^>]*>([\\s\\S]*?)</form>`).exec(html);
  if (!m) throw new Error(`no form ${testId} in page:\n${html.slice(0, 3000)}`);
  const open = /<form[^>]*>/.exec(m[0])![0];
  const fields: Record<string, string> = {};
  for (const input of m[1]!.match(/<input[^>]*>/g) ?? []) {
    const name = attr(input, 'name');
    if (name && attr(input, 'type') === 'hidden') fields[name] = attr(input, 'value') ?? '';
  }
  return { action: attr(open, 'action')!, fields };
}
