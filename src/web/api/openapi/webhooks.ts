// The document's `webhooks` section (OpenAPI 3.1): what Kontor POSTs to a seller's endpoints,
// one operation per event type, from the same zod schemas the emitters are typed by.
import type { z } from 'zod';
import { webhookEventTypes } from '../../../../db/schema';
import type { tFor } from '../../../i18n/i18n';
import { eventEnvelope } from '../../../webhooks/event-schemas';

type Json = Record<string, unknown>;

export function webhookSection(convert: (schema: z.ZodType, io: 'input' | 'output', defs: Json) => Json, defs: Json, t: ReturnType<typeof tFor>): Json {
  const out: Json = {};
  for (const type of webhookEventTypes) {
    const name = type.replace('.', '_');
    out[type] = {
      post: {
        operationId: `webhook${name.split('_').map((p) => p[0]!.toUpperCase() + p.slice(1)).join('')}`,
        summary: t(`webhooks:event.${name}`),
        description: t('apidocs:webhookEvent'),
        tags: ['Webhooks'],
        security: [],
        parameters: [
          { name: 'Kontor-Signature', in: 'header', required: true, schema: { type: 'string' }, description: t('apidocs:webhookSignature') },
          { name: 'Kontor-Event-Id', in: 'header', required: true, schema: { type: 'string' }, description: t('apidocs:webhookEventId') },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: convert(eventEnvelope(type), 'output', defs) } } },
        responses: {
          '200': { description: t('apidocs:webhookReceived') },
          '400': { description: t('apidocs:webhookRefused') },
        },
      },
    };
  }
  return out;
}
