import http from 'node:http';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import { getStatus, matchesSearchRequest, Operator, OperationOutcomeError, type SearchRequest, validateResource, type WithId } from '@medplum/core';
import type { Bundle, CapabilityStatement, CapabilityStatementRestResource, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type JWK, importJWK, jwtVerify } from 'jose';
import { fhirDefinitions } from '../fhir/definitions.js';

/**
 * A real FHIR R4 server for tests and benchmarks: a small fastify app around
 * @medplum/fhir-router's FhirRouter and in-memory repository, speaking FHIR over HTTP
 * (application/fhir+json, conditional create, PUT, search, batch). It validates what it stores
 * against the base R4 definitions (a real EHR would; MemoryRepository alone does not), and has
 * knobs to misbehave: go down and come back on the same port, add latency, answer 503, commit
 * and then drop the response, refuse chosen resources with 422. It can also demand credentials:
 * basic, bearer, or SMART Backend Services (a token endpoint that verifies our signed JWT
 * assertion with jose, RFC 7523).
 */

export type CapabilityMode = 'conditional-create' | 'update-as-create' | 'search-only' | 'no-metadata';

export type ServerAuth =
  | { readonly type: 'none' }
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  | { readonly type: 'bearer'; readonly token: string }
  | { readonly type: 'smart'; readonly clientId: string; readonly publicJwk: JWK; readonly alg: 'RS384' | 'ES384'; readonly tokenLifetimeS?: number };

export interface FhirTestServerOptions {
  readonly capability?: CapabilityMode;
  /** Advertise and accept batch Bundles (default true). */
  readonly batch?: boolean;
  /** Advertise Device resources (default true); false: the server keeps none. */
  readonly devices?: boolean;
  /** Validate created and updated resources against the R4 base definitions (default true). */
  readonly validate?: boolean;
  readonly auth?: ServerAuth;
  readonly port?: number;
  /**
   * 'enforce': like an EHR that enforces references, an Observation's subject and performer must
   * name an existing Patient: a literal `Patient/{id}`, or a conditional `Patient?identifier=…`
   * (resolved to the one match and stored as a literal reference; none: 400, several: 412, with
   * HAPI's messages); a logical reference (identifier only) is refused. Default 'ignore'.
   */
  readonly patients?: 'ignore' | 'enforce';
}

export interface LoggedRequest {
  readonly method: string;
  /** Path below /fhir, without the query string. */
  readonly path: string;
  /** The query string (`?…`), or ''; tests check that no patient identifier travels in a URL. */
  readonly query: string;
  readonly status: number;
  readonly entries: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function outcome(code: string, text: string, id?: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', ...(id === undefined ? {} : { id }), issue: [{ severity: 'error', code: code as 'invalid', details: { text } }] };
}

type Identified = Resource & { identifier?: { system?: string; value?: string }[] };

/**
 * MemoryRepository plus what a real server does on write: validate, refuse on request, and
 * index identifiers. MemoryRepository answers every search by evaluating it against every
 * stored resource (about 0.3 ms each), so conditional creates slow down linearly as the store
 * grows and a few thousand Observations take most of a benchmark; a real EHR has an index on
 * identifier. Identifier searches look up their candidates in this index and then apply
 * MemoryRepository's own matcher to them, so results are the same, only found faster.
 */
class CheckingRepository extends MemoryRepository {
  validate = true;
  enforcePatients = false;
  refuse: ((resource: Resource) => string | undefined) | undefined;
  /** `type|system|value` → ids of the resources carrying that identifier. */
  private readonly byIdentifier = new Map<string, Set<string>>();

  // 4.5.2 passes an options argument at run time ({ assignedId } in batches) that its typings omit.
  override async createResource<T extends Resource>(resource: T, ...rest: unknown[]): Promise<WithId<T>> {
    this.check(resource);
    resource = await this.resolvePatients(resource);
    const create = super.createResource.bind(this) as (r: T, ...more: unknown[]) => Promise<WithId<T>>;
    const created = await create(resource, ...rest);
    this.index(created, 'add');
    return created;
  }

  override async updateResource<T extends Resource>(resource: T, ...rest: unknown[]): Promise<WithId<T>> {
    this.check(resource);
    resource = await this.resolvePatients(resource);
    const previous = resource.id === undefined ? undefined : await this.readResource(resource.resourceType, resource.id).catch(() => undefined);
    const update = super.updateResource.bind(this) as (r: T, ...more: unknown[]) => Promise<WithId<T>>;
    const updated = await update(resource, ...rest);
    if (previous !== undefined) this.index(previous, 'delete');
    this.index(updated, 'add');
    return updated;
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    const previous = await this.readResource(resourceType, id).catch(() => undefined);
    await super.deleteResource(resourceType, id);
    if (previous !== undefined) this.index(previous, 'delete');
  }

