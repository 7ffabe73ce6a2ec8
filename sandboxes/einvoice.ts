// An offline e-invoice integrator. It takes UBL-TR XML over HTTP as an integrator does, checks it
// minimally (well-formed XML, an Invoice with a UUID ETTN matching the idempotency key, a GİB
// document number, a known profile), and answers the ETTN and a status: accepted, pending (then
// accepted when asked again) or rejected with a reason. The same ETTN sent again answers the
// first outcome and counts no second document. docs/sandboxes.md: how to make it reject.
//
//   POST /documents[?alias=]  Authorization: Bearer <key>, Idempotency-Key: <ETTN>, body: the XML;
//                             an e-Fatura (TEMELFATURA, TICARIFATURA) needs the receiver's GİB
//                             mailbox as `alias` (urn:mail:...), else it is rejected, not kept
//   GET  /documents/:ettn     where a document stands
//   POST /control             { rejectNext?, reason?, failNext?, pendingNext?, reset? } for the next sends of this key
//   GET  /control             what this key's sandbox holds (tests)
// A buyer whose name contains "REJECT" (any case) is always rejected: a switch the demo can use.
import express, { type Request, type Response, type Router } from 'express';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface EInvoiceSandboxMerchant {
  name: string;
}

export interface EInvoiceSandboxOptions {
  /** The seller behind an API key, or null when the key is unknown (401). Default: any key. */
  resolveMerchant?: (apiKey: string) => Promise<EInvoiceSandboxMerchant | null>;
}

interface Stored {
  ettn: string;
  /** The receiver's GİB mailbox (e-Fatura). */
  alias?: string;
  number: string;
  profile: string;
  status: 'accepted' | 'pending' | 'rejected';
  reason?: string;
  /** How many times it was taken in (a rejected ETTN sent again is looked at again). */
  received: number;
}

interface KeyState {
  documents: Map<string, Stored>;
  rejectNext: number;
  rejectReason: string;
  failNext: number;
  pendingNext: number;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const NUMBER = /^[A-Z0-9]{3}20\d{2}\d{9}$/;
const ALIAS = /^urn:mail:[^\s@]+@[^\s@]+$/i;
const PROFILES = new Set(['TEMELFATURA', 'TICARIFATURA', 'EARSIVFATURA']);
const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false });

const flat = (v: unknown): string => (typeof v === 'string' ? v : v && typeof v === 'object' && '#text' in v ? String((v as Record<string, unknown>)['#text']) : '');

