import {
  IdParams,
  ImportReply,
  Page,
  RuleBody,
  RuleEnabledBody,
  RuleFile,
  RuleListQuery,
  RuleReply,
  RuleTestBody,
  RuleTestReply,
  RuleUpdateQuery,
  RuleVersionReply,
  TraceReply,
} from '@thingstead/contract';
import type { Core } from '@thingstead/core';
import { Type } from '@sinclair/typebox';
import { principalOf } from '../auth';
import { bearer, replies, type App } from '../typed';

/** Rules as data (docs/reference/rules.md): CRUD with history, enable, trace, export/import, and replay over history. */
export function ruleRoutes(app: App, core: Core): void {
  const tags = ['rules'];
  app.get(
    '/api/rules',
    {
      schema: {
        tags,
        summary: "The tenant's rules by name, with what the engine counted",
        security: bearer,
        querystring: RuleListQuery,
        response: replies(Page(RuleReply)),
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const offset = req.query.offset ?? 0;
      const page = await core.rules.list(principalOf(req), { ...req.query, limit, offset });
      return { ...page, limit, offset };
    },
  );
  app.post(
    '/api/rules',
    {
      schema: {
        tags,
        summary:
          'Create a rule; a bad field (a JSONata expression that does not compile included) answers 400 RULE_INVALID with every problem at its JSON Pointer',
        security: bearer,
        body: RuleBody,
        response: replies(RuleReply, 201),
      },
    },
    async (req, reply) => reply.status(201).send(await core.rules.create(principalOf(req), req.body)),
  );
  app.get(
    '/api/rules/export',
    {
      schema: {
        tags,
        summary: 'Every rule of the tenant as one file (config as code), for POST /api/rules/import',
        security: bearer,
        response: replies(RuleFile),
      },
    },
    async (req, reply) => {
      reply.header('content-disposition', 'attachment; filename="thingstead-rules.json"');
      return core.rules.export(principalOf(req));
    },
  );
  app.post(
    '/api/rules/import',
    {
      schema: {
        tags,
        summary: 'Import a rules file: rules are matched by name (updated: a new version) or created; one invalid rule refuses the whole file',
        security: bearer,
        body: RuleFile,
        response: replies(ImportReply),
      },
    },
    async (req) => core.rules.import(principalOf(req), req.body),
  );
  app.post(
    '/api/rules/test',
    {
      schema: {
        tags,
        summary:
          'Replay: run a saved rule (ruleId) or a draft (rule) over stored telemetry in time order with a simulated clock, and answer what it would have done (alarms raised and cleared, actions, transitions) without doing any of it',
        security: bearer,
        body: RuleTestBody,
        response: replies(RuleTestReply),
      },
    },
    async (req) => {
      const { rule, ruleId, devices, from, to, tenantId } = req.body;
      return core.rules.test(principalOf(req), {
        from,
        to,
        ...(rule === undefined ? {} : { rule }),
        ...(ruleId === undefined ? {} : { ruleId }),
        ...(devices ? { devices } : {}),
        ...(tenantId === undefined ? {} : { tenantId }),
      });
    },
  );
  app.get('/api/rules/:id', { schema: { tags, summary: 'A rule', security: bearer, params: IdParams, response: replies(RuleReply) } }, async (req) =>
    core.rules.get(principalOf(req), req.params.id),
  );
  app.put(
    '/api/rules/:id',
    {
      schema: {
        tags,
        summary: 'Replace a rule (a new version; ?version= refuses with 409 when someone saved in between); its state per device starts afresh',
        security: bearer,
        params: IdParams,
        querystring: RuleUpdateQuery,
        body: RuleBody,
        response: replies(RuleReply),
      },
    },
    async (req) => core.rules.update(principalOf(req), req.params.id, req.body, req.query.version),
  );
  app.put(
    '/api/rules/:id/enabled',
    {
      schema: {
        tags,
        summary: 'Enable or disable a rule (enabling clears the reason the engine disabled it for)',
        security: bearer,
        params: IdParams,
        body: RuleEnabledBody,
        response: replies(RuleReply),
      },
    },
    async (req) => core.rules.setEnabled(principalOf(req), req.params.id, req.body.enabled),
  );
  app.delete(
    '/api/rules/:id',
    { schema: { tags, summary: 'Delete a rule and its history', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await core.rules.delete(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
  app.get(
    '/api/rules/:id/versions',
    { schema: { tags, summary: "A rule's saved versions, newest first", security: bearer, params: IdParams, response: replies(Type.Array(RuleVersionReply)) } },
    async (req) => core.rules.versions(principalOf(req), req.params.id),
  );
  app.get(
    '/api/rules/:id/trace',
    {
      schema: {
        tags,
        summary:
          'The recent evaluations, newest first: inputs, analytics, the result, actions taken with their outcome, errors (every change, action and error; one unchanged evaluation per second)',
        security: bearer,
        params: IdParams,
        response: replies(Type.Array(TraceReply)),
      },
    },
    async (req) => core.rules.trace(principalOf(req), req.params.id),
  );
}
