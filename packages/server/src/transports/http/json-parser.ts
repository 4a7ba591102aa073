import { jsonProblem, ThingsteadError } from '@thingstead/core';
import type { FastifyInstance } from 'fastify';

/**
 * application/json bodies: fastify's own parser (secure-json-parse, refusing __proto__ and constructor
 * poisoning), then the limits every JSON document meets (core json.ts: at most maxJsonDepth levels of
 * nesting, finite numbers), so no later step (validation, stringify, serialisation) can exhaust the stack.
 */
export function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    // The default parser is synchronous and answers through done; its declared return type allows a promise.
    void parse(req, typeof body === 'string' ? body : body.toString('utf8'), (err: Error | null, value?: unknown) => {
      if (err) {
        done(err, undefined);
        return;
      }
      const problem = jsonProblem(value);
      if (problem === undefined) done(null, value);
      else done(new ThingsteadError('BAD_JSON', `The body is refused: ${problem}.`), undefined);
    });
  });
}