  override async search<T extends Resource>(request: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const [filter, ...others] = request.filters ?? [];
    if (filter === undefined || others.length > 0 || filter.code !== 'identifier' || filter.operator !== Operator.EQUALS || !filter.value.includes('|') || filter.value.includes(',')) {
      return super.search(request);
    }
    const ids = this.byIdentifier.get(`${request.resourceType}|${filter.value}`) ?? new Set<string>();
    const matches: WithId<T>[] = [];
    for (const id of ids) {
      const r = (await this.readResource(request.resourceType, id)) as WithId<T>;
      if (matchesSearchRequest(r, request)) matches.push(r);
    }
    const page = matches.slice(request.offset ?? 0, request.count === undefined ? undefined : (request.offset ?? 0) + request.count);
    return { resourceType: 'Bundle', type: 'searchset', ...(page.length === 0 ? {} : { entry: page.map((resource) => ({ resource })) }), total: matches.length };
  }

  private index(resource: Resource, op: 'add' | 'delete'): void {
    if (resource.id === undefined) return;
    for (const id of (resource as Identified).identifier ?? []) {
      if (id.system === undefined || id.value === undefined) continue;
      const key = `${resource.resourceType}|${id.system}|${id.value}`;
      const set = this.byIdentifier.get(key) ?? new Set<string>();
      if (op === 'add') set.add(resource.id);
      else set.delete(resource.id);
      if (set.size === 0) this.byIdentifier.delete(key);
      else this.byIdentifier.set(key, set);
    }
  }

  /** An EHR that enforces references: subject and performer must be (or resolve to) an existing Patient. */
  private async resolvePatients<T extends Resource>(resource: T): Promise<T> {
    if (!this.enforcePatients || resource.resourceType !== 'Observation') return resource;
    const o = resource as unknown as { subject?: { reference?: string }; performer?: { reference?: string }[] };
    const resolve = async (ref: { reference?: string } | undefined, path: string): Promise<{ reference: string }> => {
      const r = ref?.reference;
      if (r === undefined) throw new OperationOutcomeError(outcome('required', `${path} must reference a Patient resource`));
      if (r.startsWith('Patient?')) {
        const query = new URLSearchParams(r.slice('Patient?'.length));
        const identifier = query.get('identifier') ?? '';
        const bundle = await this.search({ resourceType: 'Patient', filters: [{ code: 'identifier', operator: Operator.EQUALS, value: identifier.replace(/\\([\\|,$])/g, '$1') }] });
        const found = bundle.entry ?? [];
        if (found.length === 0) throw new OperationOutcomeError(outcome('invalid', `HAPI-1091: Invalid match URL "${r}" - No resources match this search (in ${path})`));
        if (found.length > 1) throw new OperationOutcomeError(outcome('multiple-matches', `HAPI-1092: Invalid match URL "${r}" - Multiple resources match this search (in ${path})`, 'multiple-matches'));
        return { reference: `Patient/${found[0]?.resource?.id ?? ''}` };
      }
      const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(r);
      if (m === null || (await this.readResource('Patient', m[1] as string).catch(() => undefined)) === undefined) {
        throw new OperationOutcomeError(outcome('invalid', `HAPI-1094: Resource ${r} not found, specified in path: ${path}`));
      }
      return { reference: r };
    };
    const subject = await resolve(o.subject, 'Observation.subject');
    const performer = o.performer === undefined ? undefined : await Promise.all(o.performer.map((p) => resolve(p, 'Observation.performer')));
    return { ...resource, subject, ...(performer === undefined ? {} : { performer }) };
  }

  private check(resource: Resource): void {
    if (this.validate) validateResource(resource); // throws OperationOutcomeError → 400
    const why = this.refuse?.(resource);
    // id `business-rule` is what @medplum/core maps to 422 Unprocessable Entity.
    if (why !== undefined) throw new OperationOutcomeError(outcome('business-rule', why, 'business-rule'));
  }
}

export class FhirTestServer {
  readonly repo = new CheckingRepository();
  private readonly router = new FhirRouter();
  private readonly app: FastifyInstance;
  private server: http.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private portValue = 0;
  private readonly issuedTokens = new Map<string, number>();
  private readonly seenJti = new Set<string>();