export function createEInvoiceSandbox(opts: EInvoiceSandboxOptions = {}): Router {
  const r = express.Router();
  const states = new Map<string, KeyState>();
  const stateOf = (key: string): KeyState => {
    let s = states.get(key);
    if (!s) states.set(key, (s = { documents: new Map(), rejectNext: 0, rejectReason: 'Sandbox: rejected on request', failNext: 0, pendingNext: 0 }));
    return s;
  };

  const authorized = async (req: Request, res: Response): Promise<KeyState | null> => {
    const key = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1]?.trim();
    const merchant = key ? (opts.resolveMerchant ? await opts.resolveMerchant(key) : { name: 'sandbox' }) : null;
    if (!key || !merchant) {
      res.status(401).json({ error: 'unauthorized', message: 'Unknown or missing API key.' });
      return null;
    }
    return stateOf(key);
  };
  const answer = (d: Stored) => ({ ettn: d.ettn, number: d.number, profile: d.profile, ...(d.alias ? { alias: d.alias } : {}), status: d.status, ...(d.reason ? { reason: d.reason } : {}), received: d.received });

  r.post('/documents', express.text({ type: () => true, limit: '5mb' }), async (req, res) => {
    const state = await authorized(req, res);
    if (!state) return;
    if (state.failNext > 0) {
      state.failNext--;
      return void res.status(503).json({ error: 'unavailable', message: 'Sandbox: failing on request.' });
    }
    const key = req.get('idempotency-key') ?? '';
    const xml = typeof req.body === 'string' ? req.body : '';
    const refuse = (ettn: string, reason: string) => {
      // A document the sandbox cannot read is refused without being kept (no ETTN to keep it under).
      res.status(400).json({ ettn, status: 'rejected', reason });
    };
    if (!UUID.test(key)) return refuse(key || '-', 'Idempotency-Key must be the ETTN (a UUID).');
    const previous = state.documents.get(key.toLowerCase());
    if (previous && previous.status !== 'rejected') return void res.json(answer(previous));
    if (XMLValidator.validate(xml) !== true) return refuse(key, 'The XML is not well-formed.');
    const inv = (parser.parse(xml) as Record<string, Record<string, unknown> | undefined>).Invoice;
    if (!inv) return refuse(key, 'The document is not a UBL Invoice.');
    const ettn = flat(inv.UUID), number = flat(inv.ID), profile = flat(inv.ProfileID);
    if (!UUID.test(ettn)) return refuse(key, 'cbc:UUID is not a UUID.');
    if (ettn.toLowerCase() !== key.toLowerCase()) return refuse(key, 'cbc:UUID is not the Idempotency-Key.');
    if (!NUMBER.test(number)) return refuse(key, `cbc:ID ${number} is not a GİB document number.`);
    if (!PROFILES.has(profile)) return refuse(key, `cbc:ProfileID ${profile} is not known.`);
    // e-Fatura goes from mailbox to mailbox: without the receiver's alias GİB cannot deliver it.
    const alias = typeof req.query.alias === 'string' ? req.query.alias.trim() : '';
    if (profile !== 'EARSIVFATURA' && !alias) return refuse(key, `${profile} is an e-Fatura: the receiver's GİB alias (posta kutusu etiketi, urn:mail:...) is required and none was given.`);
    if (profile !== 'EARSIVFATURA' && !ALIAS.test(alias)) return refuse(key, `The receiver's GİB alias ${alias} is not a urn:mail: address.`);
    const buyer = JSON.stringify((inv.AccountingCustomerParty as Record<string, unknown> | undefined) ?? {});
    const doc: Stored = { ettn, number, profile, ...(alias ? { alias } : {}), status: 'accepted', received: (previous?.received ?? 0) + 1 };
    if (/reject/i.test(buyer)) Object.assign(doc, { status: 'rejected', reason: 'Sandbox: the buyer is marked to be rejected.' });
    else if (state.rejectNext > 0) {
      state.rejectNext--;
      Object.assign(doc, { status: 'rejected', reason: state.rejectReason });
    } else if (state.pendingNext > 0) {
      state.pendingNext--;
      doc.status = 'pending';
    }
    state.documents.set(key.toLowerCase(), doc);
    res.json(answer(doc));
  });

  r.get('/documents/:ettn', async (req, res) => {
    const state = await authorized(req, res);
    if (!state) return;
    const d = state.documents.get(String(req.params.ettn).toLowerCase());
    if (!d) return void res.status(404).json({ error: 'not_found', message: 'No document with this ETTN.' });
    // GİB answers a pending document on the next look.
    if (d.status === 'pending') d.status = 'accepted';
    res.json(answer(d));
  });

  r.post('/control', express.json(), async (req, res) => {
    const state = await authorized(req, res);
    if (!state) return;
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.reset === true) Object.assign(state, { documents: new Map(), rejectNext: 0, failNext: 0, pendingNext: 0, rejectReason: 'Sandbox: rejected on request' });
    const count = (v: unknown) => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
    state.rejectNext = count(b.rejectNext) ?? state.rejectNext;
    state.failNext = count(b.failNext) ?? state.failNext;
    state.pendingNext = count(b.pendingNext) ?? state.pendingNext;
    if (typeof b.reason === 'string' && b.reason.trim()) state.rejectReason = b.reason.trim();
    res.json({ rejectNext: state.rejectNext, failNext: state.failNext, pendingNext: state.pendingNext, reason: state.rejectReason });
  });

  r.get('/control', async (req, res) => {
    const state = await authorized(req, res);
    if (!state) return;
    res.json({ rejectNext: state.rejectNext, failNext: state.failNext, pendingNext: state.pendingNext, documents: [...state.documents.values()].map(answer) });
  });
  return r;
}