  /** Added before every request is handled. */
  latencyMs = 0;
  /** Added per Bundle entry (a big batch takes longer than a small one, as on a real server). */
  entryLatencyMs = 0;
  /** The next n FHIR requests are answered with this status (503 by default) without being processed. */
  private failing = { count: 0, status: 503, retryAfterS: undefined as number | undefined };
  /** The next n FHIR requests are processed (committed) and then the connection is dropped unanswered. */
  private dropping = 0;
  readonly requests: LoggedRequest[] = [];
  tokenRequests = 0;
  /** FHIR requests received and not yet handled (sleeping out the latency or being processed). */
  inFlight = 0;

  private constructor(private readonly options: FhirTestServerOptions) {
    this.repo.validate = options.validate ?? true;
    this.repo.enforcePatients = options.patients === 'enforce';
    this.app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, routerOptions: { ignoreTrailingSlash: true } });
    this.routes();
  }

  static async start(options: FhirTestServerOptions = {}): Promise<FhirTestServer> {
    fhirDefinitions();
    const s = new FhirTestServer(options);
    await s.app.ready();
    await s.up(options.port ?? 0);
    return s;
  }

  get port(): number {
    return this.portValue;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.portValue}/fhir`;
  }

  get tokenUrl(): string {
    return `http://127.0.0.1:${this.portValue}/auth/token`;
  }

  /** Listen (again) on the same port. */
  async up(port = this.portValue): Promise<void> {
    if (this.server !== undefined) return;
    const server = http.createServer((req, res) => this.app.routing(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.portValue = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Stop listening and cut every connection: clients get connection refused or reset. */
  async down(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  failNext(count: number, status = 503, retryAfterS?: number): void {
    this.failing = { count, status, retryAfterS };
  }

  dropAfterCommit(count: number): void {
    this.dropping = count;
  }

  /** Refuse resources for which `why` answers a reason (422 with an OperationOutcome); undefined: accept all again. */
  refuse(why: ((resource: Resource) => string | undefined) | undefined): void {
    this.repo.refuse = why;
  }

  async close(): Promise<void> {
    await this.down();
    await this.app.close();
  }

  /** A Patient the EHR knows, with an identifier (e.g. an MRN under the hospital's system); answers its id. */
  async addPatient(identifier: { system: string; value: string }): Promise<string> {
    const created = await this.repo.createResource({ resourceType: 'Patient', identifier: [identifier], active: true });
    return created.id;
  }

  /** Every stored resource of a type. */
  async all<T extends Resource>(type: T['resourceType']): Promise<T[]> {
    const bundle = await this.repo.search<T>({ resourceType: type, count: 1_000_000 });
    return (bundle.entry ?? []).map((e) => e.resource as T);
  }

  /** How many stored resources of the type carry each identifier value of `system`. */
  async countByIdentifier(type: 'Observation' | 'Device', system: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const r of await this.all(type)) {
      for (const id of (r as { identifier?: { system?: string; value?: string }[] }).identifier ?? []) {
        if (id.system === system && id.value !== undefined) counts.set(id.value, (counts.get(id.value) ?? 0) + 1);
      }
    }
    return counts;
  }

  private capability(): CapabilityStatement {
    const mode = this.options.capability ?? 'conditional-create';
    const resource = (type: 'Observation' | 'Device'): CapabilityStatementRestResource => ({
      type,
      interaction: [{ code: 'create' as const }, { code: 'read' as const }, { code: 'update' as const }, { code: 'search-type' as const }],
      conditionalCreate: mode === 'conditional-create',
      updateCreate: mode === 'update-as-create',
      searchParam: [{ name: 'identifier', type: 'token' as const }],
    });
    return {
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: '2026-01-01',
      kind: 'instance',
      fhirVersion: '4.0.1',
      format: ['application/fhir+json'],
      rest: [
        {
          mode: 'server',
          resource: [resource('Observation'), ...(this.options.devices === false ? [] : [resource('Device')])],
          ...(this.options.batch === false ? {} : { interaction: [{ code: 'batch' as const }] }),
        },
      ],
    };
  }

  private authorized(req: FastifyRequest): boolean {
    const auth = this.options.auth ?? { type: 'none' };
    const header = req.headers.authorization ?? '';
    switch (auth.type) {
      case 'none':
        return true;
      case 'basic':
        return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      case 'bearer':
        return header === `Bearer ${auth.token}`;
      case 'smart': {
        const token = header.startsWith('Bearer ') ? header.slice(7) : '';
        const expires = this.issuedTokens.get(token);
        return expires !== undefined && expires > Date.now();
      }
    }
  }

  /** Expire every issued SMART token (the next FHIR call gets 401 and must fetch a new one). */
  revokeTokens(): void {
    this.issuedTokens.clear();
  }

  private routes(): void {
    const app = this.app;
    app.addContentTypeParser(['application/fhir+json', 'application/json'], { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, new URLSearchParams(body as string)));

    app.post('/auth/token', async (req, reply) => this.token(req, reply));
    app.get('/fhir/.well-known/smart-configuration', async () => ({ token_endpoint: this.tokenUrl, grant_types_supported: ['client_credentials'] }));
    app.all('/fhir', async (req, reply) => this.fhir(req, reply));
    app.all('/fhir/*', async (req, reply) => this.fhir(req, reply));
  }

  private async token(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    this.tokenRequests += 1;
    const auth = this.options.auth;
    const form = req.body instanceof URLSearchParams ? req.body : new URLSearchParams();
    const invalid = (error: string, status = 400): FastifyReply => reply.code(status).send({ error });
    if (auth?.type !== 'smart') return invalid('unsupported_grant_type');
    if (form.get('grant_type') !== 'client_credentials') return invalid('unsupported_grant_type');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return invalid('invalid_client', 401);
    try {
      const key = await importJWK(auth.publicJwk, auth.alg);
      const { payload } = await jwtVerify(form.get('client_assertion') ?? '', key, {
        issuer: auth.clientId,
        subject: auth.clientId,
        audience: this.tokenUrl,
        algorithms: [auth.alg],
        maxTokenAge: '5m',
      });
      if (typeof payload.jti !== 'string' || this.seenJti.has(payload.jti)) return invalid('invalid_client', 401);
      this.seenJti.add(payload.jti);
    } catch {
      return invalid('invalid_client', 401);
    }
    const token = randomBytes(24).toString('base64url');
    const lifetime = auth.tokenLifetimeS ?? 300;
    this.issuedTokens.set(token, Date.now() + lifetime * 1000);
    return reply.send({ access_token: token, token_type: 'bearer', expires_in: lifetime, scope: form.get('scope') ?? '' });
  }

  private async fhir(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    this.inFlight += 1;
    try {
      return await this.handle(req, reply);
    } finally {
      this.inFlight -= 1;
    }
  }

  private async handle(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const url = new URL(req.url, 'http://local');
    const path = url.pathname.replace(/^\/fhir/, '') || '/';
    const body = req.body as { resourceType?: string; entry?: unknown[] } | undefined;
    const log = (status: number): void => {
      this.requests.push({ method: req.method, path: path.replace(/\/[0-9a-f]{64}$/, '/{id}'), query: url.search, status, entries: body?.resourceType === 'Bundle' ? (body.entry?.length ?? 0) : 1 });
    };
    const entries = body?.resourceType === 'Bundle' ? (body.entry?.length ?? 0) : 1;
    const delay = this.latencyMs + this.entryLatencyMs * entries;
    if (delay > 0) await sleep(delay);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): FastifyReply => {
      log(status);
      return reply.code(status).headers(headers).type('application/fhir+json').send(payload);
    };
    if (path === '/metadata' && req.method === 'GET') {
      if (this.options.capability === 'no-metadata') return send(404, outcome('not-found', 'no CapabilityStatement here'));
      return send(200, this.capability());
    }
    if (!this.authorized(req)) return send(401, outcome('login', 'credentials required'), { 'www-authenticate': 'Bearer' });
    if (this.failing.count > 0) {
      this.failing.count -= 1;
      return send(this.failing.status, outcome('transient', 'try again later'), this.failing.retryAfterS === undefined ? {} : { 'retry-after': String(this.failing.retryAfterS) });
    }
    if (body?.resourceType === 'Bundle' && this.options.batch === false) return send(400, outcome('not-supported', 'batch is not supported'));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    // POST [type]/_search: the parameters come as a form body (identifiers stay out of the URL).
    const routed = req.body instanceof URLSearchParams ? Object.fromEntries(req.body) : body;
    const [result, resource] = await this.router.handleRequest(
      { method: req.method as 'GET', url: `${path}${url.search}`, pathname: '', params: {}, query: {}, body: routed, headers },
      this.repo,
    );
    const status = getStatus(result);
    if (this.dropping > 0) {
      // Committed above; the answer is lost on the way back.
      this.dropping -= 1;
      log(-status);
      reply.hijack();
      req.raw.socket.destroy();
      return undefined;
    }
    const location: Record<string, string> =
      status === 201 && resource?.id !== undefined ? { location: `${this.baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? '1'}` } : {};
    return send(status, resource ?? result, location);
  }
}
